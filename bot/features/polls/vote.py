"""``!abstimmen`` read: which poll, which answers (or withdrawing), checked against the poll.

A typed vote becomes a :class:`~bot.store.poll_votes.Vote` like a native response, so it is
counted by the same rules (:mod:`bot.features.polls.tally`), as a separate labelled addition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar

from bot.features.polls.errors import PollError
from bot.features.polls.msc3381 import MAX_ANSWERS
from bot.store.poll_votes import Vote
from bot.store.polls import Poll
from bot.text.bounds import POLL_NUMBERS, NotANumber, OutOfRange, bounded_int
from bot.text.problems import shorten

MAX_POLL_NUMBER = POLL_NUMBERS[1]  # typed numbers beyond this are refused before SQLite sees them

_T = "umfrage."


class VoteInputError(PollError):
    """``!abstimmen`` could not be understood or does not fit the poll."""

    example_key: ClassVar[str] = _T + "vote_example"


@dataclass(frozen=True)
class VoteCommand:
    """``!abstimmen``: ``poll_number`` None means the latest open poll; no answers = withdraw."""

    poll_number: int | None
    answer_numbers: tuple[int, ...] = field(default=())

    @property
    def withdraw(self) -> bool:
        return not self.answer_numbers


_WITHDRAW_WORDS = frozenset({"zurückziehen", "zurück", "withdraw"})
_POLL_NUMBER = re.compile(r"(?:nr\.?|#)?(\d+)", re.I)


def parse_vote_command(args: str) -> VoteCommand:
    """Parse the arguments of ``!abstimmen``.

    ``2`` or ``1,3``: answers in the latest open poll. ``4 2`` or ``4 1,3``: poll 4 (also ``#4``),
    answers 2 or 1 and 3. ``zurückziehen`` / ``4 zurückziehen``: withdraw the vote. Two bare
    numbers always mean poll + answer; several answers are joined by commas, never by spaces.
    """
    tokens = re.sub(r"\s*,\s*", ",", args.strip()).split()
    if not tokens or len(tokens) > 2:
        raise VoteInputError(_T + "err_vote_syntax")
    poll_number = _parse_poll_number(tokens[0]) if len(tokens) == 2 else None
    return VoteCommand(poll_number, _parse_answer_numbers(tokens[-1]))


def _parse_poll_number(token: str) -> int:
    match = _POLL_NUMBER.fullmatch(token)
    try:
        if match is None or not match[1].strip("0"):
            raise NotANumber(token)
        return bounded_int(match[1], *POLL_NUMBERS)
    except NotANumber:
        raise VoteInputError(_T + "err_vote_poll_number", value=shorten(token)) from None
    except OutOfRange as exc:
        raise VoteInputError("limits.poll_number_range", **exc.params()) from None


def _parse_answer_numbers(token: str) -> tuple[int, ...]:
    if token.casefold() in _WITHDRAW_WORDS:
        return ()
    pieces = [p for p in token.split(",") if p]
    if not pieces:
        raise VoteInputError(_T + "err_vote_syntax")
    numbers = []
    for piece in pieces:
        try:
            numbers.append(bounded_int(piece, 1, MAX_ANSWERS))
        except NotANumber:
            raise VoteInputError(_T + "err_vote_not_number", value=shorten(piece)) from None
        except OutOfRange as exc:
            raise VoteInputError("limits.answer_number_range", **exc.params()) from None
    return tuple(dict.fromkeys(numbers))  # "1,1" is one vote for 1


def selection_for(poll: Poll, command: VoteCommand) -> tuple[str, ...]:
    """Answer ids for a typed vote; unlike native responses, too many answers is an error."""
    count = len(poll.answers)
    for number in command.answer_numbers:
        if not 1 <= number <= count:
            raise VoteInputError(_T + "err_vote_range", number=number, count=count)
    if len(command.answer_numbers) > poll.max_selections:
        raise VoteInputError(
            _T + "err_vote_too_many", count=len(command.answer_numbers), max=poll.max_selections
        )
    return tuple(poll.answers[n - 1].id for n in command.answer_numbers)


def text_vote(
    poll: Poll, command: VoteCommand, *, sender: str, origin_server_ts: int, event_id: str = ""
) -> Vote:
    """A typed vote as a :class:`Vote`, so it is counted together with native responses."""
    return Vote(sender, origin_server_ts, selection_for(poll, command), event_id, typed=True)
