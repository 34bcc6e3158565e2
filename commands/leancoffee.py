"""``!leancoffee`` / ``!lc``: a Lean Coffee session run in the thread of a board message.

The session logic is :mod:`bot.leancoffee`; this module only loads and stores the session,
turns outcomes into Matrix messages and wires reactions and the timer.

Crash safety: a command's state change and the messages it produced are stored in one
transaction (``exchange_applied``) before anything is sent; a re-run after a crash re-sends those
messages with the same transaction ids instead of applying the command twice. Timer posts are
sent *before* the new state is saved, with transaction ids derived from room, session and phase
(``txn_id("lc", room, …)``): a crash in between recomputes the same post and the homeserver
drops the duplicate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.context import Context
from bot.events import reaction, redacted_event
from bot.leancoffee import (
    ExtensionDecided,
    ExtensionVoteOpened,
    LcAction,
    LcCommand,
    LeanCoffeeSession,
    Outcome,
    Rejected,
    SessionEnded,
    TopicAdded,
    TopicDone,
    parse_command,
    render_board,
    render_summary,
    render_usage,
)
from bot.matrix.shell import SendFailed, txn_id
from bot.registry import Command, Job, Scope
from bot.text.formats import mention
from bot.text.i18n import Message, Texts, join

if TYPE_CHECKING:
    from bot.app import Impulsbot

log = logging.getLogger(__name__)

FEATURE = "leancoffee"
TIMER_EVERY_S = 5.0
THUMBS = ("👍", "👎")

# Where a post goes: the board (thread root), a topic message or any other post in the thread,
# the extension prompt (its event id is remembered for 👍/👎), or a plain reply to the command.
BOARD, TOPIC, THREAD, PROMPT, REPLY = "board", "topic", "thread", "prompt", "reply"


@dataclass(frozen=True)
class Post:
    message: Message
    kind: str = THREAD
    topic: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "plain": self.message.plain,
            "html": self.message.html,
            "kind": self.kind,
            "topic": self.topic,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Post:
        return cls(Message(data["plain"], data["html"]), data["kind"], data.get("topic"))


# ---------------------------------------------------------------------------------- state


def _rooms(app: Impulsbot) -> set[str]:
    """Rooms with a running session: the listener's fast path (most events are not ours)."""
    return app.features.setdefault(FEATURE, set())


async def load_session(app: Impulsbot, room_id: str) -> LeanCoffeeSession | None:
    data = await app.store.lc_session(room_id)
    if data is None:
        return None
    try:
        return LeanCoffeeSession.from_dict(data)
    except ValueError:
        log.exception("stored Lean Coffee session in %s is unreadable; ignoring it", room_id)
        return None


def _deadline_ms(session: LeanCoffeeSession) -> int | None:
    deadline = session.next_deadline()
    return int(deadline.timestamp() * 1000) if deadline is not None else None


async def save_session(
    app: Impulsbot, session: LeanCoffeeSession, applied: tuple[str, list[Post]] | None = None
) -> None:
    record = None if applied is None else (applied[0], [p.to_dict() for p in applied[1]])
    await app.store.save_lc_session(
        session.room_id, session.to_dict(), _deadline_ms(session), record
    )
    _rooms(app).add(session.room_id)


# ---------------------------------------------------------------------------------- sending


def thread_content(
    app: Impulsbot, message: Message, board_event_id: str, reply_to: str
) -> dict[str, Any]:
    """A notice in the session's thread; ``reply_to`` is the fallback for thread-less clients."""
    content = app.message_content(message, notice=True)
    content["m.relates_to"] = {
        "rel_type": "m.thread",
        "event_id": board_event_id,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": reply_to},
    }
    return content


async def _send_post(
    app: Impulsbot,
    session: LeanCoffeeSession | None,
    post: Post,
    room_id: str,
    reply_to: str,
    txn: str,
) -> str:
    board = session.board_event_id if session is not None else None
    if post.kind in (BOARD, REPLY) or board is None:
        content = app.message_content(post.message, notice=True)
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    else:
        content = thread_content(app, post.message, board, reply_to)
    return await app.shell.send(room_id, "m.room.message", content, txn)


def _remember(session: LeanCoffeeSession | None, post: Post, event_id: str) -> bool:
    """Note event ids the session needs later; True when the session changed."""
    if session is None:
        return False
    if post.kind == BOARD and session.board_event_id != event_id:
        session.board_event_id = event_id
        return True
    if post.kind == TOPIC and post.topic is not None:
        topic = session.topic(post.topic)
        if topic is not None and topic.event_id != event_id:
            session.attach_topic_event(post.topic, event_id)
            return True
    if post.kind == PROMPT and session.extension_prompt_event_id != event_id:
        session.extension_prompt_event_id = event_id
        return True
    return False


