"""The ``--options`` of ``!umfrage``, wherever they stand: ``--mehrfach[=N]``, ``--verdeckt``,
``--anonym``, ``--dauer 30m`` (and their English names); durations via the shared parser.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from datetime import timedelta

from bot.features.polls.errors import PollInputError
from bot.features.polls.msc3381 import MAX_ANSWERS
from bot.text.bounds import NotANumber, OutOfRange, bounded_int
from bot.text.durations import parse_duration
from bot.text.problems import ParseProblem

MIN_DURATION = timedelta(minutes=1)
MAX_DURATION = timedelta(days=30)

_T = "umfrage."
# "--name" or "--name=value"; phones often turn "--" into an en/em dash, so accept those too.
_OPTION = re.compile(r"^(?P<dash>--|[–—])(?P<name>[^\W\d_][\w-]*)(?:=(?P<value>.*))?$", re.S)
_OPTION_NAMES = {
    **dict.fromkeys(("mehrfach", "multiple", "multi"), "multiple"),
    **dict.fromkeys(("verdeckt", "hidden", "undisclosed"), "undisclosed"),
    **dict.fromkeys(("anonym", "anonymous"), "anonymous"),
    **dict.fromkeys(("dauer", "duration"), "duration"),
}
_DIGITS = re.compile(r"\d+")
_AMOUNT = re.compile(r"\d+(?:[.,]\d+)?")


@dataclass
class Options:
    """Collects ``--options`` wherever they appear and removes them from the text."""

    seen: set[str] = field(default_factory=set)
    multiple: bool = False
    max_selections: int | None = None  # None with multiple=True: all answers
    undisclosed: bool = False
    anonymous: bool = False
    duration: timedelta | None = None

    def strip_from(self, segment: str) -> str:
        tokens = segment.split()
        kept: list[str] = []
        index = 0
        while index < len(tokens):
            token = tokens[index]
            match = _OPTION.match(token)
            name = _OPTION_NAMES.get(match["name"].casefold()) if match else None
            if match is None or (name is None and match["dash"] != "--"):
                kept.append(token)  # a dash followed by a word is only an option if we know it
                index += 1
                continue
            if name is None:
                raise PollInputError(_T + "err_unknown_option", option=token)
            index = self._apply(name, token, match["value"], tokens, index + 1)
        return " ".join(kept)

    def _apply(self, name: str, token: str, value: str | None, tokens: list[str], nxt: int) -> int:
        """Apply one option; returns the index of the next unread token."""
        if name in self.seen:
            raise PollInputError(_T + "err_duplicate_option", option=token.split("=", 1)[0])
        self.seen.add(name)
        if name == "multiple":
            self.multiple = True
            if value is None and nxt < len(tokens) and _DIGITS.fullmatch(tokens[nxt]):
                value, nxt = tokens[nxt], nxt + 1
            if value is not None:
                try:  # 0 or more than the poll's answers: err_selections_range, below
                    self.max_selections = bounded_int(value, 0, MAX_ANSWERS + 1)
                except NotANumber:
                    raise PollInputError(_T + "err_bad_selections", value=value) from None
                except OutOfRange as exc:
                    params = {**exc.params(), "low": 1, "high": MAX_ANSWERS}
                    raise PollInputError("limits.selections_range", **params) from None
        elif name == "duration":
            if value is None:
                value, nxt = _duration_tokens(tokens, nxt)
            try:
                self.duration = parse_duration(value, minimum=MIN_DURATION, maximum=MAX_DURATION)
            except ParseProblem as problem:
                raise PollInputError.of(problem) from None
        elif value is not None:
            raise PollInputError(_T + "err_option_value", option=token.split("=", 1)[0])
        elif name == "undisclosed":
            self.undisclosed = True
        else:
            self.anonymous = True
        return nxt


def _duration_tokens(tokens: list[str], nxt: int) -> tuple[str, int]:
    """The value after ``--dauer``: one token, or two for '2 Std' (a bare '30' is minutes)."""
    if nxt >= len(tokens) or _OPTION.match(tokens[nxt]):
        return "", nxt
    if _AMOUNT.fullmatch(tokens[nxt]) and nxt + 1 < len(tokens):
        pair = f"{tokens[nxt]} {tokens[nxt + 1]}"
        with contextlib.suppress(ParseProblem):
            parse_duration(pair)
            return pair, nxt + 2
    return tokens[nxt], nxt + 1
