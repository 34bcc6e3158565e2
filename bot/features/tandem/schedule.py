"""When Kaffee-Tandem rounds fall: every few weeks on a fixed weekday and wall-clock time."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

FIRST_ROUND_GRACE = dt.timedelta(hours=12)


def interval_weeks(interval_seconds: int) -> int:
    """Rounds fall on a fixed weekday, so the interval is a whole number of weeks (≥ 1)."""
    return max(1, math.ceil(interval_seconds / (7 * 86400)))


def _slot_on_or_after(day: dt.date, weekday: int, at: dt.time, tz: ZoneInfo) -> dt.datetime:
    day = day + dt.timedelta(days=(weekday - day.weekday()) % 7)
    return dt.datetime.combine(day, at, tzinfo=tz)


def next_round_at(
    now: dt.datetime,
    interval_seconds: int,
    weekday: int,
    at: dt.time,
    tz: ZoneInfo,
    last_round: dt.datetime | None = None,
) -> dt.datetime:
    """When the next round is due, as an aware datetime in ``tz`` (wall-clock time, so DST
    changes do not shift it).

    Without a previous round: the next ``weekday`` at ``at`` from ``now`` on. Otherwise the first
    such slot at least the interval after the last round's date. A result ≤ ``now`` means the
    round is overdue (the bot was offline) and should run now, once.
    """
    aware(now)
    if last_round is None:
        slot = _slot_on_or_after(now.astimezone(tz).date(), weekday, at, tz)
        if slot < now:
            slot = _slot_on_or_after(slot.date() + dt.timedelta(days=1), weekday, at, tz)
        return slot
    aware(last_round)
    earliest = last_round.astimezone(tz).date() + dt.timedelta(
        weeks=interval_weeks(interval_seconds)
    )
    return _slot_on_or_after(earliest, weekday, at, tz)


def round_due(
    now: dt.datetime,
    interval_seconds: int,
    weekday: int,
    at: dt.time,
    tz: ZoneInfo,
    last_round: dt.datetime | None,
) -> bool:
    """Whether a round should run now. The very first round runs if its slot passed less than
    :data:`FIRST_ROUND_GRACE` ago (a bot started on a Tuesday waits for the next Monday)."""
    if last_round is None:
        local = now.astimezone(tz)
        back = (local.weekday() - weekday) % 7
        slot = dt.datetime.combine(local.date() - dt.timedelta(days=back), at, tzinfo=tz)
        if slot > now:
            slot = dt.datetime.combine(slot.date() - dt.timedelta(days=7), at, tzinfo=tz)
        return now - slot < FIRST_ROUND_GRACE
    return next_round_at(now, interval_seconds, weekday, at, tz, last_round) <= now


def aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timezone-aware datetime required")
    return moment
