"""Lean Coffee before the discussion: proposing topics and dot-voting on them.

Dots stack (several on one topic) up to the per-person limit and can be taken back while voting
is open. Closing the vote folds them into per-topic totals and forgets who gave which.
"""

from __future__ import annotations

from bot.features.leancoffee.model import (
    MAX_TOPIC_LENGTH,
    MAX_TOPICS,
    LeanCoffeeSession,
    Phase,
    ReactionRecord,
    Topic,
    clean_text,
)
from bot.features.leancoffee.outcomes import (
    Counted,
    DotsCast,
    DotsRetracted,
    TopicAdded,
    VotingClosed,
    VotingOpened,
    reject,
)
from bot.outcome import Rejected


def checked_text(
    session: LeanCoffeeSession, text: str, empty: str, too_long: str, limit: int
) -> str | Rejected:
    """A topic's or note's text on one line, or why it cannot be taken (refusal reasons given)."""
    text = clean_text(text)
    if session.phase is Phase.ENDED:
        return reject("ended")
    if not text:
        return reject(empty)
    if len(text) > limit:
        return reject(too_long, max=limit)
    return text


def add_topic(session: LeanCoffeeSession, text: str) -> TopicAdded | Rejected:
    checked = checked_text(session, text, "topic_empty", "topic_too_long", MAX_TOPIC_LENGTH)
    if isinstance(checked, Rejected):
        return checked
    text = checked
    if len(session.topics) >= MAX_TOPICS:
        return reject("too_many_topics", max=MAX_TOPICS)
    for topic in session.topics:
        if topic.text.casefold() == text.casefold():
            return reject("topic_duplicate", number=topic.number)
    number = max((t.number for t in session.topics), default=0) + 1
    session.topics.append(Topic(number=number, text=text))
    return TopicAdded(number, text, voting_open=session.phase is Phase.VOTING)


def open_voting(
    session: LeanCoffeeSession, actor: str, moderator: bool = False
) -> VotingOpened | Rejected:
    if session.phase is Phase.ENDED:
        return reject("ended")
    if not session.may_steer(actor, moderator):
        return reject("not_host", host=session.host)
    if session.phase is Phase.VOTING:
        return reject("voting_already_open")
    if session.phase is not Phase.COLLECTING:
        return reject("voting_closed")
    if not session.topics:
        return reject("no_topics")
    session.phase = Phase.VOTING
    return VotingOpened(session.settings.dots_per_person, len(session.topics))


def _voting_problem(session: LeanCoffeeSession, number: int, count: int) -> Rejected | None:
    if session.phase is Phase.ENDED:
        return reject("ended")
    if session.phase is Phase.COLLECTING:
        return reject("voting_not_open")
    if session.phase is not Phase.VOTING:
        return reject("voting_closed")
    if session.topic(number) is None:
        return reject("topic_unknown", number=number)
    if count < 1:
        return reject("dots_count_invalid")
    return None


def cast_dots(
    session: LeanCoffeeSession,
    user: str,
    number: int,
    count: int = 1,
    *,
    reaction_event_id: str | None = None,
) -> DotsCast | Rejected:
    """Give ``count`` dots to topic ``number``. Dots stack; the total per person is limited."""
    problem = _voting_problem(session, number, count)
    if problem is not None:
        return problem
    remaining = session.remaining_dots(user)
    limit = session.settings.dots_per_person
    if count > remaining:
        if remaining == 0:
            return reject("no_dots_left", total=limit)
        return reject(
            "not_enough_dots",
            remaining=Counted("dots", remaining),
            requested=Counted("dots", count),
        )
    per_user = session.dots.setdefault(user, {})
    per_user[number] = per_user.get(number, 0) + count
    if reaction_event_id is not None:
        session.reactions[reaction_event_id] = ReactionRecord(user, topic_no=number, dots=count)
    return DotsCast(number, per_user[number], remaining - count, limit)


def retract_dots(
    session: LeanCoffeeSession, user: str, number: int, count: int = 1
) -> DotsRetracted | Rejected:
    """Take back up to ``count`` of one's own dots from a topic (while voting is open)."""
    problem = _voting_problem(session, number, count)
    if problem is not None:
        return problem
    per_user = session.dots.get(user, {})
    have = per_user.get(number, 0)
    if have == 0:
        return reject("no_dots_to_retract", number=number)
    left = have - min(count, have)
    if left:
        per_user[number] = left
    else:
        del per_user[number]
    if not per_user:
        session.dots.pop(user, None)
    limit = session.settings.dots_per_person
    return DotsRetracted(number, left, session.remaining_dots(user), limit)


def close_voting(session: LeanCoffeeSession) -> VotingClosed:
    skipped = session.phase is Phase.COLLECTING
    session.voters = sum(1 for per_user in session.dots.values() if per_user)
    cast = 0
    for per_user in session.dots.values():
        for number, count in per_user.items():
            topic = session.topic(number)
            if topic is not None:
                topic.votes += count
                cast += count
    # From here on only totals exist: who voted for what is forgotten.
    session.dots = {}
    session.reactions = {k: r for k, r in session.reactions.items() if r.thumbs_up is not None}
    return VotingClosed(skipped=skipped, voters=session.voters, dots_cast=cast)
