"""Lean Coffee in a room: pure session logic, argument parsing and rendering.

The protocol: collect topics → dot-vote (N stackable dots per person) → discuss the top-voted
topic in a timebox → 👍/👎 to extend once → next topic → summary with takeaways.

Everything here is free of Matrix and SQL. The chat shell keeps one :class:`LeanCoffeeSession`
per room, calls its methods, posts the returned outcomes (each has ``message(t, prefix=...)``),
persists ``session.to_dict()`` after every change and schedules a wake-up at
``session.next_deadline()``. On wake-up (also after a restart, if the deadline passed while the
bot was offline) it calls ``session.on_timer(now)``; that call is idempotent, so a timer firing
twice or early does no harm.

Data minimisation: who gave which dot is only kept while voting is open (to enforce the limit);
when voting closes the dots are folded into per-topic totals. Topic authors are not stored, and
the summary contains totals only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from bot.matrix.outgoing import shorten
from bot.outcome import Outcome, Rejected
from bot.text.bounds import NotANumber, OutOfRange, bounded_float, bounded_int
from bot.text.i18n import Message, Texts, join

SCHEMA_VERSION = 1

DEFAULT_DOTS = 3
DEFAULT_TIMEBOX_SECONDS = 8 * 60
DEFAULT_EXTENSION_SECONDS = 4 * 60
DEFAULT_VOTE_WINDOW_SECONDS = 60

DOTS_RANGE = (1, 10)
TIMEBOX_RANGE_SECONDS = (60, 60 * 60)
EXTENSION_RANGE_SECONDS = (60, 30 * 60)

MAX_TOPICS = 30
MAX_TOPIC_LENGTH = 300
MAX_NOTE_LENGTH = 1000
MAX_NOTES_PER_TOPIC = 20

_TEXTS = "austausch.lc"


# --------------------------------------------------------------------------------------------
# Outcomes: what a transition produced, for the shell to turn into messages
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counted:
    """A number shown with its noun in the right grammatical number ('1 Punkt', '2 Punkte')."""

    noun: str  # dots, people, topics
    n: int

    def render(self, t: Texts) -> str:
        return _count(t, self.noun, self.n)


def _reject(reason: str, **params: Any) -> Rejected:
    return Rejected(_TEXTS, reason, params)


@dataclass(frozen=True)
class SessionStarted(Outcome):
    host: str
    settings: LeanCoffeeSettings

    def message(self, t: Texts, prefix: str = "!") -> Message:
        return t(
            f"{_TEXTS}.started",
            prefix=prefix,
            host=self.host,
            dots=self.settings.dots_per_person,
            timebox=format_duration(t, self.settings.timebox_seconds),
            extension=format_duration(t, self.settings.extension_seconds),
        )


@dataclass(frozen=True)
class TopicAdded(Outcome):
    """The text of the topic's own message; the shell reports its event id back."""

    number: int
    text: str
    voting_open: bool

    def message(self, t: Texts, prefix: str = "!") -> Message:
        key = "topic_added_voting" if self.voting_open else "topic_added"
        return t(f"{_TEXTS}.{key}", prefix=prefix, number=self.number, text=self.text)


@dataclass(frozen=True)
class VotingOpened(Outcome):
    dots_per_person: int
    topic_count: int

    def message(self, t: Texts, prefix: str = "!") -> Message:
        return t(
            f"{_TEXTS}.voting_opened",
            prefix=prefix,
            dots=self.dots_per_person,
            topics=_count(t, "topics", self.topic_count),
        )


@dataclass(frozen=True)
class DotsCast(Outcome):
    topic_no: int
    on_topic: int  # this person's dots on that topic now
    remaining: int
    total: int

    def message(self, t: Texts, prefix: str = "!") -> Message:
        return t(
            f"{_TEXTS}.dots_cast",
            number=self.topic_no,
            on_topic=_count(t, "dots", self.on_topic),
            remaining=_count(t, "dots", self.remaining),
            total=self.total,
        )


@dataclass(frozen=True)
class DotsRetracted(Outcome):
    topic_no: int
    on_topic: int
    remaining: int
    total: int

    def message(self, t: Texts, prefix: str = "!") -> Message:
        return t(
            f"{_TEXTS}.dots_retracted",
            number=self.topic_no,
            on_topic=_count(t, "dots", self.on_topic),
            remaining=_count(t, "dots", self.remaining),
            total=self.total,
        )


@dataclass(frozen=True)
class VotingClosed(Outcome):
    skipped: bool  # True: discussion started straight from collecting, in submission order
    voters: int
    dots_cast: int

    def message(self, t: Texts, prefix: str = "!") -> Message:
        if self.skipped:
            return t(f"{_TEXTS}.voting_skipped")
        return t(
            f"{_TEXTS}.voting_closed",
            voters=_count(t, "people", self.voters),
            dots=_count(t, "dots", self.dots_cast),
        )


@dataclass(frozen=True)
class DiscussionStarted(Outcome):
    number: int
    text: str
    votes: int
    seconds: int
    deadline: datetime

    def message(self, t: Texts, prefix: str = "!") -> Message:
        return t(
            f"{_TEXTS}.discussion_started",
            prefix=prefix,
            number=self.number,
            text=self.text,
            votes=_count(t, "dots", self.votes),
            duration=format_duration(t, self.seconds),
        )


@dataclass(frozen=True)
class NoTopicsLeft(Outcome):
    def message(self, t: Texts, prefix: str = "!") -> Message:
        return t(f"{_TEXTS}.no_topics_left", prefix=prefix)


