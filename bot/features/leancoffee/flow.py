"""Lean Coffee from the first topic discussed to the end: timeboxes, the extension vote, notes.

The shell keeps the session's :meth:`~.model.LeanCoffeeSession.next_deadline` and calls
:func:`on_timer` when it has passed (also after a restart, if the deadline passed while the bot
was offline). That call is idempotent, so a timer firing twice or early does no harm.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.features.leancoffee.model import (
    MAX_NOTE_LENGTH,
    MAX_NOTES_PER_TOPIC,
    LeanCoffeeSession,
    LeanCoffeeSettings,
    Phase,
    ReactionRecord,
    TopicStatus,
    require_aware,
)
from bot.features.leancoffee.outcomes import (
    DiscussionStarted,
    DoneReason,
    ExtensionDecided,
    ExtensionVoteOpened,
    ExtensionVoteRecorded,
    NoteAdded,
    NoTopicsLeft,
    SessionEnded,
    SessionStarted,
    TopicDone,
    reject,
)
from bot.features.leancoffee.parse import LcAction, LcCommand
from bot.features.leancoffee.voting import (
    add_topic,
    cast_dots,
    checked_text,
    close_voting,
    open_voting,
    retract_dots,
)
from bot.outcome import Outcome, Rejected


def start(
    room_id: str, host: str, now: datetime, settings: LeanCoffeeSettings | None = None
) -> tuple[LeanCoffeeSession, SessionStarted]:
    require_aware(now)
    session = LeanCoffeeSession(
        room_id=room_id, host=host, started_at=now, settings=settings or LeanCoffeeSettings()
    )
    return session, SessionStarted(host, session.settings)


def _start_next_topic(session: LeanCoffeeSession, now: datetime) -> Outcome:
    ranking = session.ranking()
    session.deadline = None
    session.extension_votes = {}
    if not ranking:
        session.phase = Phase.BETWEEN
        return NoTopicsLeft()
    topic = ranking[0]
    topic.status = TopicStatus.DISCUSSING
    topic.discussed_order = 1 + sum(1 for t in session.topics if t.discussed_order is not None)
    session.current = topic.number
    session.phase = Phase.DISCUSSING
    timebox = session.settings.timebox_seconds
    session.deadline = now + timedelta(seconds=timebox)
    return DiscussionStarted(topic.number, topic.text, topic.votes, timebox, session.deadline)


def _end_extension_vote(session: LeanCoffeeSession) -> None:
    session.extension_votes = {}
    session.extension_prompt_event_id = None
    session.reactions = {k: r for k, r in session.reactions.items() if r.thumbs_up is None}


def _finish_current(session: LeanCoffeeSession) -> None:
    topic = session.current_topic()
    if topic is not None and topic.status is TopicStatus.DISCUSSING:
        topic.status = TopicStatus.DONE
    session.phase = Phase.BETWEEN
    session.deadline = None
    _end_extension_vote(session)


def advance(
    session: LeanCoffeeSession, now: datetime, actor: str, moderator: bool = False
) -> list[Outcome]:
    """``!lc weiter``: move to the next topic from whatever phase the session is in.

    During an extension vote it closes the vote early and honours its result.
    """
    require_aware(now)
    if session.phase is Phase.ENDED:
        return [reject("ended")]
    if not session.may_steer(actor, moderator):
        return [reject("not_host", host=session.host)]
    outcomes: list[Outcome] = []
    if session.phase in (Phase.COLLECTING, Phase.VOTING):
        if not session.topics:
            return [reject("no_topics")]
        outcomes.append(close_voting(session))
    elif session.phase is Phase.DISCUSSING:
        number = session.current
        _finish_current(session)
        if number is not None:
            outcomes.append(TopicDone(number, DoneReason.EARLY))
    elif session.phase is Phase.EXTENSION_VOTE:
        decision = close_extension_vote(session, now)
        outcomes.append(decision)
        if decision.extended:
            return outcomes
    outcomes.append(_start_next_topic(session, now))
    return outcomes


def on_timer(session: LeanCoffeeSession, now: datetime) -> list[Outcome]:
    """Fire whatever deadline has passed. Safe to call early, late or twice."""
    require_aware(now)
    if session.deadline is None or now < session.deadline:
        return []
    topic = session.current_topic()
    settings = session.settings
    if session.phase is Phase.DISCUSSING and topic is not None:
        if topic.extended:
            _finish_current(session)
            return [TopicDone(topic.number, DoneReason.EXTENSION_USED)]
        session.phase = Phase.EXTENSION_VOTE
        session.extension_votes = {}
        # Counted from now, not from the old deadline: after a restart people still get
        # the full window to vote.
        session.deadline = now + timedelta(seconds=settings.vote_window_seconds)
        return [
            ExtensionVoteOpened(
                topic.number, topic.text, settings.extension_seconds, settings.vote_window_seconds
            )
        ]
    if session.phase is Phase.EXTENSION_VOTE:
        return [close_extension_vote(session, now)]
    return []


def vote_extension(
    session: LeanCoffeeSession, user: str, thumbs_up: bool, *, reaction_event_id: str | None = None
) -> bool:
    """Record 👍/👎 (latest reaction wins). False if no extension vote is running."""
    if session.phase is not Phase.EXTENSION_VOTE:
        return False
    session.extension_votes[user] = thumbs_up
    if reaction_event_id is not None:
        session.reactions[reaction_event_id] = ReactionRecord(user, thumbs_up=thumbs_up)
    return True


def vote_extension_command(
    session: LeanCoffeeSession, user: str, thumbs_up: bool
) -> ExtensionVoteRecorded | Rejected:
    """``!lc ja`` / ``!lc nein``: the same vote as a 👍/👎 reaction, for keyboard users."""
    if session.phase is Phase.ENDED:
        return reject("ended")
    if not vote_extension(session, user, thumbs_up):
        return reject("no_extension_vote")
    yes = sum(1 for up in session.extension_votes.values() if up)
    return ExtensionVoteRecorded(thumbs_up, yes, len(session.extension_votes) - yes)


def withdraw_extension_vote(session: LeanCoffeeSession, user: str, thumbs_up: bool) -> bool:
    if session.phase is not Phase.EXTENSION_VOTE:
        return False
    if session.extension_votes.get(user) is not thumbs_up:
        return False
    del session.extension_votes[user]
    return True


def close_extension_vote(session: LeanCoffeeSession, now: datetime) -> ExtensionDecided:
    """Tally: a strict majority of 👍 extends (once per topic); a tie or silence ends it."""
    require_aware(now)
    topic = session.current_topic()
    if session.phase is not Phase.EXTENSION_VOTE or topic is None:
        raise RuntimeError("no extension vote is running")
    yes = sum(1 for up in session.extension_votes.values() if up)
    no = len(session.extension_votes) - yes
    extended = yes > no
    if extended:
        topic.extended = True
        session.phase = Phase.DISCUSSING
        session.deadline = now + timedelta(seconds=session.settings.extension_seconds)
        _end_extension_vote(session)
    else:
        _finish_current(session)
    return ExtensionDecided(topic.number, extended, yes, no, session.settings.extension_seconds)


def add_note(
    session: LeanCoffeeSession, text: str, number: int | None = None
) -> NoteAdded | Rejected:
    """A takeaway for the current (or just finished, or a named) discussed topic."""
    checked = checked_text(session, text, "note_empty", "note_too_long", MAX_NOTE_LENGTH)
    if isinstance(checked, Rejected):
        return checked
    target = number if number is not None else session.current
    if target is None:
        return reject("note_no_topic")
    topic = session.topic(target)
    if topic is None:
        return reject("topic_unknown", number=target)
    if topic.status is TopicStatus.OPEN:
        return reject("note_topic_open", number=target)
    if len(topic.notes) >= MAX_NOTES_PER_TOPIC:
        return reject("too_many_notes", max=MAX_NOTES_PER_TOPIC)
    topic.notes.append(checked)
    return NoteAdded(topic.number, len(topic.notes))


def end(
    session: LeanCoffeeSession, now: datetime, actor: str, moderator: bool = False
) -> SessionEnded | Rejected:
    require_aware(now)
    if session.phase is Phase.ENDED:
        return reject("ended")
    if not session.may_steer(actor, moderator):
        return reject("not_host", host=session.host)
    if session.phase in (Phase.COLLECTING, Phase.VOTING):
        close_voting(session)
    if session.phase in (Phase.DISCUSSING, Phase.EXTENSION_VOTE):
        _finish_current(session)
    session.phase = Phase.ENDED
    session.ended_at = now
    session.deadline = None
    session.reactions = {}
    session.extension_votes = {}
    return SessionEnded(session.summary())


def apply(
    session: LeanCoffeeSession, command: LcCommand, actor: str, moderator: bool, now: datetime
) -> list[Outcome]:
    """Carry out a parsed command that changes the session (not start, board, end or help)."""
    action = command.action
    if action is LcAction.TOPIC:
        return [add_topic(session, command.text)]
    if action is LcAction.VOTE:
        return [open_voting(session, actor, moderator)]
    if action is LcAction.DOT:
        number = command.topic_no or 0
        if command.count < 0:
            return [retract_dots(session, actor, number, -command.count)]
        return [cast_dots(session, actor, number, command.count)]
    if action is LcAction.NEXT:
        return advance(session, now, actor, moderator)
    if action is LcAction.NOTE:
        return [add_note(session, command.text, command.topic_no)]
    if action in (LcAction.YES, LcAction.NO):
        return [vote_extension_command(session, actor, action is LcAction.YES)]
    raise ValueError(f"unhandled Lean Coffee action {action}")
