"""German public holidays per federal state: which days impulses skip, and their names."""

from __future__ import annotations

import datetime as dt
from functools import cache

import holidays


@cache
def normalize_state(state: str) -> str:
    """Federal state code: "nw" or "Nordrhein-Westfalen" → "NW"; ValueError if unknown."""
    value = state.strip()
    codes = {code.casefold(): code for code in holidays.Germany.subdivisions}
    aliases = {name.casefold(): code for name, code in _state_aliases().items()}
    found = codes.get(value.casefold()) or aliases.get(value.casefold())
    if found is None:
        valid = ", ".join(code for code in holidays.Germany.subdivisions if len(code) == 2)
        raise ValueError(f"unbekanntes Bundesland {state!r}; gültig sind: {valid}")
    return found


def _state_aliases() -> dict[str, str]:
    return dict(getattr(holidays.Germany, "subdivisions_aliases", {}))


@cache
def _holiday_calendar(state: str, language: str | None = None) -> holidays.HolidayBase:
    # The calendar fills in further years on demand, so one object per state is enough.
    return holidays.Germany(subdiv=state, language=language)


def is_holiday(day: dt.date, state: str | None) -> bool:
    """Is ``day`` a public holiday in this federal state? ``None`` means: never skip."""
    return state is not None and day in _holiday_calendar(normalize_state(state))


def holiday_name(day: dt.date, state: str, lang: str = "de") -> str | None:
    """Name of the public holiday on ``day`` in this state, in German or English, or None."""
    language = "de" if lang == "de" else "en_US"
    return _holiday_calendar(normalize_state(state), language).get(day)
