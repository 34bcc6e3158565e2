"""Starting a poll from ``!umfrage`` and ending one on request, exactly once each.

A start is stored before it is posted (keyed by the command event), so a command run again after
a crash finds the stored poll instead of posting a second one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.features.polls.announce import anonymous_announcement, build_start_content, message_content
from bot.features.polls.live import end_poll
from bot.features.polls.lookup import bot_may_end, find_poll, may_redact
from bot.features.polls.msc3381 import POLL_START, to_ms
from bot.features.polls.parse import PollSpec
from bot.store.polls import NewPoll

if TYPE_CHECKING:
    from bot.context import Context

_T = "umfrage."


async def start_poll(ctx: Context, spec: PollSpec) -> None:
    """Store the poll, post it (native, or a message for anonymous polls), mark it open."""
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
        announcement = anonymous_announcement(
            spec.poll,
            number=record.id,
            prefix=ctx.prefix,
            min_group=ctx.app.config.polls.min_anonymous_group,
            closes_at=local_close,
            lang=ctx.t.lang,
        )
        event_id = await ctx.send_event("m.room.message", message_content(announcement))
    else:
        content = build_start_content(
            spec.poll, prefix=ctx.prefix, number=record.id, closes_at=local_close, lang=ctx.t.lang
        )
        event_id = await ctx.send_event(POLL_START, content)
    await ctx.app.store.mark_poll_open(record.id, event_id)


async def end_on_request(ctx: Context, number: int | None) -> None:
    """``!umfrage beenden [N]``: by its creator or someone with power in the room."""
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
