"""Impulses on request: the plan, a private preview, one impulse now, and the latest one again.

``!impuls jetzt`` and the repeat follow the exactly-once protocol of
:mod:`bot.features.impulses.scheduler`: a command run again after a crash reuses its claim.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.impulses.model import choose_next, upcoming
from bot.features.impulses.render import format_date, format_slot, render_impulse, render_plan
from bot.features.impulses.schedule import parse_schedule
from bot.features.impulses.scheduler import claim_next, deliver, from_ms, to_ms, upcoming_slots
from bot.features.impulses.settings import PAUSE_FOREVER, not_subscribed, topics_text
from bot.features.impulses.state import impulses_state
from bot.text.i18n import Message, join

if TYPE_CHECKING:
    from bot.context import Context

PLAN_LENGTH = 5


async def plan(ctx: Context, args: str) -> Message:
    sub = await ctx.app.store.get_impulse_subscription(ctx.room_id)
    if sub is None:
        return not_subscribed(ctx)
    if sub.pause_until == PAUSE_FOREVER:
        return ctx.text("impuls.command.paused")
    now = ctx.now
    slots = upcoming_slots(ctx.app, sub, max(now, from_ms(sub.watermark_ms)), PLAN_LENGTH)
    history = await ctx.app.store.impulse_history(ctx.room_id)
    coming = upcoming(impulses_state(ctx.app).library, history, sub.topics, len(slots))
    return render_plan(
        list(zip(slots, coming, strict=False)),
        parse_schedule(sub.schedule),
        ctx.app.config.bot.tz,
        ctx.t.lang,
        now=now,
        pause_until=sub.pause_until,
        holidays_state=ctx.app.config.impulses.holidays_state,
    )


async def post_now(ctx: Context, args: str) -> Message | None:
    """Posts the room's next impulse; the answer only when there is none."""
    sub = await ctx.app.store.get_impulse_subscription(ctx.room_id)
    chosen = sub.topics if sub else ()
    key = f"now:{ctx.incoming.event_id}"  # a re-run of this command reuses claim and txn ID
    now = ctx.now
    post = await claim_next(ctx.app, ctx.room_id, key, "now", chosen, now, now)
    if post is None:
        return ctx.text("impuls.command.no_impulse", topics=topics_text(chosen, ctx.t))
    await deliver(ctx.app, post)
    return None


async def preview(ctx: Context, args: str) -> Message | None:
    """Sends the room's next impulse to the sender's direct chat; the answer for the room."""
    sub = await ctx.app.store.get_impulse_subscription(ctx.room_id)
    chosen = sub.topics if sub else ()
    history = await ctx.app.store.impulse_history(ctx.room_id)
    impulse = choose_next(impulses_state(ctx.app).library, history, chosen)
    if impulse is None:
        return ctx.text("impuls.command.no_impulse", topics=topics_text(chosen, ctx.t))
    when = ""
    if sub is not None:
        slots = upcoming_slots(ctx.app, sub, max(ctx.now, from_ms(sub.watermark_ms)), 1)
        if slots:
            slot = format_slot(slots[0], ctx.app.config.bot.tz, ctx.t)
            when = ctx.t.raw("impuls.command.preview_when").format(when=slot)
    if ctx.is_direct:
        header = ctx.text("impuls.command.preview_header_here", when=when)
    else:
        name = ctx.app.shell.room_name(ctx.room_id) or ctx.room_id
        header = ctx.text("impuls.command.preview_header", room=name, when=when)
    message = join([header, render_impulse(impulse, ctx.t.lang)], separator="\n\n")
    if ctx.is_direct:
        await ctx.answer_privately(message)
        return None
    await ctx.send_direct(message)  # waits in the store until the person has joined
    return ctx.text("impuls.command.preview_sent")


async def repeat_latest(ctx: Context) -> None:
    """Answers with the room's latest impulse; feedback on the answer counts for the impulse."""
    latest = await ctx.app.store.latest_impulse_post(ctx.room_id)
    impulse = impulses_state(ctx.app).library.get(latest.impulse_id) if latest else None
    if latest is None or impulse is None:
        await ctx.reply(ctx.text("impuls.command.nothing_posted"))
        return
    posted = from_ms(latest.posted_at or latest.claimed_at)
    date = format_date(posted.astimezone(ctx.app.config.bot.tz).date(), ctx.t)
    message = join(
        [ctx.text("impuls.command.repeat_header", date=date), render_impulse(impulse, ctx.t.lang)],
        separator="\n\n",
    )
    key = f"repeat:{ctx.incoming.event_id}"
    now = to_ms(ctx.now)
    await ctx.app.store.claim_impulse(ctx.room_id, key, "repeat", impulse.id, now, now)
    event_id = await ctx.reply(message)
    # Reactions and replies to the repeat count for the impulse, too.
    await ctx.app.store.mark_impulse_posted(ctx.room_id, key, event_id, to_ms(ctx.now))
