"""Recording a poll start, whoever posted it (``!umfrage``, Element's poll button, the WOL
retro poll), and telling a poll posted in Element its number for voting by command.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from bot.features.polls.msc3381 import parse_start
from bot.store.polls import NewPoll, PollRecord
from bot.transport import SendFailed, txn_id

if TYPE_CHECKING:
    from bot.app import Impulsbot

log = logging.getLogger(__name__)

_T = "umfrage."


async def record_start(
    app: Impulsbot,
    room_id: str,
    content: Any,
    event_type: str,
    *,
    creator: str,
    ts: int,
    event_id: str,
    origin: str,
) -> PollRecord | None:
    """Record a poll start (any form); None if it is no usable poll."""
    poll = parse_start(event_type, content)
    if poll is None:
        return None
    texts = await app.room_texts(room_id)
    new = NewPoll(room_id, creator, event_id, poll, texts.lang, ts, None)
    record = await app.store.record_poll_start(new, event_id, origin=origin)
    log.info("recorded poll %s (%s) in %s", record.id, origin, room_id)
    return record


async def announce_number(app: Impulsbot, record: PollRecord) -> None:
    """Tell the poll's thread its number: clients without poll support can vote by command."""
    assert record.start_event_id is not None
    texts = await app.room_texts(record.room_id)
    message = texts(_T + "element_poll_note", number=record.id, prefix=app.config.bot.prefix)
    content = app.message_content(message, notice=True)
    content["m.relates_to"] = {
        "rel_type": "m.thread",
        "event_id": record.start_event_id,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": record.start_event_id},
    }
    try:
        await app.shell.send(
            record.room_id, "m.room.message", content, txn_id("poll-note", record.start_event_id)
        )
    except SendFailed as exc:
        log.warning("could not announce poll %s: %s", record.id, exc)
