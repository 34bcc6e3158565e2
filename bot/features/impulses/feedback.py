"""Feedback on impulses: reactions, replies and thread replies to impulse posts, and redactions.

Only events that refer to an impulse post (or to a repeat of one) count; commands, notices and
edits are not feedback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.events import content_of, event_type, reaction, redacted_event, referenced_event, relation
from bot.features.impulses.scheduler import to_ms
from bot.store.feedback import FeedbackRecord
from bot.text.parsing import strip_reply_fallback

if TYPE_CHECKING:
    from bot.app import Impulsbot


async def on_event(app: Impulsbot, room_id: str, event: Any) -> None:
    redacted = redacted_event(event)
    if redacted is not None:
        await app.store.remove_feedback_by_source(redacted)
        return
    found = reaction(event)
    if found is not None:
        await _record(app, room_id, event, "reaction", found.target, found.key)
        return
    content = content_of(event)
    if event_type(event) != "m.room.message" or relation(content).is_edit:
        return  # edits are not new feedback
    if content.get("msgtype") == "m.notice":
        return  # notices come from bots
    body = strip_reply_fallback(str(content.get("body") or "")).strip()
    if not body or body.startswith(app.config.bot.prefix):
        return  # commands are not feedback
    await _record(app, room_id, event, "reply", referenced_event(content), body)


async def _record(
    app: Impulsbot, room_id: str, event: Any, kind: str, target: Any, text: Any
) -> None:
    if not isinstance(target, str) or not isinstance(text, str):
        return
    impulse_id = await app.store.impulse_of_event(room_id, target)
    if impulse_id is None:
        return
    await app.store.add_feedback(
        FeedbackRecord(
            created_at=int(getattr(event, "server_timestamp", 0) or to_ms(app.now())),
            room_id=room_id,
            kind=kind,
            text=text,
            source_event_id=event.event_id,
            user_id=getattr(event, "sender", None),
            reference=f"impuls:{impulse_id}",
        )
    )
