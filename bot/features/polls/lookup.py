"""Which poll a command means, who may end it, and what the feature keeps while running.

A command names a poll by number, answers it (a reply or a message in its thread) or means the
room's latest. Ending follows Element: the creator, or anyone who may redact others' events.
:class:`PollsState` is the feature's runtime state in ``app.state``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from bot.privacy import default_key_file, resolve_pseudonym_key
from bot.store.polls import PollRecord

if TYPE_CHECKING:
    from bot.app import Impulsbot
    from bot.context import Context

_T = "umfrage."


@dataclass
class PollsState:
    pseudonym_key: bytes | None = None  # for anonymous double-vote markers, made on first use
    reconciled_at: float = float("-inf")  # time.monotonic() of the last sweep over open polls


def pseudonym_key(app: Impulsbot) -> bytes:
    """The key for anonymous double-vote markers (created on first use, then cached)."""
    state = app.state.get(PollsState)
    if state.pseudonym_key is None:
        secret = app.config.privacy.pseudonym_key
        state.pseudonym_key = resolve_pseudonym_key(
            secret.get_secret_value() if secret is not None else None,
            os.environ,
            default_key_file(app.config.storage.database),
        )
    return state.pseudonym_key


def may_redact(app: Impulsbot, room_id: str, user_id: str) -> bool:
    return user_id in app.config.access.moderators or app.shell.can_redact(room_id, user_id)


def bot_may_end(app: Impulsbot, record: PollRecord) -> bool:
    """Whether Element would accept an end event from the bot for this poll (MSC3381)."""
    return record.started_by_bot or app.shell.can_redact(record.room_id, app.user_id)


async def is_member(app: Impulsbot, room_id: str, user_id: str) -> bool:
    """Asked from the server: with lazy-loaded members the local member list may be partial."""
    status, body = await app.shell.raw_request(
        "GET",
        f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/state/m.room.member/"
        f"{quote(user_id, safe='')}",
    )
    return status == 200 and isinstance(body, dict) and body.get("membership") == "join"


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
