"""``!wol``: Working Out Loud circles – the list of seekers, forming circles, the slot, the end.

Logic, rooms and texts are :mod:`bot.features.wol`; the weekly reminders are its job
(``bot/wiring.py``). The bot keeps members and schedule only – no goals, no content – and only
*links* the official Circle Guides (``wol.guides`` in the config).
"""

from __future__ import annotations

from typing import Any

from bot.context import Context
from bot.features.polls.announce import build_start_content
from bot.features.polls.msc3381 import POLL_START, TEXT, answer_id
from bot.features.polls.record import record_start
from bot.features.wol.circles import Circle
from bot.features.wol.formation import seekers_from
from bot.features.wol.parse import WolCommand, parse_command
from bot.features.wol.render import (
    CircleEnded,
    render_joined,
    render_seekers,
    render_usage,
    render_week,
    retro_poll,
)
from bot.features.wol.rooms import form
from bot.outcome import Rejected
from bot.registry import Command, Scope, SubScope
from bot.store.polls import Poll, PollAnswer
from bot.text.i18n import Message, Texts, join


async def wol(ctx: Context) -> None:
    parsed = parse_command(ctx.args)
    if isinstance(parsed, Rejected):
        await ctx.reply(parsed.message(ctx.t, ctx.prefix))
        return
    store = ctx.app.store
    if parsed.action == "help":
        await ctx.reply(render_usage(ctx.t, ctx.prefix))
    elif parsed.action == "join":
        await store.add_wol_seeker(ctx.sender, parsed.department, ctx.now.isoformat())
        await ctx.reply(render_joined(parsed.department, ctx.t, ctx.prefix))
    elif parsed.action == "leave":
        removed = await store.remove_wol_seeker(ctx.sender)
        key = "austausch.wol.left" if removed else "austausch.wol.err.not_listed"
        await ctx.reply(ctx.text(key))
    elif parsed.action == "list":
        seekers = seekers_from(await store.wol_seekers())
        await ctx.reply(render_seekers(seekers, ctx.t, ctx.prefix))
    elif parsed.action == "form":  # organisation scope, checked by the core
        slot = None if parsed.weekday is None or parsed.at is None else (parsed.weekday, parsed.at)
        formed = await form(ctx.app, ctx.incoming.event_id, ctx.now, slot, ctx.t, wait=False)
        await ctx.reply(formed)
    else:
        await _in_circle(ctx, parsed)


async def _in_circle(ctx: Context, command: WolCommand) -> None:
    state = await ctx.app.store.wol_circle_in_room(ctx.room_id)
    if state is None:
        await ctx.reply(ctx.text("austausch.wol.err.not_circle_room"))
        return
    circle = Circle.from_dict(state)
    guides = ctx.app.config.wol.guides
    if command.action == "week":
        await ctx.reply(render_week(circle, ctx.now, guides, ctx.t, ctx.prefix))
    elif command.action == "time":
        assert command.weekday is not None and command.at is not None
        outcome = circle.set_time(command.weekday, command.at, ctx.now)
        if outcome.ok:
            await ctx.app.store.save_wol_circle(circle.to_dict())
        await ctx.reply(outcome.message(ctx.t, ctx.prefix))
    elif command.action == "end":
        outcome = circle.end(ctx.now, ctx.sender, ctx.is_moderator)
        # Send first, then store: a re-run repeats the same posts (same txn ids), not the end.
        await ctx.reply(outcome.message(ctx.t, ctx.prefix))
        if isinstance(outcome, CircleEnded):
            content = retro_poll_content(ctx.t, ctx.prefix)
            start_id = await ctx.send_event(POLL_START, content)
            # Counted like any other poll; whoever ended the circle may end the retro poll.
            await record_start(
                ctx.app,
                ctx.room_id,
                content,
                POLL_START,
                creator=ctx.sender,
                ts=ctx.incoming.timestamp_ms,
                event_id=start_id,
                origin="wol",
            )
            await ctx.app.store.save_wol_circle(circle.to_dict())


def retro_poll_content(t: Texts, prefix: str) -> dict[str, Any]:
    """A native poll (MSC3381) for the closing retro, with a plain fallback for other clients."""
    question, answers = retro_poll(t)
    poll = Poll(question, tuple(PollAnswer(answer_id(i), a) for i, a in enumerate(answers, 1)))
    content = build_start_content(poll, prefix=prefix, lang=t.lang)
    lines = [Message.text(question)]
    lines += [Message.text(f"{i}. {a}") for i, a in enumerate(answers, 1)]
    lines.append(t("austausch.wol.retro_poll_hint"))
    # The polls feature's fallback would offer vote commands; this poll is the circle's own.
    fallback = join(lines).plain
    content["body"] = fallback
    content[TEXT] = fallback
    return content


COMMAND = Command(
    name="wol",
    german="wol",
    handler=wol,
    scope=Scope.PERSONAL,
    subscopes=(SubScope(Scope.ORGANISATION, "bilden", "form"),),
)