async def _offer_thumbs(app: Impulsbot, room_id: str, prompt_id: str, marker: str) -> None:
    """The bot's own 👍/👎 under the prompt, so voting is one click away."""
    for key in THUMBS:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": prompt_id, "key": key}}
        try:
            await app.shell.send(room_id, "m.reaction", content, txn_id("lc", marker, key))
        except SendFailed as exc:
            log.warning("could not add %s to the extension prompt: %s", key, exc)


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
        txn = txn_id("lc", txn_base, str(index))
        event_id = await _send_post(app, session, post, room_id, reply_to, txn)
        changed |= _remember(session, post, event_id)
        if post.kind == PROMPT:
            await _offer_thumbs(app, room_id, event_id, txn)
    if changed and session is not None and session.active:
        await save_session(app, session)


# ---------------------------------------------------------------------------------- commands


def _posts_for(outcomes: list[Outcome], t: Texts, prefix: str) -> list[Post]:
    posts = []
    for outcome in outcomes:
        kind = THREAD
        topic = None
        if isinstance(outcome, TopicAdded):
            kind, topic = TOPIC, outcome.number
        elif isinstance(outcome, ExtensionVoteOpened):
            kind = PROMPT
        posts.append(Post(outcome.message(t, prefix), kind, topic))
    return posts


async def leancoffee(ctx: Context) -> None:
    app = ctx.app
    event_id = ctx.incoming.event_id
    stored = await app.store.applied_posts(event_id)
    if stored is not None:  # re-run after a crash: send what was decided, do not decide again
        session = await load_session(app, ctx.room_id)
        posts = [Post.from_dict(p) for p in stored]
        await deliver(app, ctx.room_id, session, posts, event_id, event_id)
        return
    parsed = parse_command(ctx.args)
    if isinstance(parsed, Rejected):
        await ctx.reply(parsed.message(ctx.t, ctx.prefix))
        return
    if parsed.action is LcAction.HELP:
        await ctx.reply(render_usage(ctx.t, ctx.prefix))
        return
    session = await load_session(app, ctx.room_id)
    if parsed.action is LcAction.START:
        await _start(ctx, session, parsed)
        return
    if session is None or not session.active:
        await ctx.reply(ctx.text("austausch.lc.err.no_session"))
        return
    if parsed.action is LcAction.BOARD:
        board = render_board(session, ctx.t, ctx.prefix, ctx.now)
        await _send_post(app, session, Post(board), ctx.room_id, event_id, ctx.next_txn("lc"))
        return
    if parsed.action is LcAction.END:
        await _end(ctx, session)
        return
    outcomes = _apply(ctx, session, parsed)
    posts = _posts_for(outcomes, ctx.t, ctx.prefix)
    if all(not o.ok for o in outcomes):
        # Nothing changed: answer, but there is no state to store.
        await deliver(app, ctx.room_id, session, posts, event_id, event_id)
        return
    await save_session(app, session, (event_id, posts))
    await deliver(app, ctx.room_id, session, posts, event_id, event_id)


def _apply(ctx: Context, session: LeanCoffeeSession, command: LcCommand) -> list[Outcome]:
    who, mod = ctx.sender, ctx.is_moderator
    action = command.action
    if action is LcAction.TOPIC:
        return [session.add_topic(command.text)]
    if action is LcAction.VOTE:
        return [session.open_voting(who, mod)]
    if action is LcAction.DOT:
        number = command.topic_no or 0
        if command.count < 0:
            return [session.retract_dots(who, number, -command.count)]
        return [session.cast_dots(who, number, command.count)]
    if action is LcAction.NEXT:
        return session.advance(ctx.now, who, mod)
    if action is LcAction.NOTE:
        return [session.add_note(command.text, command.topic_no)]
    if action in (LcAction.YES, LcAction.NO):
        return [session.vote_extension_command(who, action is LcAction.YES)]
    raise ValueError(f"unhandled Lean Coffee action {action}")


async def _start(ctx: Context, existing: LeanCoffeeSession | None, command: LcCommand) -> None:
    if existing is not None and existing.active:
        await ctx.reply(ctx.text("austausch.lc.err.already_running"))
        return
    session, started = LeanCoffeeSession.start(ctx.room_id, ctx.sender, ctx.now, command.settings)
    board = join([started.message(ctx.t, ctx.prefix), render_board(session, ctx.t, ctx.prefix)])
    posts = [Post(board, BOARD)]
    await save_session(ctx.app, session, (ctx.incoming.event_id, posts))
    await deliver(
        ctx.app, ctx.room_id, session, posts, ctx.incoming.event_id, ctx.incoming.event_id
    )


