"""Forming Working Out Loud circles from the people looking for one.

Circle sizes (the official guides describe circles of up to five; four or five is the usual
recommendation). :func:`circle_sizes` uses as few circles as possible (``ceil(n / 5)``) with
sizes as even as possible, so sizes are 4–5 whenever that is arithmetically possible. Only 3, 6,
7 and 11 people cannot be split into fours and fives; then one or two circles of three are
formed (6 → 3 + 3, 7 → 4 + 3, 11 → 4 + 4 + 3). A circle never has more than five members. With
fewer than three people nobody is grouped: they keep waiting for more.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MIN_CIRCLE = 3
MAX_CIRCLE = 5

# Mixing: first as few same-department pairs as possible, then as few same-home-server pairs.
# The department weight exceeds any possible count of same-server pairs (lexicographic order).
W_SAME_DEPARTMENT = 100_000
W_SAME_SERVER = 1
LOCAL_SEARCH_RESTARTS = 4


@dataclass(frozen=True)
class Seeker:
    """Someone looking for a circle. ``department`` is optional and free text."""

    user_id: str
    department: str | None = None

    @property
    def server(self) -> str:
        return self.user_id.split(":", 1)[1].casefold() if ":" in self.user_id else ""

    def to_dict(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "department": self.department}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Seeker:
        return cls(str(data["user_id"]), data.get("department"))


def circle_sizes(count: int) -> list[int]:
    """How to split ``count`` people: fewest circles of at most five, sizes as even as possible.

    >>> circle_sizes(9), circle_sizes(6), circle_sizes(11)
    ([5, 4], [3, 3], [4, 4, 3])
    """
    if count < MIN_CIRCLE:
        return []
    circles = math.ceil(count / MAX_CIRCLE)
    base, extra = divmod(count, circles)
    return [base + 1] * extra + [base] * (circles - extra)


@dataclass(frozen=True)
class Formation:
    circles: list[tuple[str, ...]]
    waiting: list[str]  # not placed (fewer than three people)


def _conflict(a: Seeker, b: Seeker) -> int:
    cost = 0
    if a.department and b.department and a.department.casefold() == b.department.casefold():
        cost += W_SAME_DEPARTMENT
    if a.server == b.server:
        cost += W_SAME_SERVER
    return cost


def _circle_cost(members: Sequence[Seeker]) -> int:
    return sum(_conflict(a, b) for a, b in itertools.combinations(members, 2))


def form_circles(seekers: Sequence[Seeker], rng_seed: int) -> Formation:
    """Split seekers into circles that mix departments and home servers (seeded, deterministic)."""
    unique: dict[str, Seeker] = {}
    for seeker in seekers:
        unique.setdefault(seeker.user_id, seeker)
    people = sorted(unique.values(), key=lambda s: s.user_id)
    sizes = circle_sizes(len(people))
    if not sizes:
        return Formation([], [p.user_id for p in people])
    rng = random.Random(rng_seed)
    best: list[list[Seeker]] = []
    best_cost = math.inf
    for _ in range(LOCAL_SEARCH_RESTARTS):
        circles = _improve(_deal(people, sizes, rng))
        cost = sum(_circle_cost(c) for c in circles)
        if cost < best_cost:
            best, best_cost = circles, cost
    result = [tuple(sorted(s.user_id for s in circle)) for circle in best]
    return Formation(sorted(result), [])


def _deal(people: list[Seeker], sizes: list[int], rng: random.Random) -> list[list[Seeker]]:
    """Deal people like cards, biggest department first, so each circle gets a mix."""
    by_group: dict[str, list[Seeker]] = {}
    for person in people:
        key = (person.department or "").casefold() or f"\0{person.server}"
        by_group.setdefault(key, []).append(person)
    groups = list(by_group.values())
    for group in groups:
        rng.shuffle(group)
    rng.shuffle(groups)
    groups.sort(key=len, reverse=True)
    order = [person for group in groups for person in group]
    circles: list[list[Seeker]] = [[] for _ in sizes]
    slot = 0
    for person in order:
        while len(circles[slot % len(sizes)]) >= sizes[slot % len(sizes)]:
            slot += 1
        circles[slot % len(sizes)].append(person)
        slot += 1
    return circles


def _improve(circles: list[list[Seeker]]) -> list[list[Seeker]]:
    """Swap people between circles while that lowers the number of same-department pairs."""
    improved = True
    while improved:
        improved = False
        for i, j in itertools.combinations(range(len(circles)), 2):
            a, b = circles[i], circles[j]
            for x, y in itertools.product(range(len(a)), range(len(b))):
                new_a = [*a[:x], b[y], *a[x + 1 :]]
                new_b = [*b[:y], a[x], *b[y + 1 :]]
                if _circle_cost(new_a) + _circle_cost(new_b) < _circle_cost(a) + _circle_cost(b):
                    circles[i], circles[j] = a, b = new_a, new_b
                    improved = True
    return circles


def seekers_from(rows: Iterable[Mapping[str, Any]]) -> list[Seeker]:
    return [Seeker.from_dict(row) for row in rows]
