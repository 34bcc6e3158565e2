"""``!umfrage`` / ``!poll``: quick polls, plus everything that keeps them counted.

Besides the command this module holds the poll machinery shared with ``!abstimmen`` and
``!ergebnis``: the event listener (native responses, end events, redactions), the job that closes
polls at their ``--dauer`` and finishes interrupted ends, reconciling from ``/relations``, and
ending a poll exactly once. Parsing, counting and wording live in :mod:`bot.polls`.
"""

from __future__ import annotations

import logging
import os
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from nio import Event, MegolmEvent, RedactionEvent

from bot.context import Context
from bot.i18n import Texts, join
from bot.matrix import SendFailed, txn_id
from bot.polls import (
    END_TYPES,
    POLL_END,
    POLL_START,
    RESPONSE_TYPES,
    PollInputError,
    Tally,
    build_anonymous_content,
    build_end_content,
    build_start_content,
    message_content,
    parse_end,
    parse_poll_command,
    parse_response,
    render_results,
    tally,
)
from bot.privacy import default_key_file, resolve_pseudonym_key
from bot.registry import Command, Job, Scope
from bot.store.polls import NewPoll, PollRecord

if TYPE_CHECKING:
    from bot.app import Impulsbot

log = logging.getLogger(__name__)

_T = "umfrage."
END_WORDS = frozenset({"beenden", "ende", "end", "schließen", "close", "stop"})
CLOSE_CHECK_SECONDS = 5.0
RELATIONS_PAGE_SIZE = 100
RELATIONS_MAX_PAGES = 50  # 5,000 responses: far beyond any room, and never an endless loop
_POLL_NUMBER = re.compile(r"(?:nr\.?\s*|#)?(\d+)", re.I)


# --- small helpers shared by the poll commands ----------------------------------------------------


def to_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def parse_poll_number(text: str) -> int | None:
    """'4', '#4', 'Nr. 4' → 4; anything else → None."""
    match = _POLL_NUMBER.fullmatch(text.strip())
    return int(match[1]) if match and int(match[1]) > 0 else None


def state(app: Impulsbot) -> dict[str, Any]:
    return app.features.setdefault("polls", {})


def pseudonym_key(app: Impulsbot) -> bytes:
    """The key for anonymous double-vote markers (created on first use, then cached)."""
    cached = state(app).get("key")
    if cached is None:
        secret = app.config.privacy.pseudonym_key
        cached = resolve_pseudonym_key(
            secret.get_secret_value() if secret is not None else None,
            os.environ,
            default_key_file(app.config.storage.database),
        )
        state(app)["key"] = cached
    return cached


async def member_count(app: Impulsbot, room_id: str) -> int | None:
    """Joined members without the bot (homeserver truth), for the turnout line; None if unknown."""
    count = await app.private.joined_count(room_id)
    return count if count else None


def may_redact(app: Impulsbot, room_id: str, user_id: str) -> bool:
    if user_id in app.config.access.moderators:
        return True
    room = app.shell.client.rooms.get(room_id)
    return room is not None and bool(room.power_levels.can_user_redact(user_id))


async def is_member(app: Impulsbot, room_id: str, user_id: str) -> bool:
    """Asked from the server: with lazy-loaded members the local member list may be partial."""
    status, body = await app.shell.raw_request(
        "GET",
        f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/state/m.room.member/"
        f"{quote(user_id, safe='')}",
    )
    return status == 200 and isinstance(body, dict) and body.get("membership") == "join"


async def current_tally(app: Impulsbot, record: PollRecord) -> Tally:
    if record.poll.anonymous:
        counts, voters = await app.store.anonymous_counts(record.id)
        return Tally.from_counts(record.poll, counts, voters)
    if record.status == "ended" and record.final_counts is not None:
        return Tally.from_counts(record.poll, record.final_counts, record.final_voters or 0)
    votes = await app.store.poll_votes(record.id)
    return tally(record.poll, votes, end_ts=record.ended_at)


async def results_message(app: Impulsbot, record: PollRecord, result: Tally, texts: Texts) -> Any:
    return render_results(
        record.poll,
        result,
        ended=record.is_closed,
        member_count=await member_count(app, record.room_id),
        min_anonymous_group=app.config.polls.min_anonymous_group,
        number=record.id,
        lang=texts.lang,
    )


