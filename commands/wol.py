"""``!wol``: Working Out Loud circles – list of seekers, forming circles, weekly reminders.

Logic and texts are :mod:`bot.wol`. The bot keeps members and schedule only – no goals, no
content – and only *links* the official Circle Guides (``wol.guides`` in the config).

Crash safety: ``!wol bilden`` stores the formed circles under its event id before any room is
created; room ids are stored as soon as they exist and every post carries a transaction id
derived from the circle, so a re-run completes the formation instead of forming again.
Reminders are sent before the week is marked as reminded, with a txn id per circle and week.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.context import Context
from bot.features.polls.announce import build_start_content
from bot.features.polls.msc3381 import POLL_START, TEXT, answer_id
from bot.features.polls.record import record_start
from bot.matrix.shell import SendFailed, txn_id
from bot.registry import Command, Job, Scope, SubScope
from bot.store.polls import Poll, PollAnswer
from bot.text.i18n import Message, Texts, join
from bot.wol import (
    Circle,
    CircleEnded,
    Formation,
    Rejected,
    WolCommand,
    form_circles,
    parse_command,
    render_formation,
    render_joined,
    render_reminder,
    render_seekers,
    render_usage,
    render_week,
    render_welcome,
    retro_poll,
    seekers_from,
)
from commands.tandem import await_invitees

if TYPE_CHECKING:
    from bot.app import Impulsbot

log = logging.getLogger(__name__)

JOB_EVERY_S = 60.0


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
        formed = await form(ctx.app, ctx.incoming.event_id, ctx.now, parsed, ctx.t, wait=False)
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


# ---------------------------------------------------------------------------------- forming


async def form(
    app: Impulsbot,
    event_id: str,
    now: datetime,
    command: WolCommand,
    t: Texts,
    *,
    wait: bool = True,
) -> Message:
    """Form circles from the list; each gets a room and a welcome (in the background with
    ``wait=False``: a command handler runs inside the sync loop, and a new room only becomes
    usable after the next sync)."""
    stored = await app.store.wol_circles_from(event_id)
    if not stored:
        seekers = seekers_from(await app.store.wol_seekers())
        seed = int(hashlib.sha256(event_id.encode()).hexdigest()[:12], 16)
        formation = form_circles(seekers, seed)
        if not formation.circles:
            return render_formation(formation, t)
        circles = []
        for index, members in enumerate(formation.circles, 1):
            circle = Circle(
                circle_id=f"{event_id}#{index}",
                members=list(members),
                formed_at=now,
                timezone=app.config.bot.timezone,
            )
            if command.weekday is not None and command.at is not None:
                circle.set_time(command.weekday, command.at, now)
            circles.append(circle)
        await app.store.create_wol_circles(event_id, [(c.circle_id, c.to_dict()) for c in circles])
        stored = await app.store.wol_circles_from(event_id)
    if wait:
        await open_pending_rooms(app)
    else:
        app.spawn(open_pending_rooms(app))
    return render_formation(Formation([tuple(state["members"]) for state in stored], []), t)


def _lock(app: Impulsbot) -> asyncio.Lock:
    # One opener at a time: the command's background task and the job's recovery must not both
    # create a room for the same circle.
    return app.features.setdefault("wol.lock", asyncio.Lock())


async def open_pending_rooms(app: Impulsbot) -> None:
    """Create the room and post the welcome for every circle still missing them."""
    async with _lock(app):
        for state in await app.store.wol_pending_circles():
            circle = Circle.from_dict(state)
            try:
                await _open_room(app, circle)
            except SendFailed as exc:
                log.warning("could not open the room of circle %s: %s", circle.circle_id, exc)


async def _open_room(app: Impulsbot, circle: Circle) -> None:
    t = app.texts
    if circle.room_id is None:
        number = circle.circle_id.rsplit("#", 1)[-1]
        name = t("austausch.wol.room_name", number=number).plain
        circle.room_id = await app.shell.create_room(name, circle.members)
        await app.store.save_wol_circle(circle.to_dict())
    await await_invitees(app, circle.room_id, circle.members)
    welcome = render_welcome(circle, app.config.wol.guides, t, app.config.bot.prefix)
    content = app.message_content(welcome, notice=True)
    content["m.mentions"] = {"user_ids": list(circle.members)}
    await app.shell.send(
        circle.room_id, "m.room.message", content, txn_id("wol", circle.circle_id, "welcome")
    )
    await app.store.mark_wol_circle_welcomed(circle.circle_id)


# ---------------------------------------------------------------------------------- reminders


async def send_reminders(app: Impulsbot, now: datetime) -> None:
    """Job: the weekly reminder with week number and a link to that week's Circle Guide."""
    await open_pending_rooms(app)  # finishes a formation interrupted by a crash
    for state in await app.store.active_wol_circles():
        circle = Circle.from_dict(state)
        week = circle.due_reminder(now)
        if week is None or circle.room_id is None:
            continue
        t = await app.room_texts(circle.room_id)
        message = render_reminder(
            week, circle.meeting_at(week), app.config.wol.guides, t, app.config.bot.prefix
        )
        txn = txn_id("wol", circle.circle_id, f"week-{week}")
        try:
            await app.shell.send(
                circle.room_id, "m.room.message", app.message_content(message, notice=True), txn
            )
        except SendFailed as exc:
            log.warning("WOL reminder for %s failed: %s", circle.circle_id, exc)
            continue
        circle.mark_reminded(week)
        await app.store.save_wol_circle(circle.to_dict())


COMMAND = Command(
    name="wol",
    german="wol",
    handler=wol,
    scope=Scope.PERSONAL,
    subscopes=(SubScope(Scope.ORGANISATION, "bilden", "form"),),
    jobs=(Job(JOB_EVERY_S, send_reminders),),
)
