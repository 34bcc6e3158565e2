"""When impulses are posted (the slot rules): subscription specs, slots and the catch-up decision.

Everything here is pure: the caller injects ``now``/``after`` and the time zone, so the posting loop
can be tested with a fake clock and behaves the same after restarts.

Terms:
- *schedule*: weekdays plus one local wall-clock time, e.g. Mo–Fr 09:00.
- *slot*: one concrete posting moment, an aware datetime in the room's time zone. A slot is
  identified by :func:`slot_key` (local date and time, e.g. ``"2026-11-26T09:00"``), which is
  stable across restarts and therefore usable in a Matrix transaction ID for exactly-once posting.

Comparisons are always made on UTC instants: Python compares and subtracts two datetimes that
share a ``tzinfo`` by wall-clock time and ignores ``fold``, which gets DST days wrong. Callers
computing e.g. a sleep duration should do ``slot.astimezone(UTC) - now.astimezone(UTC)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple
from zoneinfo import ZoneInfo

from bot.features.impulses.public_holidays import is_holiday, normalize_state
from bot.text.weekdays import WORKDAYS, parse_weekly

UTC = dt.UTC
DEFAULT_WEEKDAYS = WORKDAYS  # Mon–Fri, Python numbering (0 = Monday)
DEFAULT_TIME = dt.time(9, 0)
DEFAULT_CATCH_UP = dt.timedelta(hours=2)


# --------------------------------------------------------------------------------------------
# Schedule and its parser
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Schedule:
    """Post on these weekdays (0 = Monday) at this local wall-clock time."""

    weekdays: frozenset[int] = DEFAULT_WEEKDAYS
    time: dt.time = DEFAULT_TIME

    def __post_init__(self) -> None:
        if not self.weekdays or not self.weekdays <= frozenset(range(7)):
            raise ValueError(f"weekdays must be a non-empty subset of 0..6, got {self.weekdays}")
        if self.time.tzinfo is not None or self.time.second or self.time.microsecond:
            raise ValueError("time must be a naive wall-clock time in whole minutes")

    @property
    def spec(self) -> str:
        """Canonical text form that :func:`parse_schedule` accepts (to store a subscription)."""
        return f"{_german_days_spec(self.weekdays)} {self.time:%H:%M}"


def parse_schedule(text: str) -> Schedule:
    """A schedule as people type it, read by :func:`bot.text.weekdays.parse_weekly` ("Mo-Fr 9:00",
    "dienstags 10 Uhr", "täglich", "9:30" …); without days Mo–Fr, without a time 09:00.

    Raises :class:`bot.text.problems.ParseProblem`.
    """
    weekly = parse_weekly(text)
    time = DEFAULT_TIME if weekly.at is None else weekly.at
    return Schedule(weekly.days or DEFAULT_WEEKDAYS, time)


# --------------------------------------------------------------------------------------------
# Days as runs ("Mo-Fr"), for the stored spec and for people
# --------------------------------------------------------------------------------------------


def _runs(weekdays: frozenset[int]) -> list[tuple[int, int]]:
    """Consecutive runs of days as (first, last), wrapping over Sunday→Monday."""
    if len(weekdays) == 7:
        return [(0, 6)]
    # Start right after a gap so that a run like Fr–Mo stays in one piece.
    start = next(d for d in range(7) if d in weekdays and (d - 1) % 7 not in weekdays)
    runs: list[tuple[int, int]] = []
    for offset in range(7):
        day = (start + offset) % 7
        if day not in weekdays:
            continue
        if runs and (runs[-1][1] + 1) % 7 == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return sorted(runs, key=lambda run: run[0])


def days_text(weekdays: frozenset[int], name: Callable[[int], str], dash: str) -> list[str]:
    """Runs of three or more days as "first<dash>last", shorter runs day by day."""
    parts: list[str] = []
    for first, last in _runs(weekdays):
        length = (last - first) % 7 + 1
        if length >= 3:
            parts.append(f"{name(first)}{dash}{name(last)}")
        else:
            parts.extend(name((first + i) % 7) for i in range(length))
    return parts


def _german_days_spec(weekdays: frozenset[int]) -> str:
    if len(weekdays) == 7:
        return "täglich"
    names = ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So")
    return ",".join(days_text(weekdays, lambda d: names[d], "-"))


# --------------------------------------------------------------------------------------------
# Slots
# --------------------------------------------------------------------------------------------


def require_aware(value: dt.datetime, name: str) -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    return value


def local_slot(day: dt.date, time: dt.time, tz: ZoneInfo) -> dt.datetime:
    """The instant of wall-clock ``time`` on ``day`` in ``tz``.

    A time that does not exist (skipped by the spring-forward change, e.g. 02:30) is moved forward
    by the length of the gap (→ 03:30), as java.time and dateutil do; a time that occurs twice
    (autumn) means its first occurrence, so the slot happens once.
    """
    # fold=0 picks the offset valid before a transition: the earlier of two ambiguous instants,
    # and for a gap an instant one gap-length after the requested wall time.
    naive_local = dt.datetime.combine(day, time).replace(tzinfo=tz, fold=0)
    return naive_local.astimezone(UTC).astimezone(tz)


def _slot_days(
    schedule: Schedule,
    first_day: dt.date,
    pause_until: dt.date | None,
    holidays_state: str | None,
) -> Iterator[dt.date]:
    """Days with a slot from ``first_day`` on (endless), leaving out pauses and holidays."""
    one_day = dt.timedelta(days=1)
    day = first_day
    if pause_until is not None and day <= pause_until:
        if pause_until >= dt.date.max - one_day:
            return  # paused "forever"
        day = pause_until + one_day
    state = normalize_state(holidays_state) if holidays_state else None
    while day < dt.date.max:
        if day.weekday() in schedule.weekdays and not is_holiday(day, state):
            yield day
        day += one_day


def next_slots(
    schedule: Schedule,
    tz: ZoneInfo,
    after: dt.datetime,
    count: int,
    *,
    pause_until: dt.date | None = None,
    holidays_state: str | None = None,
) -> list[dt.datetime]:
    """The next ``count`` slots strictly after ``after``, as aware datetimes in ``tz``.

    Days up to and including ``pause_until`` and public holidays of ``holidays_state`` (e.g. "NW")
    have no slot.
    """
    after_utc = require_aware(after, "after").astimezone(UTC)
    first_day = after_utc.astimezone(tz).date()
    found: list[dt.datetime] = []
    if count <= 0:
        return found
    for day in _slot_days(schedule, first_day, pause_until, holidays_state):
        slot = local_slot(day, schedule.time, tz)
        if slot.astimezone(UTC) > after_utc:
            found.append(slot)
            if len(found) == count:
                break
    return found


def slots_between(
    schedule: Schedule,
    tz: ZoneInfo,
    start: dt.datetime,
    end: dt.datetime,
    *,
    pause_until: dt.date | None = None,
    holidays_state: str | None = None,
) -> list[dt.datetime]:
    """All slots in the half-open interval (start, end], oldest first."""
    start_utc = require_aware(start, "start").astimezone(UTC)
    end_utc = require_aware(end, "end").astimezone(UTC)
    found: list[dt.datetime] = []
    if end_utc <= start_utc:
        return found
    first_day = start_utc.astimezone(tz).date()
    for day in _slot_days(schedule, first_day, pause_until, holidays_state):
        slot = local_slot(day, schedule.time, tz)
        instant = slot.astimezone(UTC)
        if instant > end_utc:
            break
        if instant > start_utc:
            found.append(slot)
    return found


def slot_key(slot: dt.datetime, tz: ZoneInfo) -> str:
    """Stable identity of a slot: local date and time, e.g. ``"2026-11-26T09:00"``.

    Deterministic for the slots this module computes (at most one per local day), so it can go into
    a Matrix transaction ID: a retried send of the same slot is deduplicated by the homeserver.
    """
    return f"{require_aware(slot, 'slot').astimezone(tz):%Y-%m-%dT%H:%M}"


def parse_slot_key(key: str, tz: ZoneInfo) -> dt.datetime:
    """Inverse of :func:`slot_key` for this module's slots (first occurrence if ambiguous)."""
    naive = dt.datetime.strptime(key, "%Y-%m-%dT%H:%M")
    return local_slot(naive.date(), naive.time(), tz)


