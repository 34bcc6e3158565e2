"""One poll, two honest counts: what Element shows, and the typed votes only the bot sees.

Element counts native responses by the MSC3381 rules and knows nothing about ``!abstimmen``.
The bot therefore never mixes the two into one number per answer: the Element count is shown
exactly as Element shows it, and typed votes are a separate, labelled addition. The rule that
keeps one person from counting twice is the one a facilitator can say in one sentence:
*whoever voted in Element is counted with their Element vote* — a typed vote counts only for
people without a counted Element vote.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.features.polls.tally import Tally, effective_selection, latest_votes, tally
from bot.store.poll_votes import Vote
from bot.store.polls import Poll


@dataclass(frozen=True)
class PollResult:
    element: Tally  # native responses only: equal to Element's poll display
    typed: Tally  # typed votes of people without a counted Element vote

    @property
    def combined(self) -> Tally:
        return self.element.plus(self.typed)

    @property
    def has_typed(self) -> bool:
        return self.typed.voters > 0

    @classmethod
    def element_only(cls, result: Tally) -> PollResult:
        return cls(result, Tally(dict.fromkeys(result.counts, 0), 0))


def element_voters(poll: Poll, votes: Iterable[Vote], end_ts: int | None = None) -> set[str]:
    """People whose counted native response selects at least one answer."""
    native = (v for v in votes if not v.typed)
    valid_ids = frozenset(poll.answer_ids)
    return {
        sender
        for sender, vote in latest_votes(native, end_ts).items()
        if effective_selection(poll, vote, valid_ids)
    }


def split_tally(poll: Poll, votes: Iterable[Vote], *, end_ts: int | None = None) -> PollResult:
    """Element's count and the typed addition, both up to ``end_ts`` (the end event's time)."""
    ordered = list(votes)
    native = [v for v in ordered if not v.typed]
    element = tally(poll, native, end_ts=end_ts)
    in_element = element_voters(poll, native, end_ts)
    typed = (v for v in ordered if v.typed and v.sender not in in_element)
    return PollResult(element, tally(poll, typed, end_ts=end_ts))
