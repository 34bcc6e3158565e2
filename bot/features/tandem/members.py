"""A Kaffee-Tandem member (opt-in, topics, pause) and what ``!tandem an/aus/pause/status`` do
to one: each returns the new member and an outcome the shell replies with."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from bot.features.tandem.pairing import Participant
from bot.features.tandem.render import TEXTS, reject
from bot.features.tandem.schedule import aware
from bot.outcome import Outcome, Rejected
from bot.text.formats import format_when
from bot.text.i18n import Message, Texts, join


@dataclass
class TandemMember:
    user_id: str
    topics: list[str] = field(default_factory=list)
    paused_until: dt.datetime | None = None

    def is_active(self, now: dt.datetime) -> bool:
        return self.paused_until is None or now >= self.paused_until

    def participant(self) -> Participant:
        return Participant(self.user_id, frozenset(self.topics))

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "topics": list(self.topics),
            "paused_until": self.paused_until.isoformat() if self.paused_until else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TandemMember:
        until = data.get("paused_until")
        return cls(
            user_id=str(data["user_id"]),
            topics=[str(x) for x in data.get("topics", [])],
            paused_until=aware(dt.datetime.fromisoformat(until)) if until else None,
        )


def active_participants(members: Iterable[TandemMember], now: dt.datetime) -> list[Participant]:
    return [m.participant() for m in members if m.is_active(now)]


@dataclass(frozen=True)
class OptedIn(Outcome):
    topics: tuple[str, ...]
    next_round: dt.datetime
    already: bool  # was enrolled before (topics updated / pause lifted)
    suggestions: tuple[str, ...] = ()

    def message(self, t: Texts, prefix: str = "!") -> Message:
        key = "updated" if self.already else "opted_in"
        parts = [t(f"{TEXTS}.{key}", prefix=prefix, next=format_when(t, self.next_round))]
        if self.topics:
            parts.append(t(f"{TEXTS}.your_topics", topics=", ".join(self.topics)))
        elif self.suggestions:
            parts.append(
                t(f"{TEXTS}.topic_hint", prefix=prefix, examples=", ".join(self.suggestions))
            )
        parts.append(t(f"{TEXTS}.privacy", prefix=prefix))
        return join(parts)


@dataclass(frozen=True)
class OptedOut(Outcome):
    def message(self, t: Texts, prefix: str = "!") -> Message:
        return t(f"{TEXTS}.opted_out", prefix=prefix)


@dataclass(frozen=True)
class Paused(Outcome):
    until: dt.datetime

    def message(self, t: Texts, prefix: str = "!") -> Message:
        return t(f"{TEXTS}.paused", prefix=prefix, until=format_when(t, self.until))


@dataclass(frozen=True)
class Status(Outcome):
    enrolled: bool
    topics: tuple[str, ...] = ()
    paused_until: dt.datetime | None = None
    next_round: dt.datetime | None = None

    def message(self, t: Texts, prefix: str = "!") -> Message:
        if not self.enrolled:
            return t(f"{TEXTS}.status_none", prefix=prefix)
        if self.paused_until is not None:
            head = t(
                f"{TEXTS}.status_paused", prefix=prefix, until=format_when(t, self.paused_until)
            )
        else:
            head = t(
                f"{TEXTS}.status_active",
                prefix=prefix,
                next=format_when(t, self.next_round) if self.next_round else "–",
            )
        topics = (
            t(f"{TEXTS}.your_topics", topics=", ".join(self.topics))
            if self.topics
            else t(f"{TEXTS}.no_topics", prefix=prefix)
        )
        return join([head, topics])


def opt_in(
    member: TandemMember | None,
    user_id: str,
    topics: Sequence[str],
    next_round: dt.datetime,
    suggestions: Sequence[str] = (),
) -> tuple[TandemMember, OptedIn]:
    """``!tandem an [Themen…]``: enrol, or update topics and lift a pause.

    Without new topics an existing member keeps the topics they had.
    """
    kept = list(topics) if topics or member is None else list(member.topics)
    updated = TandemMember(user_id=user_id, topics=kept, paused_until=None)
    return updated, OptedIn(tuple(kept), next_round, member is not None, tuple(suggestions[:6]))


def opt_out(member: TandemMember | None) -> OptedOut | Rejected:
    """``!tandem aus``: the shell deletes the member's row (and their history) on success."""
    if member is None:
        return reject("not_enrolled")
    return OptedOut()


def pause(
    member: TandemMember | None, now: dt.datetime, days: int, tz: ZoneInfo
) -> tuple[TandemMember, Paused] | Rejected:
    """Pause until the start of the day ``days`` from now (local time)."""
    if member is None:
        return reject("not_enrolled")
    day = now.astimezone(tz).date() + dt.timedelta(days=days)
    until = dt.datetime.combine(day, dt.time(0, 0), tzinfo=tz)
    return TandemMember(member.user_id, list(member.topics), until), Paused(until)


def status(member: TandemMember | None, now: dt.datetime, next_round: dt.datetime | None) -> Status:
    if member is None:
        return Status(enrolled=False)
    paused = member.paused_until if not member.is_active(now) else None
    return Status(True, tuple(member.topics), paused, next_round)