async def _end(ctx: Context, session: LeanCoffeeSession) -> None:
    outcome = session.end(ctx.now, ctx.sender, ctx.is_moderator)
    event_id = ctx.incoming.event_id
    if not isinstance(outcome, SessionEnded):
        await deliver(
            ctx.app,
            ctx.room_id,
            session,
            [Post(outcome.message(ctx.t, ctx.prefix))],
            event_id,
            event_id,
        )
        return
    summary = render_summary(outcome.summary, ctx.t, ctx.app.config.bot.tz)
    posts = [Post(summary, REPLY)]
    await ctx.app.store.finish_lc_session(
        ctx.room_id, outcome.summary.to_dict(), event_id, [p.to_dict() for p in posts]
    )
    _rooms(ctx.app).discard(ctx.room_id)
    await deliver(ctx.app, ctx.room_id, session, posts, event_id, event_id)


# ---------------------------------------------------------------------------------- timer


def _marker(session: LeanCoffeeSession, outcome: Outcome) -> str:
    """Names the logical timer post: the same post after a crash gets the same txn id."""
    if isinstance(outcome, ExtensionVoteOpened):
        what = f"extension-vote:{outcome.number}"
    elif isinstance(outcome, ExtensionDecided):
        what = f"extension-decided:{outcome.number}"
    elif isinstance(outcome, TopicDone):
        what = f"done:{outcome.number}:{outcome.reason.value}"
    else:
        what = type(outcome).__name__
    return f"{session.started_at.isoformat()}:{what}"


async def fire_timers(app: Impulsbot, now: datetime) -> None:
    """Job: every session whose deadline passed moves on (also deadlines missed while down).

    Tests call this with a ``now`` after the deadline instead of waiting out a timebox.
    """
    due = await app.store.lc_due_rooms(int(now.timestamp() * 1000))
    for room_id in due:
        if room_id not in app.shell.client.rooms:
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
    outcomes = session.on_timer(now)
    t = await app.room_texts(room_id)
    prefix = app.config.bot.prefix
    for outcome in outcomes:
        marker = _marker(session, outcome)
        kind = PROMPT if isinstance(outcome, ExtensionVoteOpened) else THREAD
        post = Post(outcome.message(t, prefix), kind)
        event_id = await _send_post(
            app, session, post, room_id, session.board_event_id, txn_id("lc", room_id, marker)
        )
        _remember(session, post, event_id)
        if kind == PROMPT:
            await _offer_thumbs(app, room_id, event_id, txn_id("lc", room_id, marker))
    await save_session(app, session)


# ---------------------------------------------------------------------------------- reactions


async def on_event(app: Impulsbot, room_id: str, event: Any) -> None:
    """Listener: dot reactions (1️⃣2️⃣3️⃣), 👍/👎 on the extension prompt, and their removal."""
    if room_id not in _rooms(app):
        return
    found = reaction(event)
    redacted = redacted_event(event) if found is None else None
    if found is None and redacted is None:
        return
    session = await load_session(app, room_id)
    if session is None or not session.active:
        _rooms(app).discard(room_id)
        return
    before = session.to_dict()
    if found is not None:
        reaction_id, target, key = found.event_id, found.target, found.key
        outcome = session.on_reaction(event.sender, target, key, reaction_id)
        reply_to, txn_base, who = target, reaction_id, event.sender
    else:
        assert redacted is not None
        record = session.reactions.get(redacted)
        outcome = session.on_reaction_removed(redacted)
        reply_to = session.board_event_id or redacted
        txn_base, who = event.event_id, record.user if record else event.sender
        if record is not None and record.topic_no is not None:
            topic = session.topic(record.topic_no)
            reply_to = (topic.event_id if topic else None) or reply_to
    if session.to_dict() != before:
        await save_session(app, session)
    if outcome is None:
        return
    t = await app.room_texts(room_id)
    # Reactions have no command to reply to, so the answer names the person.
    message = join([mention(who), outcome.message(t, app.config.bot.prefix)], separator=": ")
    try:
        await deliver(app, room_id, session, [Post(message)], reply_to, txn_base)
    except SendFailed as exc:
        log.warning("could not answer a Lean Coffee reaction in %s: %s", room_id, exc)


async def setup(app: Impulsbot) -> None:
    _rooms(app).update(await app.store.lc_rooms())


COMMAND = Command(
    name="leancoffee",
    german="leancoffee",
    aliases=("lc",),
    handler=leancoffee,
    scope=Scope.EVERYONE,  # facilitation steps check power in this room inside the session
    listener=on_event,
    jobs=(Job(TIMER_EVERY_S, fire_timers),),
    setup=setup,
)

__all__ = ["COMMAND", "deliver", "fire_timers", "load_session", "on_event"]
