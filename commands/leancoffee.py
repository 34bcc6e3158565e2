"""``!leancoffee`` / ``!lc``: a Lean Coffee session run in the thread of a board message.

The session logic is :mod:`bot.features.leancoffee`; this module only loads and stores the
session, sends what it decided and wires reactions and the timer.

Crash safety: a command's state change and the messages it produced are stored in one
transaction (``exchange_applied``) before anything is sent; a re-run after a crash re-sends those
messages with the same transaction ids instead of applying the command twice. Timer posts are
sent *before* the new state is saved, with transaction ids derived from room, session and phase
(``txn_id("lc", room, …)``): a crash in between recomputes the same post and the homeserver
drops the duplicate.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.context import Context
from bot.features.leancoffee import flow
from bot.features.leancoffee import posts as lcp
from bot.features.leancoffee.listener import apply_reaction
from bot.features.leancoffee.model import LeanCoffeeSession
from bot.features.leancoffee.outcomes import ExtensionVoteOpened, SessionEnded
from bot.features.leancoffee.parse import LcAction, LcCommand, parse_command
from bot.features.leancoffee.posts import BOARD, PROMPT, REPLY, THREAD, Post
from bot.features.leancoffee.render import render_board, render_summary, render_usage
from bot.features.leancoffee.sessions import (
    finish_session,
    load_session,
    save_session,
    setup,
)
from bot.matrix.shell import SendFailed, txn_id
from bot.outcome import Rejected
from bot.registry import Command, Job, Scope
from bot.text.formats import mention
from bot.text.i18n import join

if TYPE_CHECKING:
    from bot.app import Impulsbot

log = logging.getLogger(__name__)


async def _send(
    app: Impulsbot, session: LeanCoffeeSession | None, post: Post, room: str, to: str, txn: str
) -> bool:
    """Send one post (a prompt gets the bot's own 👍/👎); True when the session noted its id."""
    content = lcp.content(app, session, post, to)
    event_id = await app.shell.send(room, "m.room.message", content, txn)
    if post.kind == PROMPT:
        for key in lcp.THUMBS:
            thumb = lcp.thumb_content(event_id, key)
            try:
                await app.shell.send(room, "m.reaction", thumb, txn_id("lc", txn, key))
            except SendFailed as exc:
                log.warning("could not add %s to the extension prompt: %s", key, exc)
    return lcp.remember(session, post, event_id)


async def deliver(
    app: Impulsbot,
    room_id: str,
    session: LeanCoffeeSession | None,
    posts: list[Post],
    reply_to: str,
    txn_base: str,
) -> None:
    """Send ``posts`` in order (deterministic txn ids) and store the event ids they got."""
    changed = False
    for index, post in enumerate(posts):
        changed |= await _send(
            app, session, post, room_id, reply_to, txn_id("lc", txn_base, str(index))
        )
    if changed and session is not None and session.active:
        await save_session(app, session)


async def leancoffee(ctx: Context) -> None:
    app, room, event_id = ctx.app, ctx.room_id, ctx.incoming.event_id
    stored = await app.store.applied_posts(event_id)
    if stored is not None:  # re-run after a crash: send what was decided, do not decide again
        resent = [Post.from_dict(p) for p in stored]
        await deliver(app, room, await load_session(app, room), resent, event_id, event_id)
        return
    parsed = parse_command(ctx.args)
    if isinstance(parsed, Rejected):
        await ctx.reply(parsed.message(ctx.t, ctx.prefix))
        return
    if parsed.action is LcAction.HELP:
        await ctx.reply(render_usage(ctx.t, ctx.prefix))
        return
    session = await load_session(app, room)
    if parsed.action is LcAction.START:
        await _start(ctx, session, parsed)
        return
    if session is None or not session.active:
        await ctx.reply(ctx.text("austausch.lc.err.no_session"))
        return
    if parsed.action is LcAction.BOARD:
        board = Post(render_board(session, ctx.t, ctx.prefix, ctx.now))
        await _send(app, session, board, room, event_id, ctx.next_txn("lc"))
        return
    if parsed.action is LcAction.END:
        await _end(ctx, session)
        return
    outcomes = flow.apply(session, parsed, ctx.sender, ctx.is_moderator, ctx.now)
    posts = lcp.posts_for(outcomes, ctx.t, ctx.prefix)
    if any(o.ok for o in outcomes):  # else nothing changed: answer, but store nothing
        await save_session(app, session, (event_id, posts))
    await deliver(app, room, session, posts, event_id, event_id)


async def _start(ctx: Context, existing: LeanCoffeeSession | None, command: LcCommand) -> None:
    if existing is not None and existing.active:
        await ctx.reply(ctx.text("austausch.lc.err.already_running"))
        return
    session, started = flow.start(ctx.room_id, ctx.sender, ctx.now, command.settings)
    board = join([started.message(ctx.t, ctx.prefix), render_board(session, ctx.t, ctx.prefix)])
    posts, event_id = [Post(board, BOARD)], ctx.incoming.event_id
    await save_session(ctx.app, session, (event_id, posts))
    await deliver(ctx.app, ctx.room_id, session, posts, event_id, event_id)


async def _end(ctx: Context, session: LeanCoffeeSession) -> None:
    outcome = flow.end(session, ctx.now, ctx.sender, ctx.is_moderator)
    event_id = ctx.incoming.event_id
    if isinstance(outcome, SessionEnded):
        summary = render_summary(outcome.summary, ctx.t, ctx.app.config.bot.tz)
        posts = [Post(summary, REPLY)]
        await finish_session(ctx.app, outcome.summary, event_id, posts)
    else:
        posts = [Post(outcome.message(ctx.t, ctx.prefix))]
    await deliver(ctx.app, ctx.room_id, session, posts, event_id, event_id)


async def fire_timers(app: Impulsbot, now: datetime) -> None:
    """Job: every session whose deadline passed moves on (also deadlines missed while down).

    Tests call this with a ``now`` after the deadline instead of waiting out a timebox.
    """
    for room_id in await app.store.lc_due_rooms(int(now.timestamp() * 1000)):
        if not app.shell.is_joined(room_id):
            # Right after a restart a quiet room is unknown until it shows up in a sync; the
            # deadline stays due and is fired on a later tick.
            log.debug("Lean Coffee timer for %s waits until the room is synced", room_id)
            continue
        async with app.room_lock(room_id):
            try:
                await _fire(app, room_id, now)
            except SendFailed as exc:
                log.warning("Lean Coffee timer post to %s failed: %s", room_id, exc)


async def _fire(app: Impulsbot, room_id: str, now: datetime) -> None:
    session = await load_session(app, room_id)
    if session is None or session.board_event_id is None:
        return
    t = await app.room_texts(room_id)
    for outcome in flow.on_timer(session, now):
        kind = PROMPT if isinstance(outcome, ExtensionVoteOpened) else THREAD
        post = Post(outcome.message(t, app.config.bot.prefix), kind)
        txn = txn_id("lc", room_id, lcp.marker(session, outcome))
        await _send(app, session, post, room_id, session.board_event_id, txn)
    await save_session(app, session)


async def on_event(app: Impulsbot, room_id: str, event: Any) -> None:
    """Listener: dot reactions (1️⃣2️⃣3️⃣), 👍/👎 on the extension prompt, and their removal."""
    answer = await apply_reaction(app, room_id, event)
    if answer is None:
        return
    said = answer.outcome.message(await app.room_texts(room_id), app.config.bot.prefix)
    message = join([mention(answer.who), said], separator=": ")
    try:
        await deliver(
            app, room_id, answer.session, [Post(message)], answer.reply_to, answer.txn_base
        )
    except SendFailed as exc:
        log.warning("could not answer a Lean Coffee reaction in %s: %s", room_id, exc)


TIMER = Job(5.0, fire_timers)
COMMAND = Command(
    name="leancoffee",
    german="leancoffee",
    aliases=("lc",),
    handler=leancoffee,
    scope=Scope.EVERYONE,  # facilitation steps check power in this room inside the session
)

__all__ = ["COMMAND", "TIMER", "deliver", "fire_timers", "on_event", "setup"]
