"""German federal states as ``impulses.holidays_state`` names them: a code or the state's name."""

from __future__ import annotations

from functools import cache


@cache
def normalize_state(state: str) -> str:
    """Federal state code: "nw" or "Nordrhein-Westfalen" → "NW"; ValueError if unknown."""
    import holidays  # local: keeps config import-light

    value = state.strip()
    codes = {code.casefold(): code for code in holidays.Germany.subdivisions}
    aliases = getattr(holidays.Germany, "subdivisions_aliases", {})
    names = {name.casefold(): code for name, code in dict(aliases).items()}
    found = codes.get(value.casefold()) or names.get(value.casefold())
    if found is None:
        valid = ", ".join(code for code in holidays.Germany.subdivisions if len(code) == 2)
        raise ValueError(f"unbekanntes Bundesland {state!r}; gültig sind: {valid}")
    return found
