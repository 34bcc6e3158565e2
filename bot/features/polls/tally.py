"""Counting poll responses by the MSC3381 rules ("m.poll.response" and "m.poll.end").

All rules are implemented in :func:`tally`:

1. Only a user's most recent response (by ``origin_server_ts``) counts, *even if it is invalid*.
   Equal timestamps: the response given later in the input wins (pass events in timeline order).
2. If any selected id is unknown, the user's vote is spoiled (counts as no vote). Like Element
   (matrix-events-sdk ``validateAgainst``) this checks the whole supplied array, before truncation.
3. The selection is truncated to ``max_selections`` (the first N are kept).
4. An id repeated after truncation counts once.
5. An empty selection withdraws the user's vote.
6. A redacted response is ignored, so the user's previous response counts again.
7. Responses after the poll's end (``origin_server_ts`` > end timestamp) are ignored; responses at
   exactly the end timestamp still count. Responses from before the start event count too.
   The end is the earliest end event from the poll's creator or from someone allowed to redact
   others' events (:func:`effective_end_ts`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from bot.features.polls.msc3381 import EndMark
from bot.store.poll_votes import Vote
from bot.store.polls import Poll


def percent(part: int, whole: int) -> int:
    """Rounded half up, as people expect (Python's round() would give 2 for 2.5)."""
    return (200 * part + whole) // (2 * whole) if whole > 0 else 0


@dataclass(frozen=True)
class Tally:
    """Counted result: per answer id the number of voters who chose it."""

    counts: Mapping[str, int]
    voters: int  # users whose counted response selects at least one answer
    spoiled: int = 0  # users whose latest response was invalid

    @classmethod
    def from_counts(cls, poll: Poll, counts: Mapping[str, int], voters: int) -> Tally:
        """For anonymous polls, whose store keeps only sums."""
        return cls({a.id: int(counts.get(a.id, 0)) for a in poll.answers}, voters)

    def count(self, answer: str) -> int:
        return self.counts.get(answer, 0)

    def percent(self, answer: str) -> int:
        """Share of *voters* (not of selections): multiple-choice shares may sum to over 100."""
        return percent(self.count(answer), self.voters)

    def leaders(self) -> tuple[str, ...]:
        top = max(self.counts.values(), default=0)
        return tuple(a for a, n in self.counts.items() if n == top) if top > 0 else ()

    def plus(self, other: Tally) -> Tally:
        """Both counts side by side as one (spoiled votes are this count's only)."""
        counts = {a: n + other.count(a) for a, n in self.counts.items()}
        return Tally(counts, self.voters + other.voters, self.spoiled)


def latest_votes(responses: Iterable[Vote], end_ts: int | None = None) -> dict[str, Vote]:
    """Each sender's most recent unredacted response up to the end (rules 1, 6, 7)."""
    latest: dict[str, Vote] = {}
    for vote in responses:
        if vote.redacted or (end_ts is not None and vote.origin_server_ts > end_ts):
            continue
        current = latest.get(vote.sender)
        # ">=": on equal timestamps the response given later wins.
        if current is None or vote.origin_server_ts >= current.origin_server_ts:
            latest[vote.sender] = vote
    return latest


def effective_selection(
    poll: Poll, vote: Vote, valid_ids: frozenset[str] | None = None
) -> tuple[str, ...] | None:
    """The answers a vote counts for; None if spoiled, () if withdrawn (rules 2–5)."""
    ids = valid_ids if valid_ids is not None else frozenset(poll.answer_ids)
    if vote.spoiled or any(a not in ids for a in vote.answer_ids):
        return None
    return tuple(dict.fromkeys(vote.answer_ids[: poll.max_selections]))


def tally(poll: Poll, responses: Iterable[Vote], *, end_ts: int | None = None) -> Tally:
    """Count responses by the MSC3381 rules listed in the module docstring."""
    valid_ids = frozenset(poll.answer_ids)
    counts = dict.fromkeys(poll.answer_ids, 0)
    voters = spoiled = 0
    for vote in latest_votes(responses, end_ts).values():
        selection = effective_selection(poll, vote, valid_ids)
        if selection is None:
            spoiled += 1
        elif selection:
            voters += 1
            for answer in selection:
                counts[answer] += 1
    return Tally(counts, voters, spoiled)


def effective_end_ts(
    ends: Iterable[EndMark], *, creator: str, may_redact: Callable[[str], bool]
) -> int | None:
    """When the poll closed: the first end event by the creator or by someone who may redact
    others' events; end events from anyone else are invalid and ignored."""
    valid = (e.origin_server_ts for e in ends if e.sender == creator or may_redact(e.sender))
    return min(valid, default=None)
