"""Which days a report covers: "30", "4 wochen", "quartal", "alle" — and when the digest is due.

A bare number means days here (the gap report's unit since its first version); months, quarters
and years are named periods of this feature only. Weeks and days are read by the shared duration
parser, so "2 Wochen", "14d" and "14 Tage" mean what they mean everywhere else.
"""

from __future__ import annotations

import datetime as dt
import re

from bot.text.durations import parse_duration
from bot.text.german import fold
from bot.text.problems import ParseProblem

DEFAULT_PERIOD_DAYS = 30
MAX_PERIOD_DAYS = 5 * 366


class PeriodError(ValueError):
    """The period after ``!angebot lücken`` cannot be read."""


_ALL = frozenset({"alle", "all", "gesamt", "immer"})
_NAMED_PERIODS = {"quartal": 91, "quarter": 91, "halbjahr": 182}
# Calendar units the shared duration parser leaves out on purpose (their length varies); a report
# period may round them. "m" is a month here, as it always was for this command.
_LONG_UNITS = {
    **dict.fromkeys(("m", "monat", "monate", "monaten", "month", "months"), 30),
    **dict.fromkeys(("j", "jahr", "jahre", "jahren", "y", "year", "years"), 365),
}
_LONG = re.compile(r"(?P<number>[0-9]{1,4})?\s*(?P<unit>[a-z]+)")
_DAY = dt.timedelta(days=1)


def parse_period(text: str) -> int | None:
    """Days covered by "30", "30d", "4 wochen", "monat", "quartal", "jahr"; None for "alle"/"all".
    Empty text means the default of 30 days. Raises PeriodError for anything else."""
    value = fold(text.strip())
    if not value:
        return DEFAULT_PERIOD_DAYS
    if value in _ALL:
        return None
    if value in _NAMED_PERIODS:
        return _NAMED_PERIODS[value]
    match = _LONG.fullmatch(value)
    if match and match.group("unit") in _LONG_UNITS:
        days = int(match.group("number") or 1) * _LONG_UNITS[match.group("unit")]
    else:
        days = _whole_days(value, text)
    if not 1 <= days <= MAX_PERIOD_DAYS:
        raise PeriodError(text)
    return days


def _whole_days(value: str, text: str) -> int:
    if value.isascii() and value.isdigit():
        value += "d"  # a bare number counts days in a report period
    elif not any(char.isdigit() for char in value):
        value = "1 " + value  # "woche" alone is one week
    try:
        duration = parse_duration(value, minimum=_DAY, maximum=MAX_PERIOD_DAYS * _DAY)
    except ParseProblem:
        raise PeriodError(text) from None
    if duration % _DAY:
        raise PeriodError(text)  # a report covers whole days
    return duration.days


def period_start(today: dt.date, days: int | None) -> str | None:
    """First day (inclusive) of a period of ``days`` days ending today."""
    return None if days is None else (today - dt.timedelta(days=days - 1)).isoformat()


# --- weekly digest ------------------------------------------------------------------------------

DIGEST_HOUR = 8


def iso_week(day: dt.datetime) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def digest_due(local_now: dt.datetime) -> bool:
    """From Monday 08:00 on (local time) the digest of the week is due."""
    monday = (local_now - dt.timedelta(days=local_now.weekday())).replace(
        hour=DIGEST_HOUR, minute=0, second=0, microsecond=0
    )
    return local_now >= monday