class DueDecision(NamedTuple):
    """What the posting loop should do now: post ``slot`` (if any); ``skipped`` are for the log."""

    slot: dt.datetime | None
    skipped: list[dt.datetime]


def due_slot(
    schedule: Schedule,
    tz: ZoneInfo,
    last_slot_done: dt.datetime | None,
    now: dt.datetime,
    catch_up: dt.timedelta = DEFAULT_CATCH_UP,
    *,
    pause_until: dt.date | None = None,
    holidays_state: str | None = None,
) -> DueDecision:
    """Decide which slot to post now, e.g. after downtime.

    Missed slots are those after ``last_slot_done`` and at or before ``now``. The most recent one
    is posted if it is at most ``catch_up`` old; all older missed slots (and the most recent one if
    it is too old) are returned as ``skipped``. Never returns a future slot or one at/before
    ``last_slot_done``.

    ``last_slot_done`` is a watermark: pass the last slot posted in the room, or for a new
    subscription the moment of subscribing (nothing before it is due). ``None`` means "unknown":
    only a slot within the catch-up window counts, and nothing is reported as skipped.
    """
    now_utc = require_aware(now, "now").astimezone(UTC)
    window_start = now_utc - catch_up
    if last_slot_done is None:
        start = window_start - dt.timedelta(microseconds=1)  # a slot exactly catch_up old counts
    else:
        start = require_aware(last_slot_done, "last_slot_done").astimezone(UTC)
    missed = slots_between(
        schedule, tz, start, now_utc, pause_until=pause_until, holidays_state=holidays_state
    )
    if not missed:
        return DueDecision(None, [])
    latest = missed[-1]
    if latest.astimezone(UTC) >= window_start:
        return DueDecision(latest, missed[:-1])
    return DueDecision(None, missed)
