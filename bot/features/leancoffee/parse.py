"""Reading ``!lc …`` arguments: the sub-commands (German and English words) and start options.

Everything after ``!lc`` becomes an :class:`LcCommand`, or a :class:`~bot.outcome.Rejected`
that explains in the reader's language what could not be read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.features.leancoffee.model import (
    DEFAULT_DOTS,
    DEFAULT_EXTENSION_SECONDS,
    DEFAULT_TIMEBOX_SECONDS,
    DOTS_RANGE,
    EXTENSION_RANGE_SECONDS,
    TIMEBOX_RANGE_SECONDS,
    LeanCoffeeSettings,
)
from bot.features.leancoffee.outcomes import reject
from bot.outcome import Rejected
from bot.text.bounds import NotANumber, OutOfRange, bounded_int
from bot.text.durations import parse_duration
from bot.text.problems import ParseProblem, shorten


class LcAction(StrEnum):
    START = "start"
    TOPIC = "topic"
    VOTE = "vote"
    DOT = "dot"
    NEXT = "next"
    NOTE = "note"
    END = "end"
    BOARD = "board"
    YES = "yes"  # extension vote by command
    NO = "no"
    HELP = "help"


_SUBCOMMANDS: dict[str, LcAction] = {
    "start": LcAction.START,
    "starten": LcAction.START,
    "thema": LcAction.TOPIC,
    "topic": LcAction.TOPIC,
    "abstimmen": LcAction.VOTE,
    "abstimmung": LcAction.VOTE,
    "vote": LcAction.VOTE,
    "punkt": LcAction.DOT,
    "punkte": LcAction.DOT,
    "dot": LcAction.DOT,
    "dots": LcAction.DOT,
    "weiter": LcAction.NEXT,
    "next": LcAction.NEXT,
    "notiz": LcAction.NOTE,
    "note": LcAction.NOTE,
    "ende": LcAction.END,
    "beenden": LcAction.END,
    "end": LcAction.END,
    "board": LcAction.BOARD,
    "tafel": LcAction.BOARD,
    "stand": LcAction.BOARD,
    "ja": LcAction.YES,
    "yes": LcAction.YES,
    "verlaengern": LcAction.YES,
    "verlängern": LcAction.YES,
    "nein": LcAction.NO,
    "no": LcAction.NO,
    "hilfe": LcAction.HELP,
    "help": LcAction.HELP,
}

_OPTIONS = {
    "punkte": "dots",
    "points": "dots",
    "dots": "dots",
    "zeit": "timebox",
    "time": "timebox",
    "timebox": "timebox",
    "verlaengerung": "extension",
    "verlängerung": "extension",
    "extension": "extension",
}

_TOPIC_REF = re.compile(r"^#?(\d{1,3})[.:)]?$")


@dataclass(frozen=True)
class LcCommand:
    action: LcAction
    settings: LeanCoffeeSettings | None = None  # START
    text: str = ""  # TOPIC, NOTE
    topic_no: int | None = None  # DOT, NOTE (optional)
    count: int = 1  # DOT: negative takes dots back


def _normalise_dashes(token: str) -> str:
    # Phones turn "--" into an en or em dash; accept what people actually send.
    for dash in ("—", "–", "−"):
        if token.startswith(dash):
            return "--" + token.lstrip(dash)
    return token


def parse_start_options(tokens: list[str]) -> LeanCoffeeSettings | Rejected:
    values: dict[str, int] = {}
    i = 0
    while i < len(tokens):
        token = _normalise_dashes(tokens[i])
        if not token.startswith("--"):
            return reject("option_unknown", option=shorten(tokens[i]))
        name, _, inline = token[2:].partition("=")
        option = _OPTIONS.get(name.casefold())
        if option is None:
            return reject("option_unknown", option=shorten(tokens[i]))
        if inline:
            raw = inline
        elif i + 1 < len(tokens):
            i += 1
            raw = tokens[i]
        else:
            return reject("option_missing_value", option=f"--{name}")
        problem = _apply_option(values, option, f"--{name}", raw)
        if problem is not None:
            return problem
        i += 1
    return LeanCoffeeSettings(
        dots_per_person=values.get("dots", DEFAULT_DOTS),
        timebox_seconds=values.get("timebox", DEFAULT_TIMEBOX_SECONDS),
        extension_seconds=values.get("extension", DEFAULT_EXTENSION_SECONDS),
    )


def _apply_option(values: dict[str, int], option: str, shown: str, raw: str) -> Rejected | None:
    if option == "dots":
        low, high = DOTS_RANGE
        try:
            values[option] = bounded_int(raw, low, high)
        except ValueError:
            return reject("dots_invalid", value=shorten(raw), min=low, max=high)
        return None
    try:  # a bare number means minutes, as everywhere
        seconds = int(parse_duration(raw).total_seconds())
    except ParseProblem:
        return reject("duration_invalid", option=shown, value=shorten(raw))
    low, high = TIMEBOX_RANGE_SECONDS if option == "timebox" else EXTENSION_RANGE_SECONDS
    if not low <= seconds <= high:
        return reject("duration_range", option=shown, min=low // 60, max=high // 60)
    values[option] = seconds
    return None


def _parse_topic_ref(token: str) -> int | None:
    match = _TOPIC_REF.match(token)
    return int(match.group(1)) if match else None


def parse_command(args: str) -> LcCommand | Rejected:
    """Parse everything after ``!lc`` / ``!leancoffee``."""
    args = args.strip()
    if not args:
        return LcCommand(LcAction.HELP)
    head, _, rest = args.partition(" ")
    rest = rest.strip()
    action = _SUBCOMMANDS.get(head.casefold())
    if action is None:
        return reject("unknown_subcommand", name=shorten(head))
    if action is LcAction.START:
        settings = parse_start_options(rest.split())
        if isinstance(settings, Rejected):
            return settings
        return LcCommand(action, settings=settings)
    if action is LcAction.TOPIC:
        if not rest:
            return reject("topic_empty")
        return LcCommand(action, text=rest)
    if action is LcAction.DOT:
        return _parse_dot(rest)
    if action is LcAction.NOTE:
        return _parse_note(rest)
    if rest and action is not LcAction.HELP:
        return reject("unexpected_argument", name=shorten(head), argument=shorten(rest))
    return LcCommand(action)


def _parse_dot(rest: str) -> LcCommand | Rejected:
    tokens = rest.split()
    if not tokens:
        return reject("topic_number_missing")
    if len(tokens) > 2:
        return reject("unexpected_argument", name="punkt", argument=" ".join(tokens[2:]))
    number = _parse_topic_ref(tokens[0])
    if number is None:
        return reject("topic_number_invalid", value=shorten(tokens[0]))
    count = 1
    if len(tokens) == 2:
        raw = tokens[1].lstrip("x×*")
        raw = _normalise_dashes(raw).replace("--", "-")
        try:
            count = bounded_int(raw, -DOTS_RANGE[1], DOTS_RANGE[1], signed=True)
        except OutOfRange as exc:
            return reject("dots_invalid", value=exc.value, min=DOTS_RANGE[0], max=DOTS_RANGE[1])
        except NotANumber:
            return reject("dots_count_invalid")
        if count == 0:
            return reject("dots_count_invalid")
    return LcCommand(LcAction.DOT, topic_no=number, count=count)


def _parse_note(rest: str) -> LcCommand | Rejected:
    head, _, tail = rest.partition(" ")
    if head.startswith("#"):
        number = _parse_topic_ref(head)
        if number is None:
            return reject("topic_number_invalid", value=head)
        rest = tail.strip()
        if not rest:
            return reject("note_empty")
        return LcCommand(LcAction.NOTE, text=rest, topic_no=number)
    if not rest:
        return reject("note_empty")
    return LcCommand(LcAction.NOTE, text=rest)
