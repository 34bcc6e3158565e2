"""Posting impulses exactly once: the scheduler tick, and claim → send → record for every post.

Exactly-once protocol for one post (scheduled slot, ``!impuls jetzt`` or a repeat):

1. claim: ``impulse_posts`` gets the row "room R, key K gets impulse I" (status ``claimed``) BEFORE
   anything is sent. An existing row wins, so a re-run picks the SAME impulse.
2. send with the transaction ID ``txn_id("impulse", R, K)`` on the bot's persisted device: if the
   first attempt reached the homeserver before a crash, the homeserver answers the retry with the
   event it already has instead of posting again.
3. record: status ``posted`` plus the event ID.

Every scheduler tick first re-sends claims left open by a crash (within ``impulses.catch_up``),
then handles subscriptions whose stored ``next_due_ms`` has come. Slots are computed in the room's
configured time zone by :mod:`bot.features.impulses.schedule` and compared as UTC instants.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING

from bot.features.impulses.model import choose_next
from bot.features.impulses.render import render_impulse
from bot.features.impulses.schedule import due_slot, next_slots, parse_schedule, slot_key
from bot.features.impulses.state import impulses_state
from bot.registry import Job
from bot.sending import SendFailed, txn_id
from bot.store.impulses import ImpulsePost, ImpulseSubscription

if TYPE_CHECKING:
    from bot.app import Impulsbot

log = logging.getLogger(__name__)

UTC = dt.UTC
TICK_SECONDS = 1.0


def to_ms(moment: dt.datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)


def from_ms(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, UTC)


def catch_up(app: Impulsbot) -> dt.timedelta:
    return dt.timedelta(seconds=app.config.impulses.catch_up_seconds)


def upcoming_slots(
    app: Impulsbot, sub: ImpulseSubscription, after: dt.datetime, count: int
) -> list[dt.datetime]:
    return next_slots(
        parse_schedule(sub.schedule),
        app.config.bot.tz,
        after,
        count,
        pause_until=sub.pause_until,
        holidays_state=app.config.impulses.holidays_state,
    )


def next_due_ms(app: Impulsbot, sub: ImpulseSubscription, after: dt.datetime) -> int | None:
    slots = upcoming_slots(app, sub, after, 1)
    return to_ms(slots[0]) if slots else None


async def claim_next(
    app: Impulsbot,
    room_id: str,
    key: str,
    kind: str,
    topics: tuple[str, ...],
    now: dt.datetime,
    due_at: dt.datetime,
) -> ImpulsePost | None:
    """Step 1: the existing claim for this key, or a new one for the room's next impulse."""
    existing = await app.store.get_impulse_post(room_id, key)
    if existing is not None:
        return existing
    history = await app.store.impulse_history(room_id)
    impulse = choose_next(impulses_state(app).library, history, topics)
    if impulse is None:
        return None
    return await app.store.claim_impulse(room_id, key, kind, impulse.id, to_ms(now), to_ms(due_at))


def post_txn(post: ImpulsePost) -> str:
    return txn_id("impulse", post.room_id, post.slot_key)


async def deliver(app: Impulsbot, post: ImpulsePost) -> str | None:
    """Steps 2 and 3: send the claimed impulse (deduplicated by its txn ID), then record it."""
    if post.status != "claimed":
        return post.event_id
    state = impulses_state(app)
    with state.sending(post.room_id, post.slot_key) as mine:
        if not mine:
            return None
        impulse = state.library.get(post.impulse_id)
        if impulse is None:
            log.warning(
                "impulse %s no longer exists; claim in %s dropped", post.impulse_id, post.room_id
            )
            await app.store.abandon_impulse_claim(post.room_id, post.slot_key)
            return None
        if not app.shell.is_joined(post.room_id):
            # After a restart the client learns a room only from the sync; keep the claim and
            # retry on a later tick instead of blocking the scheduler or dropping the post.
            log.debug("room %s not synced yet; impulse %s waits", post.room_id, post.slot_key)
            return None
        texts = await app.room_texts(post.room_id)
        content = app.message_content(render_impulse(impulse, texts.lang))
        try:
            event_id = await app.shell.send(post.room_id, "m.room.message", content, post_txn(post))
        except SendFailed as exc:
            log.warning("impulse %s for %s not posted: %s", post.slot_key, post.room_id, exc)
            await app.store.abandon_impulse_claim(post.room_id, post.slot_key)
            return None
        await app.store.mark_impulse_posted(post.room_id, post.slot_key, event_id, to_ms(app.now()))
        log.info("posted impulse %s to %s (%s)", impulse.id, post.room_id, post.slot_key)
        return event_id


