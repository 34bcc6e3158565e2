"""A Working Out Loud circle: its members and twelve-week schedule, and what members do to it
(choose or move the slot, end it). Persisted via ``to_dict``/``from_dict``; no content: goals
and notes stay in the circle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from bot.features.wol.render import CircleEnded, TimeSet, reject
from bot.features.wol.schedule import (
    DEFAULT_FIRST_MEETING_LEAD,
    DEFAULT_REMINDER_GRACE,
    WEEKS,
    CircleState,
    WeekStatus,
    first_slot,
)
from bot.outcome import Rejected


@dataclass
class Circle:
    """A circle: its members and schedule. No content: goals and notes stay in the circle."""

    circle_id: str
    members: list[str]
    formed_at: dt.datetime
    timezone: str = "Europe/Berlin"
    room_id: str | None = None
    start: dt.datetime | None = None  # the week-1 meeting
    last_reminded_week: int = 0
    ended_at: dt.datetime | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    def meeting_at(self, week: int) -> dt.datetime:
        """Week ``week``'s meeting, same wall-clock time every week (DST-proof)."""
        if self.start is None:
            raise ValueError("the circle has no meeting time yet")
        if not 1 <= week <= WEEKS:
            raise ValueError(f"week must be 1–{WEEKS}")
        local = self.start.astimezone(self.tz)
        day = local.date() + dt.timedelta(weeks=week - 1)
        return dt.datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=self.tz)

    def schedule(self) -> list[tuple[int, dt.datetime]]:
        return [(week, self.meeting_at(week)) for week in range(1, WEEKS + 1)]

    def meetings_held(self, now: dt.datetime) -> int:
        if self.start is None:
            return 0
        return sum(1 for week in range(1, WEEKS + 1) if self.meeting_at(week) <= now)

    def status(self, now: dt.datetime) -> WeekStatus:
        if self.ended:
            return WeekStatus(CircleState.ENDED, self.meetings_held(now), None, None)
        if self.start is None:
            return WeekStatus(CircleState.NOT_SCHEDULED, 0, None, None)
        held = self.meetings_held(now)
        if held >= WEEKS:
            return WeekStatus(CircleState.FINISHED, WEEKS, None, None)
        state = CircleState.UPCOMING if held == 0 else CircleState.RUNNING
        return WeekStatus(state, held, held + 1, self.meeting_at(held + 1))

    def set_time(self, weekday: int, at: dt.time, now: dt.datetime) -> TimeSet | Rejected:
        """Choose or move the weekly slot. Meetings already held keep their numbers: the next
        meeting moves to the first new slot at least a day away."""
        if self.ended:
            return reject("circle_ended")
        held = self.meetings_held(now)
        if held >= WEEKS:
            return reject("circle_finished")
        # The first meeting gets a day's notice; a move mid-circle may be as soon as the new
        # slot comes round (week ``held`` must stay in the past for the numbering to hold).
        lead = dt.timedelta(0) if held else DEFAULT_FIRST_MEETING_LEAD
        next_meeting = first_slot(now, weekday, at, self.tz, lead)
        if held:
            # Week held+1 is at next_meeting; count back so that meeting_at() stays consistent.
            day = next_meeting.date() - dt.timedelta(weeks=held)
            self.start = dt.datetime.combine(day, at, tzinfo=self.tz)
        else:
            self.start = next_meeting
        self.last_reminded_week = held
        return TimeSet(held + 1, next_meeting, self.schedule()[held:])

    def due_reminder(
        self,
        now: dt.datetime,
        lead: dt.timedelta = dt.timedelta(0),
        grace: dt.timedelta = DEFAULT_REMINDER_GRACE,
    ) -> int | None:
        """The week whose reminder is due now, if any. A reminder missed by more than
        ``grace`` (bot offline) is skipped rather than posted late."""
        if self.ended or self.start is None:
            return None
        due = None
        for week in range(self.last_reminded_week + 1, WEEKS + 1):
            at = self.meeting_at(week) - lead
            if at > now:
                break
            if now < at + grace:
                due = week
        return due

    def next_wakeup(
        self, now: dt.datetime, lead: dt.timedelta = dt.timedelta(0)
    ) -> dt.datetime | None:
        """When the shell should check :meth:`due_reminder` next."""
        if self.ended or self.start is None:
            return None
        for week in range(self.last_reminded_week + 1, WEEKS + 1):
            at = self.meeting_at(week) - lead
            if at > now:
                return at
        return None

    def mark_reminded(self, week: int) -> None:
        self.last_reminded_week = max(self.last_reminded_week, week)

    def end(self, now: dt.datetime, actor: str, moderator: bool = False) -> CircleEnded | Rejected:
        """``!wol ende``: members or moderators close the circle (early closing is fine)."""
        if self.ended:
            return reject("circle_ended")
        if actor not in self.members and not moderator:
            return reject("not_member")
        self.ended_at = now
        return CircleEnded(self.meetings_held(now))

    def to_dict(self) -> dict[str, Any]:
        return {
            "circle_id": self.circle_id,
            "members": list(self.members),
            "formed_at": self.formed_at.isoformat(),
            "timezone": self.timezone,
            "room_id": self.room_id,
            "start": self.start.isoformat() if self.start else None,
            "last_reminded_week": self.last_reminded_week,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Circle:
        try:
            return cls(
                circle_id=str(data["circle_id"]),
                members=[str(m) for m in data["members"]],
                formed_at=_parse_dt(data["formed_at"]),
                timezone=str(data["timezone"]),
                room_id=data["room_id"],
                start=_parse_dt(data["start"]) if data["start"] else None,
                last_reminded_week=int(data["last_reminded_week"]),
                ended_at=_parse_dt(data["ended_at"]) if data["ended_at"] else None,
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed circle state: {exc!r}") from exc


def _parse_dt(value: Any) -> dt.datetime:
    moment = dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError("timezone-aware datetime required")
    return moment