# --- reading responses and ends -------------------------------------------------------------------


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
    """One poll response or end event, from the sync or from ``/relations`` (idempotent)."""
    if sender == app.user_id:
        return
    if event_type in RESPONSE_TYPES:
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
        if record is None or record.room_id != room_id or not record.is_open:
            return
        # Element offers "End poll" to people who may redact; the first valid end counts.
        if sender == record.creator or may_redact(app, room_id, sender):
            await end_poll(app, record, end_ts=ts)


async def on_event(app: Impulsbot, room_id: str, event: Any) -> None:
    """Listener: poll responses and ends (any form, decrypted or not) and their redactions."""
    if isinstance(event, RedactionEvent):
        await app.store.redact_poll_response(event.redacts)
        return
    source = getattr(event, "source", None)
    if not isinstance(source, dict):
        return
    event_type = source.get("type")
    if event_type not in RESPONSE_TYPES and event_type not in END_TYPES:
        return
    await ingest(
        app,
        room_id,
        event_type,
        source.get("content"),
        sender=event.sender,
        ts=int(event.server_timestamp),
        event_id=event.event_id,
    )


def _decrypted_source(app: Impulsbot, room_id: str, raw: dict[str, Any]) -> dict[str, Any] | None:
    """The plain event behind a raw ``/relations`` entry; None if it cannot be read (yet)."""
    if raw.get("type") != "m.room.encrypted":
        return raw
    try:
        encrypted = Event.parse_encrypted_event({**raw, "room_id": room_id})
        if not isinstance(encrypted, MegolmEvent):
            return None
        encrypted.room_id = room_id
        decrypted = app.shell.client.decrypt_event(encrypted)
    except Exception:  # missing keys, broken events: the sync path will retry those
        return None
    source = getattr(decrypted, "source", None)
    return source if isinstance(source, dict) and "type" in source else None


