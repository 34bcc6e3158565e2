"""Weekdays and clock times typed in chat ("Mo-Fr 9:00", "dienstags 10 Uhr", "mon, thu 9am").

Owns the German and English names of the days (short, long, "montags"/"mondays"), the day
groups ("werktags", "täglich", "Wochenende"), ranges ("Mo-Fr", "Mo bis Fr", wrapping "Fr-Mo"),
lists ("Mo, Mi", "montags und donnerstags") and clock times ("9", "9:30", "14.30", "10 Uhr",
"14 Uhr 30", "9am"). Days are numbered as Python does: 0 = Monday … 6 = Sunday. Errors are
:class:`ParseProblem` with ``parse.*`` texts that quote the user's own spelling.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time

from bot.text.problems import ParseProblem, shorten

EVERY_DAY = frozenset(range(7))
WORKDAYS = frozenset(range(5))
WEEKEND = frozenset({5, 6})
MAX_INPUT = 200  # characters; a schedule is a few words

_NAMES = (
    ("mo", "mon", "montag", "monday", "montags", "mondays"),
    ("di", "tu", "tue", "tues", "dienstag", "tuesday", "dienstags", "tuesdays"),
    ("mi", "wed", "mittwoch", "wednesday", "mittwochs", "wednesdays"),
    ("do", "th", "thu", "thur", "thurs", "donnerstag", "thursday", "donnerstags", "thursdays"),
    ("fr", "fri", "freitag", "friday", "freitags", "fridays"),
    ("sa", "sat", "samstag", "saturday", "samstags", "saturdays", "sonnabend", "sonnabends"),
    ("so", "sun", "sonntag", "sunday", "sonntags", "sundays"),
)
_DAYS = {name: day for day, names in enumerate(_NAMES) for name in names}
_GROUPS = {
    **dict.fromkeys(("täglich", "taeglich", "tägl", "daily"), EVERY_DAY),
    **dict.fromkeys(("werktags", "wochentags", "werktäglich", "weekdays", "workdays"), WORKDAYS),
    **dict.fromkeys(("wochenende", "wochenendes", "weekend", "weekends"), WEEKEND),
}
# Words people put in between ("Mo und Mi um 9 Uhr", "every monday at 9") that mean nothing here.
_FILLER = frozenset(
    ("um", "at", "und", "and", "ab", "am", "an", "on", "von", "from", "jeden", "jede", "jedem",
     "every", "each", "immer", "jeweils", "the", "den", "der")
)  # fmt: skip
_EVERY_DAY_PHRASE = re.compile(r"\b(?:jeden|alle)\s+tage?\b|\bevery\s*day\b", re.I)
_MERIDIEM = re.compile(r"\b([ap])\.\s?m\.?", re.I)
_RANGE_WORD = re.compile(r"\s+(?:bis|to|through|thru|until)\s+", re.I)
_CLOCK_SUFFIX = re.compile(r"([0-9])\s+(uhr|h|am|pm)\b(?:\s+([0-9]{2})\b)?", re.I)
_CLOCK = re.compile(
    r"(?P<hour>[0-9]{1,2})(?:[:.](?P<minute>[0-9]{2}))?"
    r"(?:(?P<uhr>uhr|h)(?P<after>[0-9]{2})?|(?P<meridiem>am|pm))?"
)


@dataclass(frozen=True)
class Weekly:
    """Days of the week (0 = Monday; empty when none was named) and a time (None when none)."""

    days: frozenset[int]
    at: time | None = None

    def __post_init__(self) -> None:
        if not self.days <= EVERY_DAY:
            raise ValueError(f"days must be a subset of 0..6, got {sorted(self.days)}")
        if self.at is not None and (self.at.tzinfo or self.at.second or self.at.microsecond):
            raise ValueError("at must be a naive wall-clock time in whole minutes")


def parse_weekly(text: str) -> Weekly:
    """ "Mo-Fr 9:00", "dienstags 10 Uhr", "montags und donnerstags", "Di 14:30", "mon, thu 9am".

    Both parts are optional and may come in any order: ``days`` is empty when no day is named and
    ``at`` is None when no time is given, so each caller applies its own defaults or asks for the
    missing part. Raises :class:`ParseProblem` for unknown words, broken ranges, invalid times and
    two different times.
    """
    if len(text) > MAX_INPUT:
        raise ParseProblem("parse.weekly.unknown", token=shorten(text))
    days: set[int] = set()
    at: time | None = None
    at_token = ""
    for token in _tokens(text):
        if token[0].isdigit():
            parsed = _clock(token)
            if at is not None and parsed != at:
                raise ParseProblem("parse.weekly.two_times", first=at_token, second=token)
            at, at_token = parsed, token
        else:
            days |= _days(token)
    return Weekly(frozenset(days), at)


def parse_weekday(text: str) -> int:
    """One day: "Di", "dienstag", "dienstags", "Tue", "tuesday" → 1. Raises ParseProblem."""
    day = _DAYS.get(text.strip().casefold().rstrip(".,"))
    if day is None:
        raise ParseProblem("parse.weekday.invalid", value=shorten(text))
    return day


def parse_clock(text: str) -> time:
    """A wall-clock time: "9", "09:30", "14.30", "10 Uhr", "14 Uhr 30", "9am", "2:30 pm"."""
    normal = _CLOCK_SUFFIX.sub(_join_suffix, _MERIDIEM.sub(r"\1m", text.strip()))
    normal = re.sub(r"^(?:um|at)\s+", "", normal, flags=re.I)
    if " " in normal or not normal[:1].isdigit():
        raise ParseProblem("parse.clock.invalid", value=shorten(text))
    return _clock(normal, shown=text)


def _join_suffix(match: re.Match[str]) -> str:
    return f"{match.group(1)}{match.group(2)}{match.group(3) or ''}"


def _tokens(text: str) -> list[str]:
    """Day and time tokens in the user's spelling (for error messages), fillers dropped."""
    normal = _EVERY_DAY_PHRASE.sub("täglich", re.sub(r"[–—−]", "-", text.strip()))
    normal = _MERIDIEM.sub(r"\1m", normal)
    normal = _RANGE_WORD.sub("-", normal)  # "Mo bis Fr" → "Mo-Fr"
    normal = re.sub(r"\s*-\s*", "-", normal)
    normal = _CLOCK_SUFFIX.sub(_join_suffix, normal)  # "10 Uhr", "14 Uhr 30", "9 am": one token
    parts = re.split(r"[\s,;/&+]+", normal)
    return [part for part in parts if part and part.casefold() not in _FILLER]


