"""Polls against the homeserver: reading starts, responses and ends, reconciling, ending.

Every poll in a room the bot is in is recorded (:mod:`bot.features.polls.record`). Responses
come from the sync and, every :data:`~bot.features.polls.jobs.RECONCILE_SECONDS` while a poll is
open, from ``/relations``, so a response the sync skipped is repaired while the bot runs. Ending
follows MSC3381 and Element: the end event is sent first and everything up to its
``origin_server_ts`` counts; the result follows as a message of its own. Matrix is reached only
through ``app.shell``; nio events are read with :mod:`bot.events`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from bot import events
from bot.features.polls.announce import build_end_content
from bot.features.polls.lookup import may_redact
from bot.features.polls.msc3381 import (
    END_TYPES,
    POLL_END,
    RESPONSE_TYPES,
    START_TYPES,
    parse_end,
    parse_response,
)
from bot.features.polls.record import announce_number, record_start
from bot.features.polls.view import current_result, results_message
from bot.store.polls import PollRecord
from bot.text.i18n import join
from bot.transport import txn_id

if TYPE_CHECKING:
    from bot.app import Impulsbot

log = logging.getLogger(__name__)

_T = "umfrage."
RELATIONS_PAGE_SIZE = 100
RELATIONS_MAX_PAGES = 50  # 5,000 responses: far beyond any room, and never an endless loop
_RELATED_TYPES = RESPONSE_TYPES | END_TYPES


# --- reading starts, responses and ends -----------------------------------------------------------


async def ingest(
    app: Impulsbot,
    room_id: str,
    event_type: str,
    content: Any,
    *,
    sender: str,
    ts: int,
    event_id: str,
) -> None:
    """One poll start, response or end, from the sync or from ``/relations`` (idempotent)."""
    if sender == app.user_id:
        return
    if event_type in START_TYPES:
        if await app.store.poll_by_start_event(event_id) is not None:
            return
        record = await record_start(
            app,
            room_id,
            content,
            event_type,
            creator=sender,
            ts=ts,
            event_id=event_id,
            origin="element",
        )
        if record is not None:
            await announce_number(app, record)
    elif event_type in RESPONSE_TYPES:
        response = parse_response(event_type, content)
        if response is None:
            return
        record = await app.store.poll_by_start_event(response.poll_event_id)
        if record is None or record.room_id != room_id or record.poll.anonymous:
            return
        # Stored even after the end: counting ignores it by timestamp, and the data stays exact.
        vote = response.to_vote(sender=sender, origin_server_ts=ts, event_id=event_id)
        await app.store.add_poll_response(record.id, vote)
    elif event_type in END_TYPES:
        end = parse_end(event_type, content)
        if end is None:
            return
        record = await app.store.poll_by_start_event(end.poll_event_id)
        if record is None or record.room_id != room_id or record.status == "ended":
            return
        # Element offers "End poll" to people who may redact; the first valid end counts.
        if sender != record.creator and not may_redact(app, room_id, sender):
            return
        if record.is_open:
            await end_poll(app, record, end_ts=ts, end_event=(event_id, ts))
        else:  # the bot is ending it right now: an earlier end from Element still wins
            await app.store.set_poll_end_event(record.id, event_id, ts)


async def on_event(app: Impulsbot, room_id: str, event: Any) -> None:
    """Listener: poll starts, responses and ends (any form, decrypted or not), redactions."""
    redacted = events.redacted_event(event)
    if redacted is not None:
        await app.store.redact_poll_response(redacted)
        return
    kind = events.event_type(event)
    if kind not in _RELATED_TYPES and kind not in START_TYPES:
        return
    await ingest(
        app,
        room_id,
        kind,
        events.content_of(event),
        sender=events.text(getattr(event, "sender", None)) or "",
        ts=int(getattr(event, "server_timestamp", 0)),
        event_id=events.text(getattr(event, "event_id", None)) or "",
    )


def _decrypted_source(app: Impulsbot, room_id: str, raw: dict[str, Any]) -> dict[str, Any] | None:
    """The plain event behind a raw ``/relations`` entry; None if it cannot be read (yet)."""
    if raw.get("type") != "m.room.encrypted":
        return raw
    return app.shell.decrypt_raw(room_id, raw)


async def reconcile(app: Impulsbot, record: PollRecord) -> int:
    """Read all responses and ends from the server's ``/relations``: repairs sync gaps.

    Returns the number of relation events read. Best effort: failures are logged, never raised.
    """
    if record.poll.anonymous or record.start_event_id is None:
        return 0
    base = (
        f"/_matrix/client/v1/rooms/{quote(record.room_id, safe='')}/relations/"
        f"{quote(record.start_event_id, safe='')}/m.reference?limit={RELATIONS_PAGE_SIZE}"
    )
    seen = 0
    token: str | None = None
    for _ in range(RELATIONS_MAX_PAGES):
        path = base + (f"&from={quote(token, safe='')}" if token else "")
        try:
            status, body = await app.shell.raw_request("GET", path)
        except Exception:
            log.warning("reading responses of poll %s failed", record.id, exc_info=True)
            return seen
        if status != 200 or not isinstance(body, dict):
            log.warning("reading responses of poll %s: HTTP %s", record.id, status)
            return seen
        for raw in body.get("chunk") or []:
            if not isinstance(raw, dict) or (raw.get("unsigned") or {}).get("redacted_because"):
                continue
            source = _decrypted_source(app, record.room_id, raw)
            if source is None or source.get("type") not in _RELATED_TYPES:
                continue
            seen += 1
            await ingest(
                app,
                record.room_id,
                source["type"],
                source.get("content"),
                sender=str(raw.get("sender", "")),
                ts=int(raw.get("origin_server_ts", 0)),
                event_id=str(raw.get("event_id", "")),
            )
        token = body.get("next_batch")
        if not token:
            break
    return seen


# --- ending ---------------------------------------------------------------------------------------


async def _event_ts(app: Impulsbot, room_id: str, event_id: str) -> int | None:
    """The server timestamp of an event the bot sent (the send response does not carry it)."""
    path = f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/event/{quote(event_id, safe='')}"
    try:
        status, body = await app.shell.raw_request("GET", path)
    except Exception:
        log.warning("reading the end event of %s failed", room_id, exc_info=True)
        return None
    ts = body.get("origin_server_ts") if status == 200 and isinstance(body, dict) else None
    return ts if isinstance(ts, int) else None


async def end_poll(
    app: Impulsbot,
    record: PollRecord,
    *,
    end_ts: int,
    end_event: tuple[str, int] | None = None,
) -> str | None:
    """End a poll exactly once; returns the end event's id, None if it had ended already.

    Order (crash-safe; every send has a transaction ID fixed per poll): store "ending", send
    the end event (unless ``end_event`` — someone ended it in Element — already did), store the
    end event's server timestamp, read ``/relations`` once more, count up to that timestamp,
    post the result, freeze it. A bot killed in between resumes after a restart.
    ``end_ts`` is only a provisional cut-off until the end event's own timestamp is known.
    """
    pending = await app.store.begin_poll_end(record.id, end_ts)
    if pending is None:
        return None
    texts = await app.room_texts(pending.room_id)
    if pending.poll.anonymous:
        end_event_id = None  # an anonymous poll is no native poll: the result is its end
    elif end_event is not None:
        end_event_id = end_event[0]
        await app.store.set_poll_end_event(pending.id, end_event_id, end_event[1])
    elif pending.end_event_id is not None:
        end_event_id = pending.end_event_id
    else:
        assert pending.start_event_id is not None
        content = build_end_content(pending.poll, pending.start_event_id, lang=texts.lang)
        end_event_id = await app.shell.send(
            pending.room_id, POLL_END, content, txn_id("poll-end", str(pending.id))
        )
        sent_ts = await _event_ts(app, pending.room_id, end_event_id)
        await app.store.set_poll_end_event(pending.id, end_event_id, sent_ts or end_ts)
    await reconcile(app, pending)
    ended = await app.store.get_poll(pending.id)
    assert ended is not None
    result = await current_result(app, ended)
    summary = join([texts(_T + "end_fallback"), await results_message(app, ended, result, texts)])
    content = app.message_content(summary, notice=True)
    if ended.start_event_id is not None:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": ended.start_event_id}}
    await app.shell.send(
        ended.room_id, "m.room.message", content, txn_id("poll-result", str(ended.id))
    )
    await app.store.finish_poll_end(
        ended.id,
        ended.end_event_id,  # the earliest valid end, which may be someone else's
        result.element.counts,
        result.element.voters,
        result.typed.counts,
        result.typed.voters,
    )
    log.info("poll %s in %s ended", ended.id, ended.room_id)
    return end_event_id
