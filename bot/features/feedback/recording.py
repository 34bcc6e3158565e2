"""Storing one ``!feedback``: exactly once per command event, within the hourly rate limit, with
what it refers to (an impulse post, a poll, or the replied-to event)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.features.feedback.anonymous import anonymous_times
from bot.store.feedback import FeedbackRecord

if TYPE_CHECKING:
    from bot.app import Impulsbot
    from bot.context import Incoming
    from bot.privacy import FeedbackInput
    from bot.store import Store

log = logging.getLogger(__name__)

RATE_WINDOW_MS = 3600 * 1000


async def record_feedback(app: Impulsbot, incoming: Incoming, parsed: FeedbackInput) -> bool:
    """Store the feedback of this command event; False when the sender is over the hourly limit.

    A re-run after a crash finds its feedback already stored: it counts as stored, never refused.
    """
    store = app.store
    if await store.feedback_stored(incoming.event_id):
        return True
    since = incoming.timestamp_ms - RATE_WINDOW_MS
    if await recent_feedback_count(app, incoming.sender, since) >= app.config.feedback.rate_limit:
        return False
    record = FeedbackRecord(
        created_at=incoming.timestamp_ms,
        room_id=incoming.room_id,
        kind="feedback",
        text=parsed.text,
        source_event_id=incoming.event_id,
        user_id=None if parsed.anonymous else incoming.sender,
        reference=await resolve_reference(store, incoming),
        rating=parsed.rating,
    )
    await store.add_feedback(record, app.config.bot.tz)
    if parsed.anonymous:
        anonymous_times(app, incoming.sender, "feedback", since).append(incoming.timestamp_ms)
    return True


async def recent_feedback_count(app: Impulsbot, user_id: str, since_ms: int) -> int:
    """Feedback from the sender since ``since_ms``; anonymous items are counted in memory only,
    because their author is deliberately not stored."""
    named = await app.store.count_feedback_since(user_id, "feedback", since_ms)
    return named + len(anonymous_times(app, user_id, "feedback", since_ms))


async def resolve_reference(store: Store, incoming: Incoming) -> str | None:
    """What the feedback refers to: ``impuls:<id>``/``umfrage:<id>`` when the replied-to event
    (or the thread root) is a known impulse post or poll, else ``event:<event_id>``, else None.

    Lookups, first match wins: the key ``ref:<event_id>`` (any feature may set it), the impulse
    posts, the polls.
    """
    candidates = [e for e in (incoming.replied_to, incoming.thread_root) if e]
    for event_id in candidates:
        known = await _known_reference(store, incoming.room_id, event_id)
        if known:
            return known
    return f"event:{candidates[0]}" if candidates else None


async def _known_reference(store: Store, room_id: str, event_id: str) -> str | None:
    try:
        known = await store.get_value(f"ref:{event_id}")
        if known:
            return known
        impulse = await store.impulse_of_event(room_id, event_id)
        if impulse:
            return f"impuls:{impulse}"
        poll = await store.poll_by_start_event(event_id)
        if poll is not None and poll.room_id == room_id:
            return f"umfrage:{poll.id}"
    except Exception:
        # Feedback must never be lost over a lookup; the raw event reference still helps.
        log.exception("resolving the reference of a feedback failed")
    return None