async def resume_open_claims(app: Impulsbot, now: dt.datetime) -> int:
    """Re-send claims a crash left open; too old ones are given up (and logged). Returns sends."""
    sent = 0
    for post in await app.store.open_impulse_claims():
        if (post.room_id, post.slot_key) in impulses_state(app).in_flight:
            continue
        if now - from_ms(post.due_at) > catch_up(app):
            log.warning(
                "impulse %s in %s was claimed but not confirmed and is older than catch_up;"
                " not re-sent",
                post.slot_key,
                post.room_id,
            )
            await app.store.abandon_impulse_claim(post.room_id, post.slot_key)
            continue
        if post.kind == "repeat":
            continue  # a reply to a command: the command's own re-run completes it
        log.info("re-sending open impulse claim %s in %s", post.slot_key, post.room_id)
        if sent:
            await pace(app)
        try:
            if await deliver(app, post):
                sent += 1
        except Exception:
            log.exception(
                "re-sending %s in %s failed; retried next tick", post.slot_key, post.room_id
            )
    return sent


async def process_subscription(
    app: Impulsbot, sub: ImpulseSubscription, now: dt.datetime
) -> ImpulsePost | None:
    """Decide what is due for one subscription, claim it and move the subscription on."""
    if await app.store.room_joined_at(sub.room_id) is None:
        # The bot has left the room (the core forgets rooms it leaves): nothing to post to.
        log.info("bot is no longer in %s; impulse subscription removed", sub.room_id)
        await app.store.delete_impulse_subscription(sub.room_id)
        return None
    tz = app.config.bot.tz
    decision = due_slot(
        parse_schedule(sub.schedule),
        tz,
        from_ms(sub.watermark_ms),
        now,
        catch_up(app),
        pause_until=sub.pause_until,
        holidays_state=app.config.impulses.holidays_state,
    )
    for missed in decision.skipped:
        log.warning(
            "impulse slot %s in %s missed (bot was down longer than catch_up); skipped",
            slot_key(missed, tz),
            sub.room_id,
        )
    post = None
    watermark = sub.watermark_ms
    if decision.slot is not None:
        key = f"slot:{slot_key(decision.slot, tz)}"
        post = await claim_next(app, sub.room_id, key, "slot", sub.topics, now, decision.slot)
        if post is None:
            log.warning("no impulse matches the topics of %s; slot %s left out", sub.room_id, key)
        watermark = to_ms(decision.slot)
    elif decision.skipped:
        watermark = to_ms(decision.skipped[-1])
    # Everything up to now is handled, so the next due slot is the first one after now.
    after = max(now, from_ms(watermark))
    await app.store.advance_impulse_subscription(
        sub.room_id, watermark, next_due_ms(app, sub, after)
    )
    return post


async def pace(app: Impulsbot) -> None:
    await asyncio.sleep(app.config.matrix.send_interval_ms / 1000)


async def run_due(app: Impulsbot, now: dt.datetime) -> int:
    """The scheduler tick (every second): cheap unless something is due. Returns posts sent."""
    sent = await resume_open_claims(app, now)
    for sub in await app.store.due_impulse_subscriptions(to_ms(now)):
        try:
            post = await process_subscription(app, sub, now)
            if post is None:
                continue
            if sent:
                await pace(app)  # many rooms at 09:00: stay below the homeserver's rate limit
            if await deliver(app, post):
                sent += 1
        except Exception:
            log.exception("impulse for %s failed; retried on the next tick", sub.room_id)
    return sent


JOB = Job(every_seconds=TICK_SECONDS, run=run_due)
