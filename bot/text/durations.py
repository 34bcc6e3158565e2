"""Durations typed in chat ("90", "1h 30m", "1,5 h", "2 Tage", "4w"): the one parser, its wording.

Owns the vocabulary of duration units in German and English, the rule that a bare number means
minutes (for every command alike), and the bounds: whatever a caller allows, nothing longer than
:data:`LONGEST` comes out, so ``now + duration`` can never overflow ``datetime``. Amounts are
computed exactly (``Fraction``) and rounded to whole seconds.
"""

from __future__ import annotations

import re
from datetime import timedelta
from fractions import Fraction
from typing import Any

from bot.text.i18n import Texts
from bot.text.problems import ParseProblem, shorten

LONGEST = timedelta(weeks=5200)  # a century: beyond any setting, far below datetime.max - now
MAX_INPUT = 100  # characters; longer text is no duration anybody types

_SECOND, _MINUTE, _HOUR, _DAY, _WEEK = 1, 60, 3600, 86400, 604800
_UNITS: dict[str, int] = {
    **dict.fromkeys(("s", "sek", "sekunde", "sekunden", "sec", "second", "seconds"), _SECOND),
    **dict.fromkeys(("m", "min", "mins", "minute", "minuten", "minutes"), _MINUTE),
    **dict.fromkeys(("h", "std", "stunde", "stunden", "hour", "hours", "hr", "hrs"), _HOUR),
    **dict.fromkeys(("d", "t", "tag", "tage", "tagen", "day", "days"), _DAY),
    **dict.fromkeys(("w", "wo", "woche", "wochen", "week", "weeks", "wk", "wks"), _WEEK),
}
# One amount with its unit ("1,5 h", "30m", "2 Std."); ASCII digits only.
_PART = re.compile(r"([0-9]+(?:[.,][0-9]+)?)\s*([^\W\d_]+)\.?")
_BARE = re.compile(r"[0-9]+(?:[.,][0-9]+)?")
# What may stand between two parts: "1h 30m", "1h und 30m", "1h, 30m", "1h + 30m".
_JOINER = re.compile(r"\s*(?:(?:,|\+|und|and)\s*)?")
_MAX_DIGITS = 15  # of an amount's whole part; every bound here is far below 10^15 seconds


def parse_duration(
    text: str, *, minimum: timedelta | None = None, maximum: timedelta | None = None
) -> timedelta:
    """ "90" (minutes), "90m", "90 min", "1h 30m", "1 Stunde und 30 Minuten", "1,5 h", "2 Tage",
    "4w", "2 Wochen", "3d", "45s" → timedelta, within ``minimum``…``maximum`` (both inclusive).

    Raises :class:`ParseProblem` (``parse.duration.missing``/``invalid``) for empty or unreadable
    text, :class:`DurationOutOfRange` for a duration outside the bounds or beyond :data:`LONGEST`.
    """
    cleaned = text.strip().casefold()
    if not cleaned:
        raise ParseProblem("parse.duration.missing")
    if len(cleaned) > MAX_INPUT:
        raise ParseProblem("parse.duration.invalid", value=shorten(text))
    seconds = _bare_minutes(cleaned)
    if seconds is None:
        seconds = _with_units(cleaned, text)
    if seconds > int(LONGEST.total_seconds()):
        raise DurationOutOfRange(text, minimum, maximum or LONGEST)
    duration = timedelta(seconds=seconds)
    if (minimum is not None and duration < minimum) or (maximum is not None and duration > maximum):
        raise DurationOutOfRange(text, minimum, maximum)
    return duration


def _bare_minutes(cleaned: str) -> int | None:
    if not _BARE.fullmatch(cleaned):
        return None
    return _seconds(cleaned, _MINUTE)


def _with_units(cleaned: str, text: str) -> int:
    """Sum of "amount unit" parts, optionally joined by "und"/"and"/","/"+"."""
    seconds, position = 0, 0
    for match in _PART.finditer(cleaned):
        gap = cleaned[position : match.start()]
        if (gap if position == 0 else not _JOINER.fullmatch(gap)) or match.group(2) not in _UNITS:
            raise ParseProblem("parse.duration.invalid", value=shorten(text))
        seconds += _seconds(match.group(1), _UNITS[match.group(2)])
        position = match.end()
    if position == 0 or cleaned[position:].strip():
        raise ParseProblem("parse.duration.invalid", value=shorten(text))
    return seconds


def _seconds(amount: str, unit: int) -> int:
    whole = amount.replace(",", ".").partition(".")[0]
    if len(whole.lstrip("0")) > _MAX_DIGITS:
        return int(LONGEST.total_seconds()) + 1  # out of range, without computing with it
    return round(Fraction(amount.replace(",", ".")) * unit)


class DurationOutOfRange(ParseProblem):
    """A readable duration outside the allowed range; the bounds are worded for the reader."""

    def __init__(self, text: str, minimum: timedelta | None, maximum: timedelta | None) -> None:
        if minimum is not None and maximum is not None:
            key = "parse.duration.range"
        elif minimum is not None:
            key = "parse.duration.too_short"
        else:
            key = "parse.duration.too_long"
        super().__init__(key, value=shorten(text), min=minimum, max=maximum)

    def _shown(self, texts: Texts) -> dict[str, Any]:
        return {
            name: format_duration(value, texts) if isinstance(value, timedelta) else value
            for name, value in self.params.items()
        }


def format_duration(duration: timedelta, texts: Texts) -> str:
    """timedelta → "1 Stunde 30 Minuten", "2 Wochen", "45 Sekunden" (largest units first)."""
    rest = int(duration.total_seconds())
    parts: list[str] = []
    for name, size in (("week", _WEEK), ("day", _DAY), ("hour", _HOUR), ("minute", _MINUTE)):
        amount, rest = divmod(rest, size)
        if amount:
            parts.append(_unit(texts, name, amount))
    if rest or not parts:
        parts.append(_unit(texts, "second", rest))
    return " ".join(parts)


def _unit(texts: Texts, name: str, amount: int) -> str:
    return texts(f"parse.unit.{name}_{'one' if amount == 1 else 'other'}", n=amount).plain
