"""What a Lean Coffee transition produced, for the chat shell to turn into messages.

Each outcome knows its text (``message(t, prefix=...)``); a refusal is a
:class:`~bot.outcome.Rejected` with a reason under ``austausch.lc.err``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from bot.features.leancoffee.model import TEXTS, LeanCoffeeSettings, LeanCoffeeSummary
from bot.features.leancoffee.render import count, format_duration, render_summary
from bot.outcome import Outcome, Rejected
from bot.text.i18n import Message, Texts


@dataclass(frozen=True)
class Counted:
    """A number shown with its noun in the right grammatical number ('1 Punkt', '2 Punkte')."""

    noun: str  # dots, people, topics
    n: int

    def render(self, t: Texts) -> str:
        return count(t, self.noun, self.n)


def reject(reason: str, **params: Any) -> Rejected:
    return Rejected(TEXTS, reason, params)


@dataclass(frozen=True)
class SessionStarted(Outcome):
    host: str
    settings: LeanCoffeeSettings

    def message(self, t: Texts, prefix: str = "!") -> Message:
        return t(
            f"{TEXTS}.started",
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
        return t(f"{TEXTS}.{key}", prefix=prefix, number=self.number, text=self.text)


@dataclass(frozen=True)
class VotingOpened(Outcome):
    dots_per_person: int
    topic_count: int

    def message(self, t: Texts, prefix: str = "!") -> Message:
        return t(
            f"{TEXTS}.voting_opened",
            prefix=prefix,
            dots=self.dots_per_person,
            topics=count(t, "topics", self.topic_count),
        )


@dataclass(frozen=True)
class _DotsChanged(Outcome):
    topic_no: int
    on_topic: int  # this person's dots on that topic now
    remaining: int
    total: int
    key: ClassVar[str]

    def message(self, t: Texts, prefix: str = "!") -> Message:
        return t(
            f"{TEXTS}.{self.key}",
            number=self.topic_no,
            on_topic=count(t, "dots", self.on_topic),
            remaining=count(t, "dots", self.remaining),
            total=self.total,
        )


@dataclass(frozen=True)
class DotsCast(_DotsChanged):
    key: ClassVar[str] = "dots_cast"


@dataclass(frozen=True)
class DotsRetracted(_DotsChanged):
    key: ClassVar[str] = "dots_retracted"


@dataclass(frozen=True)
class VotingClosed(Outcome):
    skipped: bool  # True: discussion started straight from collecting, in submission order
    voters: int
    dots_cast: int

    def message(self, t: Texts, prefix: str = "!") -> Message:
        if self.skipped:
            return t(f"{TEXTS}.voting_skipped")
        return t(
            f"{TEXTS}.voting_closed",
            voters=count(t, "people", self.voters),
            dots=count(t, "dots", self.dots_cast),
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
            f"{TEXTS}.discussion_started",
            prefix=prefix,
            number=self.number,
            text=self.text,
            votes=count(t, "dots", self.votes),
            duration=format_duration(t, self.seconds),
        )


@dataclass(frozen=True)
class NoTopicsLeft(Outcome):
    def message(self, t: Texts, prefix: str = "!") -> Message:
        return t(f"{TEXTS}.no_topics_left", prefix=prefix)


@dataclass(frozen=True)
class ExtensionVoteOpened(Outcome):
    """Ask 👍/👎. The shell posts it and stores the event id in ``extension_prompt_event_id``."""

    number: int
    text: str
    extension_seconds: int
    window_seconds: int

    def message(self, t: Texts, prefix: str = "!") -> Message:
        return t(
            f"{TEXTS}.extension_vote",
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
        return t(f"{TEXTS}.{key}", yes=self.yes, no=self.no)


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
            f"{TEXTS}.{key}",
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
        return t(f"{TEXTS}.done_{self.reason.value}", prefix=prefix, number=self.number)


@dataclass(frozen=True)
class NoteAdded(Outcome):
    number: int
    count: int

    def message(self, t: Texts, prefix: str = "!") -> Message:
        return t(f"{TEXTS}.note_added", number=self.number, count=self.count)


@dataclass(frozen=True)
class SessionEnded(Outcome):
    summary: LeanCoffeeSummary

    def message(self, t: Texts, prefix: str = "!") -> Message:
        return render_summary(self.summary, t)
