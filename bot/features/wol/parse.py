"""Parsing everything after ``!wol``: subcommand, department and the weekly slot."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.features.wol.render import reject
from bot.outcome import Rejected
from bot.text.problems import ParseProblem, shorten
from bot.text.weekdays import parse_clock, parse_weekday

MAX_DEPARTMENT_LENGTH = 60

_SUBCOMMANDS = {
    "an": "join",
    "mitmachen": "join",
    "join": "join",
    "aus": "leave",
    "leave": "leave",
    "suche": "list",
    "suchende": "list",
    "list": "list",
    "bilden": "form",
    "form": "form",
    "zeit": "time",
    "termin": "time",
    "time": "time",
    "woche": "week",
    "week": "week",
    "status": "week",
    "ende": "end",
    "beenden": "end",
    "end": "end",
    "hilfe": "help",
    "help": "help",
}


@dataclass(frozen=True)
class WolCommand:
    action: str  # join, leave, list, form, time, week, end, help
    department: str | None = None
    weekday: int | None = None
    at: dt.time | None = None


def parse_slot(text: str) -> tuple[int, dt.time] | Rejected:
    """'Di 14:00', 'dienstag 9.30', 'Tue 14 Uhr' → (weekday, time)."""
    tokens = text.split(maxsplit=1)
    if len(tokens) < 2:
        return reject("slot_missing")
    try:
        weekday = parse_weekday(tokens[0])
    except ParseProblem:
        return reject("weekday_invalid", value=shorten(tokens[0]))
    try:
        at = parse_clock(tokens[1])
    except ParseProblem:
        return reject("time_invalid", value=shorten(tokens[1]))
    return weekday, at


def parse_command(args: str) -> WolCommand | Rejected:
    """Parse everything after ``!wol``."""
    args = args.strip()
    if not args:
        return WolCommand("help")
    head, _, rest = args.partition(" ")
    action = _SUBCOMMANDS.get(head.casefold())
    if action is None:
        return reject("unknown_subcommand", name=head)
    rest = " ".join(rest.split())
    if action == "join":
        if len(rest) > MAX_DEPARTMENT_LENGTH:
            return reject("department_too_long", max=MAX_DEPARTMENT_LENGTH)
        return WolCommand("join", department=rest or None)
    if action in ("time", "form") and (rest or action == "time"):
        slot = parse_slot(rest)
        if isinstance(slot, Rejected):
            return slot
        return WolCommand(action, weekday=slot[0], at=slot[1])
    if rest and action != "help":
        return reject("unexpected_argument", name=head, argument=rest)
    return WolCommand(action)
