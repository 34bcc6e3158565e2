"""Bounded whole numbers typed in chat: the one way command parsers turn digits into an int.

Every number a user types has a range, checked where it is parsed, so nothing unbounded reaches
SQLite (64-bit INTEGER) or ``datetime``. Only ASCII digits count ("²", "٣" or "1_000" are no
number), and thousands of digits are refused without calling ``int()`` on them (Python refuses
more than 4,300 digits with a ValueError of its own). The ranges live next to each parser;
the shared ones are here.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_DIGITS = 15  # every range here ends far below 10^15; longer input is out of range as it is
POLL_NUMBERS = (1, 999_999_999)  # poll IDs are SQLite row IDs; nobody runs a billion polls
MAX_PAUSE_DAYS = 2 * 366  # "pause until": two years ahead at most


class NotANumber(ValueError):
    """The text is not a whole number (only ASCII digits, optionally signed, count)."""


@dataclass(frozen=True)
class OutOfRange(ValueError):
    """A whole number outside ``low``…``high``; ``value`` is the text as typed (shortened)."""

    value: str
    low: int
    high: int

    def params(self) -> dict[str, object]:
        """For locale texts that name the range: ``{value}``, ``{low}``, ``{high}``."""
        return {"value": self.value, "low": self.low, "high": self.high}


def bounded_int(text: str, low: int, high: int, *, signed: bool = False) -> int:
    """``text`` as an int in ``low``…``high``; NotANumber or OutOfRange otherwise."""
    raw = text.strip()
    sign = 1
    if signed and raw[:1] in ("-", "+"):
        sign = -1 if raw[0] == "-" else 1
        raw = raw[1:]
    if not raw or not raw.isascii() or not raw.isdigit():
        raise NotANumber(text)
    digits = raw.lstrip("0") or "0"
    shown = text.strip() if len(text.strip()) <= 30 else text.strip()[:29] + "…"
    if len(digits) > MAX_DIGITS:
        raise OutOfRange(shown, low, high)
    value = sign * int(digits)
    if not low <= value <= high:
        raise OutOfRange(shown, low, high)
    return value


def bounded_float(text: str, high: float) -> float:
    """A decimal amount ("1,5", "90") of at most ``high``; NotANumber or OutOfRange otherwise.

    For durations: a float from thousands of digits is infinity, and rounding it raises.
    """
    whole, _, fraction = text.strip().replace(",", ".").partition(".")
    if not whole.isascii() or not whole.isdigit() or not (fraction.isdigit() or not fraction):
        raise NotANumber(text)
    if len(whole.lstrip("0")) > MAX_DIGITS or float(f"{whole}.{fraction or 0}") > high:
        raise OutOfRange(text.strip()[:30], 0, int(high))
    return float(f"{whole}.{fraction or 0}")
