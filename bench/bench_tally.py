"""Benchmark: count 10,000 poll responses from 2,000 users by the MSC3381 rules.

The data mixes what real rooms produce: users who change their mind, spoiled responses
(unknown answer ids, malformed content), redacted responses, withdrawn votes, multiple selections
beyond ``max_selections`` and responses after the end; every tenth response is a typed vote
(``!abstimmen``). Side by side: ``tally`` (one MSC3381 count over everything) and
``split_tally`` (Element's count plus the typed addition, as the bot shows results).
Target: median well under 50 ms for each.

Run: ``/work/venv/bin/python -m bench.bench_tally``
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from bot.features.polls.result import split_tally
from bot.features.polls.tally import tally
from bot.store.poll_votes import Vote
from bot.store.polls import Poll, PollAnswer

RESPONSES = 10_000
USERS = 2_000
ANSWERS = 8
MAX_SELECTIONS = 3
RUNS = 15
TARGET_MS = 50.0


def make_poll() -> Poll:
    answers = tuple(PollAnswer(f"a{i}", f"Antwort {i}") for i in range(1, ANSWERS + 1))
    return Poll("Welche Themen?", answers, max_selections=MAX_SELECTIONS)


def make_votes(poll: Poll, seed: int = 3381) -> list[Vote]:
    rng = random.Random(seed)
    ids = list(poll.answer_ids)
    votes: list[Vote] = []
    for index in range(RESPONSES):
        # Every user responds at least once; the rest are changes of mind by random users.
        user = index if index < USERS else rng.randrange(USERS)
        sender = f"@user{user}:example.org"
        roll = rng.random()
        spoiled = roll < 0.02  # malformed content
        if roll < 0.05:
            answers: tuple[str, ...] = ("a1", "unknown")  # unknown id spoils the vote
        elif roll < 0.08:
            answers = ()  # withdrawn
        else:
            answers = tuple(rng.sample(ids, rng.randint(1, MAX_SELECTIONS + 2)))
        votes.append(
            Vote(
                sender=sender,
                origin_server_ts=1_700_000_000_000 + index * 50 + rng.randrange(40),
                answer_ids=answers,
                event_id=f"${index}",
                spoiled=spoiled,
                redacted=rng.random() < 0.03,
                typed=index % 10 == 0 and not spoiled,
            )
        )
    return votes


def _timed(count: Callable[[], Any]) -> tuple[float, float, float]:
    timings_ms: list[float] = []
    count()
    for _ in range(RUNS):
        started = time.perf_counter()
        count()
        timings_ms.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings_ms), min(timings_ms), max(timings_ms)


def run() -> dict[str, float | int | str]:
    poll = make_poll()
    votes = make_votes(poll)
    end_ts = votes[int(RESPONSES * 0.95)].origin_server_ts  # the last 5 % arrive too late
    median, low, high = _timed(lambda: tally(poll, votes, end_ts=end_ts))
    split_median, split_low, split_high = _timed(lambda: split_tally(poll, votes, end_ts=end_ts))
    result = tally(poll, votes, end_ts=end_ts)
    split = split_tally(poll, votes, end_ts=end_ts)
    return {
        "responses": RESPONSES,
        "users": USERS,
        "runs": RUNS,
        "median_ms": round(median, 2),
        "min_ms": round(low, 2),
        "max_ms": round(high, 2),
        "split_median_ms": round(split_median, 2),
        "split_min_ms": round(split_low, 2),
        "split_max_ms": round(split_high, 2),
        "target_ms": TARGET_MS,
        "within_target": "yes" if max(median, split_median) < TARGET_MS else "no",
        "counted_voters": result.voters,
        "spoiled_voters": result.spoiled,
        "element_voters": split.element.voters,
        "typed_only_voters": split.typed.voters,
    }


if __name__ == "__main__":
    for name, value in run().items():
        print(f"{name}: {value}")