async def reconcile(app: Impulsbot, record: PollRecord) -> int:
    """Fetch all responses from the server's ``/relations``: catches up after sync gaps.

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
            if source is None or source.get("type") not in RESPONSE_TYPES:
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


async def end_poll(app: Impulsbot, record: PollRecord, *, end_ts: int) -> str | None:
    """End a poll exactly once; returns the end event's id, None if it had ended already.

    "ending" is stored before the end event is sent, and the transaction ID is fixed per poll:
    a bot killed in between finishes the end after a restart, and the server sends it only once.
    """
    pending = await app.store.begin_poll_end(record.id, end_ts)
    if pending is None:
        return None
    await reconcile(app, pending)
    result = await current_tally(app, pending)
    texts = await app.room_texts(pending.room_id)
    event_type, content = await _end_event(app, pending, result, texts)
    event_id = await app.shell.send(
        pending.room_id, event_type, content, txn_id("poll-end", str(pending.id))
    )
    await app.store.finish_poll_end(pending.id, event_id, result.counts, result.voters)
    log.info("poll %s in %s ended", pending.id, pending.room_id)
    return event_id


async def _end_event(
    app: Impulsbot, record: PollRecord, result: Tally, texts: Texts
) -> tuple[str, dict[str, Any]]:
    assert record.start_event_id is not None
    if not record.poll.anonymous:
        content = build_end_content(
            record.poll,
            record.start_event_id,
            result,
            member_count=await member_count(app, record.room_id),
            lang=texts.lang,
        )
        return POLL_END, content
    summary = join([texts(_T + "end_fallback"), await results_message(app, record, result, texts)])
    content = {**message_content(summary), "msgtype": "m.notice"}
    content["m.relates_to"] = {"m.in_reply_to": {"event_id": record.start_event_id}}
    return "m.room.message", content


async def close_due_polls(app: Impulsbot, now: datetime) -> None:
    """Job: end polls at their ``--dauer`` and finish ends cut short by a crash.

    The first run after start-up also reconciles every open poll, so responses sent while the
    bot was away count even if the sync skipped them (a "limited" timeline).
    """
    polls = state(app)
    if not polls.get("reconciled"):
        polls["reconciled"] = True
        for record in await app.store.open_polls():
            await reconcile(app, record)
    for record in await app.store.polls_to_close(to_ms(now)):
        if record.room_id not in app.shell.client.rooms:
            # After a restart the client only knows rooms with news since; sending before the
            # sync has shown the room fails, so wait for it instead of blocking this job.
            log.debug("poll %s is due, but room %s is not synced yet", record.id, record.room_id)
            continue
        end_ts = record.ended_at if record.status == "ending" else record.closes_at
        try:
            await end_poll(app, record, end_ts=end_ts or to_ms(now))
        except SendFailed as exc:
            log.warning("could not end poll %s yet: %s", record.id, exc)


# --- !umfrage -------------------------------------------------------------------------------------


def _end_request(args: str) -> tuple[bool, int | None]:
    """``beenden`` or ``beenden 4`` (also ``end #4``); a question starting with "Beenden" is not."""
    word, _, rest = args.strip().partition(" ")
    if word.casefold() not in END_WORDS:
        return False, None
    rest = rest.strip()
    if not rest:
        return True, None
    number = parse_poll_number(rest)
    return (True, number) if number is not None else (False, None)


async def umfrage(ctx: Context) -> None:
    is_end, number = _end_request(ctx.args)
    if is_end:
        await end_command(ctx, number)
        return
    try:
        spec = parse_poll_command(ctx.args)
    except PollInputError as exc:
        await ctx.reply(exc.render(ctx.t, ctx.prefix))
        return
    created = datetime.fromtimestamp(ctx.incoming.timestamp_ms / 1000, UTC)
    closes = spec.closes_at(created)
    record = await ctx.app.store.create_poll(
        NewPoll(
            room_id=ctx.room_id,
            creator=ctx.sender,
            source_event_id=ctx.incoming.event_id,
            poll=spec.poll,
            lang=ctx.t.lang,
            created_at=ctx.incoming.timestamp_ms,
            closes_at=to_ms(closes) if closes else None,
        )
    )
    if record.status != "pending":
        return  # posted before a crash; the command is now only marked as handled
    local_close = closes.astimezone(ctx.app.config.bot.tz) if closes else None
    if spec.anonymous:
        content = build_anonymous_content(
            spec.poll,
            number=record.id,
            prefix=ctx.prefix,
            min_group=ctx.app.config.polls.min_anonymous_group,
            closes_at=local_close,
            lang=ctx.t.lang,
        )
        event_id = await ctx.send_event("m.room.message", content)
    else:
        content = build_start_content(
            spec.poll, prefix=ctx.prefix, number=record.id, closes_at=local_close, lang=ctx.t.lang
        )
        event_id = await ctx.send_event(POLL_START, content)
    await ctx.app.store.mark_poll_open(record.id, event_id)


async def find_poll(
    ctx: Context, number: int | None, *, open_only: bool, missing_key: str
) -> PollRecord | None:
    """The poll a command names (or the room's latest); answers the user when there is none."""
    store = ctx.app.store
    record = (
        await store.get_poll(number)
        if number
        else await store.latest_poll(ctx.room_id, open_only=open_only)
    )
    if record is None or record.room_id != ctx.room_id or record.status == "pending":
        key = "err_vote_unknown_poll" if number else missing_key
        await ctx.reply(ctx.text(_T + key, number=number or ""))
        return None
    return record


async def end_command(ctx: Context, number: int | None) -> None:
    record = await find_poll(ctx, number, open_only=True, missing_key="err_vote_no_open_poll")
    if record is None:
        return
    if record.is_closed:
        await ctx.reply(ctx.text(_T + "err_vote_closed", number=record.id))
        return
    allowed = (
        ctx.sender == record.creator
        or ctx.is_moderator
        or may_redact(ctx.app, ctx.room_id, ctx.sender)
    )
    if not allowed:
        await ctx.reply(ctx.text(_T + "err_end_not_allowed", number=record.id))
        return
    # If the deadline passed before the job got to it, the deadline is still the end.
    end_ts = ctx.incoming.timestamp_ms
    if record.closes_at is not None:
        end_ts = min(end_ts, record.closes_at)
    await end_poll(ctx.app, record, end_ts=end_ts)


COMMAND = Command(
    name="poll",
    german="umfrage",
    handler=umfrage,
    scope=Scope.EVERYONE,  # ending a poll: its creator or power in this room, checked per poll
    listener=on_event,
    jobs=(Job(CLOSE_CHECK_SECONDS, close_due_polls),),
)
