"""``!umfrage`` / ``!poll``: start and end quick polls.

The poll machinery shared with ``!abstimmen`` and ``!ergebnis`` (recording every poll start,
the response listener, reconciling from ``/relations``, ending at the end event) lives in
:mod:`bot.features.polls.live` and is re-exported here under the names other modules import.
Parsing, counting and wording live in :mod:`bot.features.polls.parse`.
"""

from __future__ import annotations

import contextlib
import os
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from bot.context import Context
from bot.features.polls.live import (
    CLOSE_CHECK_SECONDS,
    RETENTION_EVERY_SECONDS,
    bot_may_end,
    close_due_polls,
    end_poll,
    may_redact,
    on_event,
    purge_expired_poll_votes,
    reconcile,
    state,
    to_ms,
)
from bot.features.polls.parse import (
    POLL_START,
    PollInputError,
    build_anonymous_content,
    build_start_content,
    parse_poll_command,
)
from bot.features.polls.view import current_result, current_tally, member_count, results_message
from bot.privacy import default_key_file, resolve_pseudonym_key
from bot.registry import Command, Job, Scope
from bot.store.polls import NewPoll, PollRecord
from bot.text.bounds import POLL_NUMBERS, bounded_int

if TYPE_CHECKING:
    from bot.app import Impulsbot

# Re-exported: !abstimmen, !ergebnis and the tests import the poll machinery from here.
__all__ = [
    "COMMAND",
    "current_result",
    "current_tally",
    "end_poll",
    "find_poll",
    "is_member",
    "member_count",
    "parse_poll_number",
    "pseudonym_key",
    "reconcile",
    "replied_poll",
    "results_message",
]

_T = "umfrage."
END_WORDS = frozenset({"beenden", "ende", "end", "schließen", "close", "stop"})
_POLL_NUMBER = re.compile(r"(?:nr\.?\s*|#)?(\d+)", re.I)


def parse_poll_number(text: str) -> int | None:
    """'4', '#4', 'Nr. 4' → 4; anything else → None."""
    match = _POLL_NUMBER.fullmatch(text.strip())
    with contextlib.suppress(ValueError):  # not a number, or none that can exist
        return bounded_int(match[1], *POLL_NUMBERS) if match else None
    return None


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


async def is_member(app: Impulsbot, room_id: str, user_id: str) -> bool:
    """Asked from the server: with lazy-loaded members the local member list may be partial."""
    status, body = await app.shell.raw_request(
        "GET",
        f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/state/m.room.member/"
        f"{quote(user_id, safe='')}",
    )
    return status == 200 and isinstance(body, dict) and body.get("membership") == "join"


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


async def replied_poll(ctx: Context) -> PollRecord | None:
    """The poll the command answers (a reply to it, or sent in its thread), if any."""
    for event_id in (ctx.incoming.replied_to, ctx.incoming.thread_root):
        if event_id:
            record = await ctx.app.store.poll_by_start_event(event_id)
            if record is not None and record.room_id == ctx.room_id:
                return record
    return None


async def find_poll(
    ctx: Context, number: int | None, *, open_only: bool, missing_key: str
) -> PollRecord | None:
    """The poll a command names, answers (reply or thread) or the room's latest.

    Answers the user when there is none.
    """
    store = ctx.app.store
    if number:
        record = await store.get_poll(number)
    else:
        record = await replied_poll(ctx) or await store.latest_poll(
            ctx.room_id, open_only=open_only
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
    if not bot_may_end(ctx.app, record):
        # Element would ignore the bot's end event: two truths. Ending it there keeps one.
        await ctx.reply(ctx.text(_T + "err_end_in_element", number=record.id))
        return
    # Provisional: the count runs up to the end event's own server timestamp.
    await end_poll(ctx.app, record, end_ts=ctx.incoming.timestamp_ms)


COMMAND = Command(
    name="poll",
    german="umfrage",
    handler=umfrage,
    scope=Scope.EVERYONE,  # ending a poll: its creator or power in this room, checked per poll
    listener=on_event,
    jobs=(
        Job(CLOSE_CHECK_SECONDS, close_due_polls),
        Job(RETENTION_EVERY_SECONDS, purge_expired_poll_votes),
    ),
)