@dataclass(frozen=True)
class ExtensionVoteOpened(Outcome):
    """Ask 👍/👎. The shell posts it and stores the event id in ``extension_prompt_event_id``."""

    number: int
    text: str
    extension_seconds: int
    window_seconds: int

    def message(self, t: Texts, prefix: str = "!") -> Message:
        return t(
            f"{_TEXTS}.extension_vote",
            prefix=prefix,
            number=self.number,
            text=self.text,
            extension=format_duration(t, self.extension_seconds),
            window=format_duration(t, self.window_seconds),
        )


@dataclass(frozen=True)
class ExtensionVoteRecorded(Outcome):
    thumbs_up: bool
    yes: int
    no: int

    def message(self, t: Texts, prefix: str = "!") -> Message:
        key = "extension_vote_yes" if self.thumbs_up else "extension_vote_no"
        return t(f"{_TEXTS}.{key}", yes=self.yes, no=self.no)


@dataclass(frozen=True)
class ExtensionDecided(Outcome):
    number: int
    extended: bool
    yes: int
    no: int
    extension_seconds: int

    def message(self, t: Texts, prefix: str = "!") -> Message:
        key = "extended" if self.extended else "not_extended"
        return t(
            f"{_TEXTS}.{key}",
            prefix=prefix,
            number=self.number,
            yes=self.yes,
            no=self.no,
            extension=format_duration(t, self.extension_seconds),
        )


class DoneReason(StrEnum):
    EARLY = "early"  # someone moved on before the timebox ended
    EXTENSION_USED = "extension_used"  # the one extension ran out


@dataclass(frozen=True)
class TopicDone(Outcome):
    number: int
    reason: DoneReason

    def message(self, t: Texts, prefix: str = "!") -> Message:
        return t(f"{_TEXTS}.done_{self.reason.value}", prefix=prefix, number=self.number)


@dataclass(frozen=True)
class NoteAdded(Outcome):
    number: int
    count: int

    def message(self, t: Texts, prefix: str = "!") -> Message:
        return t(f"{_TEXTS}.note_added", number=self.number, count=self.count)


@dataclass(frozen=True)
class SessionEnded(Outcome):
    summary: LeanCoffeeSummary

    def message(self, t: Texts, prefix: str = "!") -> Message:
        return render_summary(self.summary, t)


# --------------------------------------------------------------------------------------------
# State
# --------------------------------------------------------------------------------------------


class Phase(StrEnum):
    COLLECTING = "collecting"
    VOTING = "voting"
    DISCUSSING = "discussing"
    EXTENSION_VOTE = "extension_vote"
    BETWEEN = "between"  # a topic is done, the group may add notes before moving on
    ENDED = "ended"


class TopicStatus(StrEnum):
    OPEN = "open"
    DISCUSSING = "discussing"
    DONE = "done"


