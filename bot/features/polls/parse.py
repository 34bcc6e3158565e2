"""``!umfrage`` read: question and answers in three forms into a validated :class:`PollSpec`.

Also which poll a command names (``4``, ``#4``, ``Nr. 4``) and ``!umfrage beenden [N]``. The
``--options`` are :mod:`bot.features.polls.options`; errors :mod:`bot.features.polls.errors`.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.features.polls.errors import PollInputError
from bot.features.polls.msc3381 import MAX_ANSWERS, answer_id
from bot.features.polls.options import Options
from bot.store.polls import Poll, PollAnswer
from bot.text.bounds import POLL_NUMBERS, bounded_int

MIN_ANSWERS = 2
MAX_ANSWER_LENGTH = 240
MAX_QUESTION_LENGTH = 500
END_WORDS = frozenset({"beenden", "ende", "end", "schließen", "close", "stop"})

_T = "umfrage."
_POLL_NUMBER = re.compile(r"(?:nr\.?\s*|#)?(\d+)", re.I)


@dataclass(frozen=True)
class PollSpec:
    """What ``!umfrage`` asked for, validated."""

    question: str
    answers: tuple[str, ...]
    max_selections: int = 1
    disclosed: bool = True
    anonymous: bool = False
    duration: timedelta | None = None

    @property
    def poll(self) -> Poll:
        answers = tuple(PollAnswer(answer_id(i), text) for i, text in enumerate(self.answers, 1))
        return Poll(self.question, answers, self.max_selections, self.disclosed, self.anonymous)

    def closes_at(self, started: datetime) -> datetime | None:
        return started + self.duration if self.duration is not None else None


# --- !umfrage ----------------------------------------------------------------------------------

_OPENING_QUOTES = '"„“'
_CLOSING_QUOTES = '"“”'
_WRAPPING_QUOTES = (('"', '"'), ("„", "“"), ("“", "”"))


def _unwrap_quotes(text: str) -> str:
    for opening, closing in _WRAPPING_QUOTES:
        if len(text) >= 2 and text.startswith(opening) and text.endswith(closing):
            return " ".join(text[1:-1].split())
    return text


def _pipe_items(text: str, options: Options) -> list[str]:
    """``Frage | A | B``: the first segment is the question even if empty."""
    segments = [_unwrap_quotes(options.strip_from(s)) for s in text.split("|")]
    return [segments[0], *(s for s in segments[1:] if s)]


def _quoted_items(text: str, options: Options) -> list[str]:
    """``"Frage?" "A" "B"`` (also „…“ and “…”); unquoted text between quotes is an item too."""
    items: list[str] = []
    run: list[str] = []
    index = 0

    def flush() -> None:
        unquoted = options.strip_from("".join(run))
        if unquoted:
            items.append(unquoted)
        run.clear()

    while index < len(text):
        char = text[index]
        if char not in _OPENING_QUOTES:
            run.append(char)
            index += 1
            continue
        flush()
        end = next((j for j in range(index + 1, len(text)) if text[j] in _CLOSING_QUOTES), -1)
        if end < 0:
            raise PollInputError(_T + "err_unclosed_quote")
        items.append(" ".join(text[index + 1 : end].split()))
        index = end + 1
    flush()
    return [items[0], *(i for i in items[1:] if i)] if items else []


def _line_items(text: str, options: Options) -> list[str]:
    """One line for the question, one line per answer."""
    return [line for line in (options.strip_from(raw) for raw in text.splitlines()) if line]


def _normalised(answer: str) -> str:
    return " ".join(answer.split()).casefold()


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def parse_poll_command(args: str) -> PollSpec:
    """Parse the arguments of ``!umfrage`` (everything after the command word).

    Forms: ``Frage | A | B``, ``"Frage" "A" "B"`` (also „…“/“…”), or one item per line.
    Options anywhere: ``--mehrfach[=N]``, ``--verdeckt``, ``--anonym``, ``--dauer 30m``.
    Raises :class:`PollInputError` for anything that must not be posted.
    """
    text = args.strip()
    options = Options()
    pipe_form = "|" in text
    if pipe_form:
        items = _pipe_items(text, options)
    elif any(quote in text for quote in _OPENING_QUOTES):
        items = _quoted_items(text, options)
    else:
        items = _line_items(text, options)
    if not pipe_form and len(items) < 2:
        # Only a question (or nothing): explain the format rather than count answers.
        raise PollInputError(_T + "err_no_answers")
    question, answers = items[0], tuple(items[1:])
    _check_question(question)
    _check_answers(answers)
    return PollSpec(
        question=question,
        answers=answers,
        max_selections=_max_selections(options, len(answers)),
        disclosed=not options.undisclosed,
        anonymous=options.anonymous,
        duration=options.duration,
    )


def _check_question(question: str) -> None:
    if not question:
        raise PollInputError(_T + "err_empty_question")
    if len(question) > MAX_QUESTION_LENGTH:
        raise PollInputError(
            _T + "err_question_too_long", length=len(question), max=MAX_QUESTION_LENGTH
        )


def _check_answers(answers: tuple[str, ...]) -> None:
    if len(answers) < MIN_ANSWERS:
        raise PollInputError(_T + "err_too_few_answers", count=len(answers), min=MIN_ANSWERS)
    if len(answers) > MAX_ANSWERS:
        raise PollInputError(_T + "err_too_many_answers", count=len(answers), max=MAX_ANSWERS)
    seen: dict[str, int] = {}
    for number, answer in enumerate(answers, 1):
        if len(answer) > MAX_ANSWER_LENGTH:
            raise PollInputError(
                _T + "err_answer_too_long",
                number=number,
                answer=_shorten(answer),
                length=len(answer),
                max=MAX_ANSWER_LENGTH,
            )
        key = _normalised(answer)
        if key in seen:
            raise PollInputError(
                _T + "err_duplicate_answer", answer=answer, first=seen[key], second=number
            )
        seen[key] = number


def _max_selections(options: Options, answer_count: int) -> int:
    if not options.multiple:
        return 1
    if options.max_selections is None:
        return answer_count
    if not 1 <= options.max_selections <= answer_count:
        raise PollInputError(
            _T + "err_selections_range", value=options.max_selections, max=answer_count
        )
    return options.max_selections


def parse_poll_number(text: str) -> int | None:
    """'4', '#4', 'Nr. 4' → 4; anything else → None."""
    match = _POLL_NUMBER.fullmatch(text.strip())
    with contextlib.suppress(ValueError):  # not a number, or none that can exist
        return bounded_int(match[1], *POLL_NUMBERS) if match else None
    return None


def parse_end_request(args: str) -> tuple[bool, int | None]:
    """``beenden`` or ``beenden 4`` (also ``end #4``); a question starting with "Beenden" is not."""
    word, _, rest = args.strip().partition(" ")
    if word.casefold() not in END_WORDS:
        return False, None
    rest = rest.strip()
    if not rest:
        return True, None
    number = parse_poll_number(rest)
    return (True, number) if number is not None else (False, None)