def _clock(token: str, *, shown: str | None = None) -> time:
    match = _CLOCK.fullmatch(token.casefold().rstrip("."))
    if match and not (match.group("minute") and match.group("after")):
        hour = int(match.group("hour"))
        minute = int(match.group("minute") or match.group("after") or 0)
        meridiem = match.group("meridiem")
        if meridiem:
            if not 1 <= hour <= 12:
                raise ParseProblem("parse.clock.invalid", value=shorten(shown or token))
            hour = hour % 12 + (12 if meridiem == "pm" else 0)
        if hour <= 23 and minute <= 59:
            return time(hour, minute)
    raise ParseProblem("parse.clock.invalid", value=shorten(shown or token))


def _days(token: str) -> frozenset[int]:
    folded = token.casefold().rstrip(".")
    if folded in _GROUPS:
        return _GROUPS[folded]
    if "-" not in folded:
        day = _DAYS.get(folded)
        if day is None:
            raise ParseProblem("parse.weekly.unknown", token=shorten(token))
        return frozenset({day})
    first_name, _, last_name = folded.partition("-")
    if not first_name or not last_name or "-" in last_name:
        raise ParseProblem("parse.weekly.range", token=shorten(token))
    first, last = _DAYS.get(first_name.rstrip(".")), _DAYS.get(last_name.rstrip("."))
    if first is None or last is None:
        raise ParseProblem("parse.weekly.unknown", token=shorten(token))
    # Ranges may wrap over the weekend: "Fr-Mo" is Fr, Sa, So, Mo.
    return frozenset((first + offset) % 7 for offset in range((last - first) % 7 + 1))