@dataclass(frozen=True)
class LeanCoffeeSettings:
    dots_per_person: int = DEFAULT_DOTS
    timebox_seconds: int = DEFAULT_TIMEBOX_SECONDS
    extension_seconds: int = DEFAULT_EXTENSION_SECONDS
    vote_window_seconds: int = DEFAULT_VOTE_WINDOW_SECONDS

    def to_dict(self) -> dict[str, int]:
        return {
            "dots_per_person": self.dots_per_person,
            "timebox_seconds": self.timebox_seconds,
            "extension_seconds": self.extension_seconds,
            "vote_window_seconds": self.vote_window_seconds,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LeanCoffeeSettings:
        return cls(**{key: int(data[key]) for key in cls().to_dict()})


@dataclass
class Topic:
    number: int
    text: str
    status: TopicStatus = TopicStatus.OPEN
    votes: int = 0  # dots folded in when voting closed; live dots are kept per person
    extended: bool = False
    notes: list[str] = field(default_factory=list)
    discussed_order: int | None = None  # 1 for the first topic discussed, …
    event_id: str | None = None  # the topic's own message, target of dot reactions

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "text": self.text,
            "status": self.status.value,
            "votes": self.votes,
            "extended": self.extended,
            "notes": list(self.notes),
            "discussed_order": self.discussed_order,
            "event_id": self.event_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Topic:
        return cls(
            number=int(data["number"]),
            text=str(data["text"]),
            status=TopicStatus(data["status"]),
            votes=int(data["votes"]),
            extended=bool(data["extended"]),
            notes=[str(n) for n in data["notes"]],
            discussed_order=_opt_int(data["discussed_order"]),
            event_id=data["event_id"],
        )


@dataclass
class ReactionRecord:
    """What a reaction event did, so that removing the reaction can undo exactly that."""

    user: str
    topic_no: int | None = None  # dot reaction on a topic message
    dots: int = 0
    thumbs_up: bool | None = None  # extension vote reaction

    def to_dict(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "topic_no": self.topic_no,
            "dots": self.dots,
            "thumbs_up": self.thumbs_up,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReactionRecord:
        up = data["thumbs_up"]
        return cls(
            user=str(data["user"]),
            topic_no=_opt_int(data["topic_no"]),
            dots=int(data["dots"]),
            thumbs_up=None if up is None else bool(up),
        )


@dataclass
class LeanCoffeeSession:
    """One Lean Coffee in one room. Mutating methods validate first and change nothing on
    rejection, so a :class:`Rejected` result always leaves the session as it was."""

    room_id: str
    host: str
    started_at: datetime
    settings: LeanCoffeeSettings = field(default_factory=LeanCoffeeSettings)
    phase: Phase = Phase.COLLECTING
    topics: list[Topic] = field(default_factory=list)
    dots: dict[str, dict[int, int]] = field(default_factory=dict)  # user → topic → dots
    reactions: dict[str, ReactionRecord] = field(default_factory=dict)  # reaction event id → …
    current: int | None = None  # topic being discussed, or the one just finished (for notes)
    deadline: datetime | None = None  # end of timebox / extension / extension vote
    extension_votes: dict[str, bool] = field(default_factory=dict)  # user → 👍?
    voters: int = 0  # how many people gave dots (an aggregate, kept for the summary)
    board_event_id: str | None = None
    extension_prompt_event_id: str | None = None
    ended_at: datetime | None = None

    # ---- construction ---------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        room_id: str,
        host: str,
        now: datetime,
        settings: LeanCoffeeSettings | None = None,
    ) -> tuple[LeanCoffeeSession, SessionStarted]:
        _require_aware(now)
        session = cls(
            room_id=room_id, host=host, started_at=now, settings=settings or LeanCoffeeSettings()
        )
        return session, SessionStarted(host, session.settings)

    # ---- queries --------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self.phase is not Phase.ENDED

    def topic(self, number: int) -> Topic | None:
        for topic in self.topics:
            if topic.number == number:
                return topic
        return None

    def topic_for_event(self, event_id: str) -> Topic | None:
        for topic in self.topics:
            if topic.event_id == event_id:
                return topic
        return None

    def votes_for(self, number: int) -> int:
        topic = self.topic(number)
        folded = topic.votes if topic else 0
        return folded + sum(per_user.get(number, 0) for per_user in self.dots.values())

    def remaining_dots(self, user: str) -> int:
        return self.settings.dots_per_person - sum(self.dots.get(user, {}).values())

    def ranking(self) -> list[Topic]:
        """Open topics, most dots first; ties go to the topic proposed earlier."""
        open_topics = [t for t in self.topics if t.status is TopicStatus.OPEN]
        return sorted(open_topics, key=lambda t: (-self.votes_for(t.number), t.number))

    def current_topic(self) -> Topic | None:
        return self.topic(self.current) if self.current is not None else None

    def next_deadline(self) -> datetime | None:
        """When the shell should call :meth:`on_timer` next (None: no timer needed)."""
        if self.phase in (Phase.DISCUSSING, Phase.EXTENSION_VOTE):
            return self.deadline
        return None

    def may_steer(self, user: str, moderator: bool = False) -> bool:
        """Opening the vote, moving on and ending belong to the host or a room moderator."""
        return moderator or user == self.host

    # ---- shell bookkeeping ----------------------------------------------------------------

    def attach_topic_event(self, number: int, event_id: str) -> None:
        topic = self.topic(number)
        if topic is not None:
            topic.event_id = event_id

    # ---- collecting -----------------------------------------------------------------------

    def add_topic(self, text: str) -> TopicAdded | Rejected:
        text = _clean_text(text)
        if self.phase is Phase.ENDED:
            return _reject("ended")
        if not text:
            return _reject("topic_empty")
        if len(text) > MAX_TOPIC_LENGTH:
            return _reject("topic_too_long", max=MAX_TOPIC_LENGTH)
        if len(self.topics) >= MAX_TOPICS:
            return _reject("too_many_topics", max=MAX_TOPICS)
        for topic in self.topics:
            if topic.text.casefold() == text.casefold():
                return _reject("topic_duplicate", number=topic.number)
        number = max((t.number for t in self.topics), default=0) + 1
        self.topics.append(Topic(number=number, text=text))
        return TopicAdded(number, text, voting_open=self.phase is Phase.VOTING)

    # ---- voting ---------------------------------------------------------------------------

    def open_voting(self, actor: str, moderator: bool = False) -> VotingOpened | Rejected:
        if self.phase is Phase.ENDED:
            return _reject("ended")
        if not self.may_steer(actor, moderator):
            return _reject("not_host", host=self.host)
        if self.phase is Phase.VOTING:
            return _reject("voting_already_open")
        if self.phase is not Phase.COLLECTING:
            return _reject("voting_closed")
        if not self.topics:
            return _reject("no_topics")
        self.phase = Phase.VOTING
        return VotingOpened(self.settings.dots_per_person, len(self.topics))

    def _voting_problem(self, number: int) -> Rejected | None:
        if self.phase is Phase.ENDED:
            return _reject("ended")
        if self.phase is Phase.COLLECTING:
            return _reject("voting_not_open")
        if self.phase is not Phase.VOTING:
            return _reject("voting_closed")
        if self.topic(number) is None:
            return _reject("topic_unknown", number=number)
        return None

    def cast_dots(
        self, user: str, number: int, count: int = 1, *, reaction_event_id: str | None = None
    ) -> DotsCast | Rejected:
        """Give ``count`` dots to topic ``number``. Dots stack; the total per person is limited."""
        problem = self._voting_problem(number)
        if problem is not None:
            return problem
        if count < 1:
            return _reject("dots_count_invalid")
        remaining = self.remaining_dots(user)
        if count > remaining:
            if remaining == 0:
                return _reject("no_dots_left", total=self.settings.dots_per_person)
            return _reject(
                "not_enough_dots",
                remaining=Counted("dots", remaining),
                requested=Counted("dots", count),
            )
        per_user = self.dots.setdefault(user, {})
        per_user[number] = per_user.get(number, 0) + count
        if reaction_event_id is not None:
            self.reactions[reaction_event_id] = ReactionRecord(user, topic_no=number, dots=count)
        return DotsCast(number, per_user[number], remaining - count, self.settings.dots_per_person)

    def retract_dots(self, user: str, number: int, count: int = 1) -> DotsRetracted | Rejected:
        """Take back up to ``count`` of one's own dots from a topic (while voting is open)."""
        problem = self._voting_problem(number)
        if problem is not None:
            return problem
        if count < 1:
            return _reject("dots_count_invalid")
        per_user = self.dots.get(user, {})
        have = per_user.get(number, 0)
        if have == 0:
            return _reject("no_dots_to_retract", number=number)
        left = have - min(count, have)
        if left:
            per_user[number] = left
        else:
            del per_user[number]
        if not per_user:
            self.dots.pop(user, None)
        return DotsRetracted(number, left, self.remaining_dots(user), self.settings.dots_per_person)

    def _close_voting(self) -> VotingClosed:
        skipped = self.phase is Phase.COLLECTING
        self.voters = sum(1 for per_user in self.dots.values() if per_user)
        cast = 0
        for per_user in self.dots.values():
            for number, count in per_user.items():
                topic = self.topic(number)
                if topic is not None:
                    topic.votes += count
                    cast += count
        # From here on only totals exist: who voted for what is forgotten.
        self.dots = {}
        self.reactions = {k: r for k, r in self.reactions.items() if r.thumbs_up is not None}
        return VotingClosed(skipped=skipped, voters=self.voters, dots_cast=cast)

    # ---- discussing -----------------------------------------------------------------------

    def _start_next_topic(self, now: datetime) -> DiscussionStarted | NoTopicsLeft:
        ranking = self.ranking()
        self.deadline = None
        self.extension_votes = {}
        if not ranking:
            self.phase = Phase.BETWEEN
            return NoTopicsLeft()
        topic = ranking[0]
        topic.status = TopicStatus.DISCUSSING
        topic.discussed_order = 1 + sum(1 for t in self.topics if t.discussed_order is not None)
        self.current = topic.number
        self.phase = Phase.DISCUSSING
        self.deadline = now + timedelta(seconds=self.settings.timebox_seconds)
        return DiscussionStarted(
            topic.number,
            topic.text,
            topic.votes,
            self.settings.timebox_seconds,
            self.deadline,
        )

    def _finish_current(self) -> None:
        topic = self.current_topic()
        if topic is not None and topic.status is TopicStatus.DISCUSSING:
            topic.status = TopicStatus.DONE
        self.phase = Phase.BETWEEN
        self.deadline = None
        self.extension_votes = {}
        self.extension_prompt_event_id = None
        self.reactions = {k: r for k, r in self.reactions.items() if r.thumbs_up is None}

    def advance(self, now: datetime, actor: str, moderator: bool = False) -> list[Outcome]:
        """``!lc weiter``: move to the next topic from whatever phase the session is in.

        During an extension vote it closes the vote early and honours its result.
        """
        _require_aware(now)
        if self.phase is Phase.ENDED:
            return [_reject("ended")]
        if not self.may_steer(actor, moderator):
            return [_reject("not_host", host=self.host)]
        outcomes: list[Outcome] = []
        if self.phase in (Phase.COLLECTING, Phase.VOTING):
            if not self.topics:
                return [_reject("no_topics")]
            outcomes.append(self._close_voting())
        elif self.phase is Phase.DISCUSSING:
            number = self.current
            self._finish_current()
            if number is not None:
                outcomes.append(TopicDone(number, DoneReason.EARLY))
        elif self.phase is Phase.EXTENSION_VOTE:
            decision = self.close_extension_vote(now)
            outcomes.append(decision)
            if decision.extended:
                return outcomes
        outcomes.append(self._start_next_topic(now))
        return outcomes

    def on_timer(self, now: datetime) -> list[Outcome]:
        """Fire whatever deadline has passed. Safe to call early, late or twice."""
        _require_aware(now)
        if self.deadline is None or now < self.deadline:
            return []
        topic = self.current_topic()
        if self.phase is Phase.DISCUSSING and topic is not None:
            if topic.extended:
                self._finish_current()
                return [TopicDone(topic.number, DoneReason.EXTENSION_USED)]
            self.phase = Phase.EXTENSION_VOTE
            self.extension_votes = {}
            # Counted from now, not from the old deadline: after a restart people still get
            # the full window to vote.
            self.deadline = now + timedelta(seconds=self.settings.vote_window_seconds)
            return [
                ExtensionVoteOpened(
                    topic.number,
                    topic.text,
                    self.settings.extension_seconds,
                    self.settings.vote_window_seconds,
                )
            ]
        if self.phase is Phase.EXTENSION_VOTE:
            return [self.close_extension_vote(now)]
        return []

    # ---- extension vote -------------------------------------------------------------------

    def vote_extension(
        self, user: str, thumbs_up: bool, *, reaction_event_id: str | None = None
    ) -> bool:
        """Record 👍/👎 (latest reaction wins). False if no extension vote is running."""
        if self.phase is not Phase.EXTENSION_VOTE:
            return False
        self.extension_votes[user] = thumbs_up
        if reaction_event_id is not None:
            self.reactions[reaction_event_id] = ReactionRecord(user, thumbs_up=thumbs_up)
        return True

    def vote_extension_command(
        self, user: str, thumbs_up: bool
    ) -> ExtensionVoteRecorded | Rejected:
        """``!lc ja`` / ``!lc nein``: the same vote as a 👍/👎 reaction, for keyboard users."""
        if self.phase is Phase.ENDED:
            return _reject("ended")
        if not self.vote_extension(user, thumbs_up):
            return _reject("no_extension_vote")
        yes = sum(1 for up in self.extension_votes.values() if up)
        return ExtensionVoteRecorded(thumbs_up, yes, len(self.extension_votes) - yes)

    def withdraw_extension_vote(self, user: str, thumbs_up: bool) -> bool:
        if self.phase is not Phase.EXTENSION_VOTE:
            return False
        if self.extension_votes.get(user) is not thumbs_up:
            return False
        del self.extension_votes[user]
        return True

    def close_extension_vote(self, now: datetime) -> ExtensionDecided:
        """Tally: a strict majority of 👍 extends (once per topic); a tie or silence ends it."""
        _require_aware(now)
        topic = self.current_topic()
        if self.phase is not Phase.EXTENSION_VOTE or topic is None:
            raise RuntimeError("no extension vote is running")
        yes = sum(1 for up in self.extension_votes.values() if up)
        no = len(self.extension_votes) - yes
        extended = yes > no
        if extended:
            topic.extended = True
            self.phase = Phase.DISCUSSING
            self.deadline = now + timedelta(seconds=self.settings.extension_seconds)
            self.extension_votes = {}
            self.extension_prompt_event_id = None
            self.reactions = {k: r for k, r in self.reactions.items() if r.thumbs_up is None}
        else:
            self._finish_current()
        return ExtensionDecided(topic.number, extended, yes, no, self.settings.extension_seconds)

    # ---- reactions ------------------------------------------------------------------------

    def on_reaction(
        self, user: str, target_event_id: str, key: str, reaction_event_id: str
    ) -> Outcome | None:
        """Route a reaction: keycap digits on a topic message give dots, 👍/👎 on the
        extension prompt vote. None means: not ours, a replay, or nothing to say."""
        if reaction_event_id in self.reactions:
            return None
        if target_event_id == self.extension_prompt_event_id and target_event_id is not None:
            up = extension_vote_for_reaction(key)
            if up is not None:
                self.vote_extension(user, up, reaction_event_id=reaction_event_id)
            return None
        topic = self.topic_for_event(target_event_id)
        count = dots_for_reaction(key)
        if topic is None or count is None:
            return None
        return self.cast_dots(user, topic.number, count, reaction_event_id=reaction_event_id)

    def on_reaction_removed(self, reaction_event_id: str) -> Outcome | None:
        """Undo what a (now redacted) reaction did, if it still can be undone."""
        record = self.reactions.pop(reaction_event_id, None)
        if record is None:
            return None
        if record.thumbs_up is not None:
            self.withdraw_extension_vote(record.user, record.thumbs_up)
            return None
        if record.topic_no is None or self.phase is not Phase.VOTING:
            return None
        have = self.dots.get(record.user, {}).get(record.topic_no, 0)
        if have == 0:
            return None  # already taken back by command
        return self.retract_dots(record.user, record.topic_no, min(record.dots, have))

    # ---- notes and end --------------------------------------------------------------------

    def add_note(self, text: str, number: int | None = None) -> NoteAdded | Rejected:
        """A takeaway for the current (or just finished, or a named) discussed topic."""
        text = _clean_text(text)
        if self.phase is Phase.ENDED:
            return _reject("ended")
        if not text:
            return _reject("note_empty")
        if len(text) > MAX_NOTE_LENGTH:
            return _reject("note_too_long", max=MAX_NOTE_LENGTH)
        target = number if number is not None else self.current
        if target is None:
            return _reject("note_no_topic")
        topic = self.topic(target)
        if topic is None:
            return _reject("topic_unknown", number=target)
        if topic.status is TopicStatus.OPEN:
            return _reject("note_topic_open", number=target)
        if len(topic.notes) >= MAX_NOTES_PER_TOPIC:
            return _reject("too_many_notes", max=MAX_NOTES_PER_TOPIC)
        topic.notes.append(text)
        return NoteAdded(topic.number, len(topic.notes))

    def end(self, now: datetime, actor: str, moderator: bool = False) -> SessionEnded | Rejected:
        _require_aware(now)
        if self.phase is Phase.ENDED:
            return _reject("ended")
        if not self.may_steer(actor, moderator):
            return _reject("not_host", host=self.host)
        if self.phase in (Phase.COLLECTING, Phase.VOTING):
            self._close_voting()
        if self.phase in (Phase.DISCUSSING, Phase.EXTENSION_VOTE):
            self._finish_current()
        self.phase = Phase.ENDED
        self.ended_at = now
        self.deadline = None
        self.reactions = {}
        self.extension_votes = {}
        return SessionEnded(self.summary())

    def summary(self) -> LeanCoffeeSummary:
        discussed = sorted(
            (t for t in self.topics if t.discussed_order is not None),
            key=lambda t: t.discussed_order or 0,
        )
        return LeanCoffeeSummary(
            room_id=self.room_id,
            started_at=self.started_at,
            ended_at=self.ended_at,
            voters=self.voters,
            topics=[_summary_topic(t, self.votes_for(t.number)) for t in discussed]
            + [_summary_topic(t, self.votes_for(t.number)) for t in self.ranking()],
        )

    # ---- persistence ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-compatible snapshot (str keys, ISO datetimes)."""
        return {
            "version": SCHEMA_VERSION,
            "room_id": self.room_id,
            "host": self.host,
            "started_at": self.started_at.isoformat(),
            "settings": self.settings.to_dict(),
            "phase": self.phase.value,
            "topics": [t.to_dict() for t in self.topics],
            "dots": {
                user: {str(n): c for n, c in per_user.items()}
                for user, per_user in self.dots.items()
            },
            "reactions": {k: r.to_dict() for k, r in self.reactions.items()},
            "current": self.current,
            "deadline": _iso(self.deadline),
            "extension_votes": dict(self.extension_votes),
            "voters": self.voters,
            "board_event_id": self.board_event_id,
            "extension_prompt_event_id": self.extension_prompt_event_id,
            "ended_at": _iso(self.ended_at),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LeanCoffeeSession:
        if data.get("version") != SCHEMA_VERSION:
            raise ValueError(f"unsupported Lean Coffee state version {data.get('version')!r}")
        try:
            return cls(
                room_id=str(data["room_id"]),
                host=str(data["host"]),
                started_at=_parse_dt(data["started_at"]),
                settings=LeanCoffeeSettings.from_dict(data["settings"]),
                phase=Phase(data["phase"]),
                topics=[Topic.from_dict(t) for t in data["topics"]],
                dots={
                    str(user): {int(n): int(c) for n, c in per_user.items()}
                    for user, per_user in data["dots"].items()
                },
                reactions={
                    str(k): ReactionRecord.from_dict(r) for k, r in data["reactions"].items()
                },
                current=_opt_int(data["current"]),
                deadline=_parse_opt_dt(data["deadline"]),
                extension_votes={str(u): bool(v) for u, v in data["extension_votes"].items()},
                voters=int(data["voters"]),
                board_event_id=data["board_event_id"],
                extension_prompt_event_id=data["extension_prompt_event_id"],
                ended_at=_parse_opt_dt(data["ended_at"]),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed Lean Coffee state: {exc!r}") from exc


# --------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryTopic:
    number: int
    text: str
    votes: int
    discussed: bool
    extended: bool
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "text": self.text,
            "votes": self.votes,
            "discussed": self.discussed,
            "extended": self.extended,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SummaryTopic:
        return cls(
            number=int(data["number"]),
            text=str(data["text"]),
            votes=int(data["votes"]),
            discussed=bool(data["discussed"]),
            extended=bool(data["extended"]),
            notes=tuple(str(n) for n in data["notes"]),
        )


@dataclass(frozen=True)
class LeanCoffeeSummary:
    """What is kept after a session: topics (discussed first, in order), totals and notes."""

    room_id: str
    started_at: datetime
    ended_at: datetime | None
    voters: int
    topics: list[SummaryTopic]

    def to_dict(self) -> dict[str, Any]:
        return {
            "room_id": self.room_id,
            "started_at": self.started_at.isoformat(),
            "ended_at": _iso(self.ended_at),
            "voters": self.voters,
            "topics": [t.to_dict() for t in self.topics],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LeanCoffeeSummary:
        return cls(
            room_id=str(data["room_id"]),
            started_at=_parse_dt(data["started_at"]),
            ended_at=_parse_opt_dt(data["ended_at"]),
            voters=int(data["voters"]),
            topics=[SummaryTopic.from_dict(t) for t in data["topics"]],
        )


def _summary_topic(topic: Topic, votes: int) -> SummaryTopic:
    return SummaryTopic(
        number=topic.number,
        text=topic.text,
        votes=votes,
        discussed=topic.discussed_order is not None,
        extended=topic.extended,
        notes=tuple(topic.notes),
    )


# --------------------------------------------------------------------------------------------
# Reactions
# --------------------------------------------------------------------------------------------

_KEYCAP = "\u20e3"
_VARIATION_SELECTOR = "\ufe0f"
_SKIN_TONES = {chr(c) for c in range(0x1F3FB, 0x1F400)}


def dots_for_reaction(key: str) -> int | None:
    """1️⃣ … 9️⃣ → 1 … 9 (also without the variation selector some clients drop)."""
    bare = key.replace(_VARIATION_SELECTOR, "")
    if len(bare) == 2 and bare[1] == _KEYCAP and bare[0] in "123456789":
        return int(bare[0])
    return None


def extension_vote_for_reaction(key: str) -> bool | None:
    """👍 → True, 👎 → False (any skin tone); anything else → None."""
    bare = "".join(ch for ch in key if ch not in _SKIN_TONES and ch != _VARIATION_SELECTOR)
    if bare == "👍":
        return True
    if bare == "👎":
        return False
    return None


def dot_reaction_keys(limit: int) -> list[str]:
    """The keycap reactions worth offering for a dot limit (at most 1️⃣–3️⃣ to keep it light)."""
    return [f"{n}{_VARIATION_SELECTOR}{_KEYCAP}" for n in range(1, min(limit, 3) + 1)]


# --------------------------------------------------------------------------------------------
# Command parsing
# --------------------------------------------------------------------------------------------


class LcAction(StrEnum):
    START = "start"
    TOPIC = "topic"
    VOTE = "vote"
    DOT = "dot"
    NEXT = "next"
    NOTE = "note"
    END = "end"
    BOARD = "board"
    YES = "yes"  # extension vote by command
    NO = "no"
    HELP = "help"


_SUBCOMMANDS: dict[str, LcAction] = {
    "start": LcAction.START,
    "starten": LcAction.START,
    "thema": LcAction.TOPIC,
    "topic": LcAction.TOPIC,
    "abstimmen": LcAction.VOTE,
    "abstimmung": LcAction.VOTE,
    "vote": LcAction.VOTE,
    "punkt": LcAction.DOT,
    "punkte": LcAction.DOT,
    "dot": LcAction.DOT,
    "dots": LcAction.DOT,
    "weiter": LcAction.NEXT,
    "next": LcAction.NEXT,
    "notiz": LcAction.NOTE,
    "note": LcAction.NOTE,
    "ende": LcAction.END,
    "beenden": LcAction.END,
    "end": LcAction.END,
    "board": LcAction.BOARD,
    "tafel": LcAction.BOARD,
    "stand": LcAction.BOARD,
    "ja": LcAction.YES,
    "yes": LcAction.YES,
    "verlaengern": LcAction.YES,
    "verlängern": LcAction.YES,
    "nein": LcAction.NO,
    "no": LcAction.NO,
    "hilfe": LcAction.HELP,
    "help": LcAction.HELP,
}

_OPTIONS = {
    "punkte": "dots",
    "points": "dots",
    "dots": "dots",
    "zeit": "timebox",
    "time": "timebox",
    "timebox": "timebox",
    "verlaengerung": "extension",
    "verlängerung": "extension",
    "extension": "extension",
}

_DURATION = re.compile(
    r"^(?P<num>\d+(?:[.,]\d+)?)\s*(?P<unit>s|sek|sekunden|sec|seconds|m|min|minuten|minutes|"
    r"h|std|stunden|hours)?\.?$",
    re.IGNORECASE,
)
_UNIT_SECONDS = {
    "s": 1,
    "sek": 1,
    "sekunden": 1,
    "sec": 1,
    "seconds": 1,
    "h": 3600,
    "std": 3600,
    "stunden": 3600,
    "hours": 3600,
}
MAX_DURATION_NUMBER = 1_000_000  # any bigger amount is out of every range checked later
_TOPIC_REF = re.compile(r"^#?(\d{1,3})[.:)]?$")


@dataclass(frozen=True)
class LcCommand:
    action: LcAction
    settings: LeanCoffeeSettings | None = None  # START
    text: str = ""  # TOPIC, NOTE
    topic_no: int | None = None  # DOT, NOTE (optional)
    count: int = 1  # DOT: negative takes dots back


def parse_duration_text(value: str) -> int | None:
    """'8m', '8 min', '8', '90s', '1,5h' → seconds; a bare number means minutes."""
    match = _DURATION.match(value.strip())
    if not match:
        return None
    try:
        number = bounded_float(match.group("num"), MAX_DURATION_NUMBER)
    except ValueError:  # thousands of digits: no duration, and float() would give infinity
        return None
    unit = (match.group("unit") or "m").lower()
    return round(number * _UNIT_SECONDS.get(unit, 60))


def _normalise_dashes(token: str) -> str:
    # Phones turn "--" into an en or em dash; accept what people actually send.
    for dash in ("—", "–", "−"):
        if token.startswith(dash):
            return "--" + token.lstrip(dash)
    return token


def parse_start_options(tokens: list[str]) -> LeanCoffeeSettings | Rejected:
    values: dict[str, int] = {}
    i = 0
    while i < len(tokens):
        token = _normalise_dashes(tokens[i])
        if not token.startswith("--"):
            return _reject("option_unknown", option=shorten(tokens[i]))
        name, _, inline = token[2:].partition("=")
        option = _OPTIONS.get(name.casefold())
        if option is None:
            return _reject("option_unknown", option=shorten(tokens[i]))
        if inline:
            raw = inline
        elif i + 1 < len(tokens):
            i += 1
            raw = tokens[i]
        else:
            return _reject("option_missing_value", option=f"--{name}")
        problem = _apply_option(values, option, f"--{name}", raw)
        if problem is not None:
            return problem
        i += 1
    return LeanCoffeeSettings(
        dots_per_person=values.get("dots", DEFAULT_DOTS),
        timebox_seconds=values.get("timebox", DEFAULT_TIMEBOX_SECONDS),
        extension_seconds=values.get("extension", DEFAULT_EXTENSION_SECONDS),
    )


def _apply_option(values: dict[str, int], option: str, shown: str, raw: str) -> Rejected | None:
    if option == "dots":
        low, high = DOTS_RANGE
        try:
            values[option] = bounded_int(raw, low, high)
        except ValueError:
            return _reject("dots_invalid", value=shorten(raw), min=low, max=high)
        return None
    seconds = parse_duration_text(raw)
    if seconds is None:
        return _reject("duration_invalid", option=shown, value=shorten(raw))
    low, high = TIMEBOX_RANGE_SECONDS if option == "timebox" else EXTENSION_RANGE_SECONDS
    if not low <= seconds <= high:
        return _reject("duration_range", option=shown, min=low // 60, max=high // 60)
    values[option] = seconds
    return None


def _parse_topic_ref(token: str) -> int | None:
    match = _TOPIC_REF.match(token)
    return int(match.group(1)) if match else None


def parse_command(args: str) -> LcCommand | Rejected:
    """Parse everything after ``!lc`` / ``!leancoffee``."""
    args = args.strip()
    if not args:
        return LcCommand(LcAction.HELP)
    head, _, rest = args.partition(" ")
    rest = rest.strip()
    action = _SUBCOMMANDS.get(head.casefold())
    if action is None:
        return _reject("unknown_subcommand", name=shorten(head))
    if action is LcAction.START:
        settings = parse_start_options(rest.split())
        if isinstance(settings, Rejected):
            return settings
        return LcCommand(action, settings=settings)
    if action is LcAction.TOPIC:
        if not rest:
            return _reject("topic_empty")
        return LcCommand(action, text=rest)
    if action is LcAction.DOT:
        return _parse_dot(rest)
    if action is LcAction.NOTE:
        return _parse_note(rest)
    if rest and action is not LcAction.HELP:
        return _reject("unexpected_argument", name=shorten(head), argument=shorten(rest))
    return LcCommand(action)


def _parse_dot(rest: str) -> LcCommand | Rejected:
    tokens = rest.split()
    if not tokens:
        return _reject("topic_number_missing")
    if len(tokens) > 2:
        return _reject("unexpected_argument", name="punkt", argument=" ".join(tokens[2:]))
    number = _parse_topic_ref(tokens[0])
    if number is None:
        return _reject("topic_number_invalid", value=shorten(tokens[0]))
    count = 1
    if len(tokens) == 2:
        raw = tokens[1].lstrip("x×*")
        raw = _normalise_dashes(raw).replace("--", "-")
        try:
            count = bounded_int(raw, -DOTS_RANGE[1], DOTS_RANGE[1], signed=True)
        except OutOfRange as exc:
            return _reject("dots_invalid", value=exc.value, min=DOTS_RANGE[0], max=DOTS_RANGE[1])
        except NotANumber:
            return _reject("dots_count_invalid")
        if count == 0:
            return _reject("dots_count_invalid")
    return LcCommand(LcAction.DOT, topic_no=number, count=count)


def _parse_note(rest: str) -> LcCommand | Rejected:
    head, _, tail = rest.partition(" ")
    if head.startswith("#"):
        number = _parse_topic_ref(head)
        if number is None:
            return _reject("topic_number_invalid", value=head)
        rest = tail.strip()
        if not rest:
            return _reject("note_empty")
        return LcCommand(LcAction.NOTE, text=rest, topic_no=number)
    if not rest:
        return _reject("note_empty")
    return LcCommand(LcAction.NOTE, text=rest)


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def format_duration(t: Texts, seconds: int) -> str:
    if seconds % 60 == 0:
        return _count(t, "minutes", seconds // 60)
    return _count(t, "seconds", seconds)


def _count(t: Texts, noun: str, n: int) -> str:
    key = f"{_TEXTS}.count.{noun}_one" if n == 1 else f"{_TEXTS}.count.{noun}_other"
    return t(key, n=n).plain


def _topic_line(t: Texts, topic: Topic, votes: int) -> Message:
    return t(
        f"{_TEXTS}.board_line", number=topic.number, text=topic.text, votes=_count(t, "dots", votes)
    )


def render_board(
    session: LeanCoffeeSession, t: Texts, prefix: str = "!", now: datetime | None = None
) -> Message:
    """The board: to discuss (ranked) / being discussed / done, plus what to do next."""
    open_lines = [
        _topic_line(t, topic, session.votes_for(topic.number)) for topic in session.ranking()
    ]
    current = [topic for topic in session.topics if topic.status is TopicStatus.DISCUSSING]
    done = sorted(
        (topic for topic in session.topics if topic.status is TopicStatus.DONE),
        key=lambda topic: topic.discussed_order or 0,
    )
    empty = t(f"{_TEXTS}.board_empty")
    parts = [t(f"{_TEXTS}.board_title", host=session.host, dots=session.settings.dots_per_person)]
    parts.append(t(f"{_TEXTS}.board_open"))
    parts.extend(open_lines or [empty])
    parts.append(t(f"{_TEXTS}.board_current"))
    for topic in current:
        parts.append(_topic_line(t, topic, session.votes_for(topic.number)))
        if now is not None and session.deadline is not None and session.phase is Phase.DISCUSSING:
            left = max(0, int((session.deadline - now).total_seconds()))
            parts.append(
                t(
                    f"{_TEXTS}.board_time_left",
                    duration=format_duration(t, 60 * ((left + 59) // 60)),
                )
            )
    if not current:
        parts.append(empty)
    parts.append(t(f"{_TEXTS}.board_done"))
    parts.extend(
        [_topic_line(t, topic, session.votes_for(topic.number)) for topic in done] or [empty]
    )
    parts.append(t(f"{_TEXTS}.hint_{session.phase.value}", prefix=prefix))
    return join(parts)


def render_summary(summary: LeanCoffeeSummary, t: Texts, tz: tzinfo | None = None) -> Message:
    started = summary.started_at.astimezone(tz) if tz else summary.started_at
    parts = [
        t(
            f"{_TEXTS}.summary_title",
            date=started.strftime(t.raw("austausch.format.date")),
            voters=_count(t, "people", summary.voters),
        )
    ]
    discussed = [topic for topic in summary.topics if topic.discussed]
    rest = [topic for topic in summary.topics if not topic.discussed]
    parts.append(t(f"{_TEXTS}.summary_discussed"))
    if not discussed:
        parts.append(t(f"{_TEXTS}.board_empty"))
    for topic in discussed:
        key = "summary_line_extended" if topic.extended else "summary_line"
        parts.append(
            t(
                f"{_TEXTS}.{key}",
                number=topic.number,
                text=topic.text,
                votes=_count(t, "dots", topic.votes),
            )
        )
        parts.extend(t(f"{_TEXTS}.summary_note", note=note) for note in topic.notes)
    if rest:
        parts.append(t(f"{_TEXTS}.summary_open"))
        parts.extend(
            t(
                f"{_TEXTS}.summary_line",
                number=topic.number,
                text=topic.text,
                votes=_count(t, "dots", topic.votes),
            )
            for topic in rest
        )
    return join(parts)


def render_usage(t: Texts, prefix: str = "!") -> Message:
    return t(f"{_TEXTS}.usage", prefix=prefix)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _clean_text(text: str) -> str:
    return " ".join(text.split())


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timezone-aware datetime required")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _parse_dt(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value))
    _require_aware(moment)
    return moment


def _parse_opt_dt(value: Any) -> datetime | None:
    return None if value is None else _parse_dt(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)
