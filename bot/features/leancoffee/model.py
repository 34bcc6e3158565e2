"""Lean Coffee state: the limits, the phases and the dataclasses of a session and its summary.

Only data and read-only questions live here; the transitions are in :mod:`.voting` (topics and
dots), :mod:`.flow` (discussion, timers, extension vote, notes, end) and :mod:`.reactions`.
Serialisation for the store is :mod:`.codec`.

Data minimisation: who gave which dot is only kept while voting is open (to enforce the limit);
when voting closes the dots are folded into per-topic totals. Topic authors are not stored, and
the summary contains totals only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

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

TEXTS = "austausch.lc"  # the feature's locale section


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


@dataclass
class ReactionRecord:
    """What a reaction event did, so that removing the reaction can undo exactly that."""

    user: str
    topic_no: int | None = None  # dot reaction on a topic message
    dots: int = 0
    thumbs_up: bool | None = None  # extension vote reaction


@dataclass(frozen=True)
class SummaryTopic:
    number: int
    text: str
    votes: int
    discussed: bool
    extended: bool
    notes: tuple[str, ...]


@dataclass(frozen=True)
class LeanCoffeeSummary:
    """What is kept after a session: topics (discussed first, in order), totals and notes."""

    room_id: str
    started_at: datetime
    ended_at: datetime | None
    voters: int
    topics: list[SummaryTopic]


@dataclass
class LeanCoffeeSession:
    """One Lean Coffee in one room. Transitions validate first and change nothing on
    rejection, so a :class:`~bot.outcome.Rejected` result always leaves the session as it was."""

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
        """When the shell should call :func:`.flow.on_timer` next (None: no timer needed)."""
        if self.phase in (Phase.DISCUSSING, Phase.EXTENSION_VOTE):
            return self.deadline
        return None

    def may_steer(self, user: str, moderator: bool = False) -> bool:
        """Opening the vote, moving on and ending belong to the host or a room moderator."""
        return moderator or user == self.host

    def attach_topic_event(self, number: int, event_id: str) -> None:
        topic = self.topic(number)
        if topic is not None:
            topic.event_id = event_id

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
            topics=[self._summary_topic(t) for t in [*discussed, *self.ranking()]],
        )

    def _summary_topic(self, topic: Topic) -> SummaryTopic:
        return SummaryTopic(
            number=topic.number,
            text=topic.text,
            votes=self.votes_for(topic.number),
            discussed=topic.discussed_order is not None,
            extended=topic.extended,
            notes=tuple(topic.notes),
        )


def require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timezone-aware datetime required")


def clean_text(text: str) -> str:
    return " ".join(text.split())
