"""The twelve-week schedule of a Working Out Loud circle: its first slot, where it stands."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.config import WOL_WEEKS as WEEKS

DEFAULT_FIRST_MEETING_LEAD = dt.timedelta(days=1)
DEFAULT_REMINDER_GRACE = dt.timedelta(hours=2)

__all__ = ["WEEKS", "CircleState", "WeekStatus", "first_slot"]


def first_slot(
    now: dt.datetime,
    weekday: int,
    at: dt.time,
    tz: ZoneInfo,
    lead: dt.timedelta = DEFAULT_FIRST_MEETING_LEAD,
) -> dt.datetime:
    """The first ``weekday`` at ``at`` (local) that is at least ``lead`` after ``now``."""
    earliest = (now + lead).astimezone(tz)
    day = earliest.date() + dt.timedelta(days=(weekday - earliest.weekday()) % 7)
    slot = dt.datetime.combine(day, at, tzinfo=tz)
    if slot < earliest:
        slot = dt.datetime.combine(day + dt.timedelta(days=7), at, tzinfo=tz)
    return slot


class CircleState:
    NOT_SCHEDULED = "not_scheduled"
    UPCOMING = "upcoming"
    RUNNING = "running"
    FINISHED = "finished"  # all twelve meetings are behind it, not yet closed
    ENDED = "ended"


@dataclass(frozen=True)
class WeekStatus:
    state: str
    week: int  # meetings held so far (0–12)
    next_week: int | None
    next_meeting: dt.datetime | None
