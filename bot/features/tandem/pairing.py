"""Kaffee-Tandem pairing: who meets whom in a round, across departments and municipalities.

A round pairs everyone who opted in and is not paused. :func:`pair_participants` is a seeded,
deterministic optimiser. In order of importance:

1. no repeat of recent pairings when avoidable (recent rounds weigh more than older ones),
2. people who do not already share a room,
3. people on different home servers (in practice: different municipalities),
4. shared topics (a little, capped so that topics never outweigh 2. or 3.).

Rule 1 is strictly lexicographic: no amount of 2.–4. buys a repeat. An odd count makes one trio;
0 or 1 participants make no groups. Up to :data:`EXACT_LIMIT` people the optimum is found by
enumeration; above that by restarted local search (swap and move moves), which is fast and in
practice optimal for the sizes a municipality network has.

Stored minimally: user id, the topics a person chose and an optional pause end. The last
:data:`HISTORY_ROUNDS` rounds of groups are enough to avoid repeats; older ones can be deleted.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.features.tandem.topics import normalize_topic

HISTORY_ROUNDS = 6  # rounds of history worth keeping; older pairings no longer count
EXACT_LIMIT = 12  # up to this many participants the best grouping is found exhaustively
LOCAL_SEARCH_RESTARTS = 6

W_NO_SHARED_ROOM = 3
W_OTHER_SERVER = 2
W_TOPIC = 1
MAX_TOPIC_BONUS = 2
_POSITIVE_MAX = W_NO_SHARED_ROOM + W_OTHER_SERVER + MAX_TOPIC_BONUS

Group = tuple[str, ...]
Round = set[frozenset[str]]  # one round of history: its groups (pairs or a trio)


def home_server(user_id: str) -> str:
    return user_id.split(":", 1)[1].casefold() if ":" in user_id else ""


@dataclass(frozen=True)
class Participant:
    user_id: str
    topics: frozenset[str] = frozenset()

    @property
    def server(self) -> str:
        return home_server(self.user_id)


def groups_to_round(groups: Iterable[Sequence[str]]) -> Round:
    """A finished round as history for the next ones."""
    return {frozenset(group) for group in groups}


@dataclass(frozen=True)
class _Scorer:
    """Pair scores as integers. A repeat costs more than any grouping can gain otherwise."""

    positive: dict[frozenset[str], int]
    repeats: dict[frozenset[str], int]
    repeat_weight: int

    def pair(self, a: str, b: str) -> int:
        key = frozenset((a, b))
        return self.positive.get(key, 0) - self.repeat_weight * self.repeats.get(key, 0)

    def group(self, members: Sequence[str]) -> int:
        return sum(self.pair(a, b) for a, b in itertools.combinations(members, 2))

    def total(self, groups: Iterable[Sequence[str]]) -> int:
        return sum(self.group(g) for g in groups)


def _build_scorer(
    people: Sequence[Participant],
    shared_rooms: set[frozenset[str]],
    history: Sequence[Iterable[frozenset[str]]],
) -> _Scorer:
    topics = {p.user_id: {normalize_topic(x) for x in p.topics} for p in people}
    positive: dict[frozenset[str], int] = {}
    for a, b in itertools.combinations(people, 2):
        key = frozenset((a.user_id, b.user_id))
        score = 0 if key in shared_rooms else W_NO_SHARED_ROOM
        score += W_OTHER_SERVER if a.server != b.server else 0
        score += W_TOPIC * min(MAX_TOPIC_BONUS, len(topics[a.user_id] & topics[b.user_id]))
        positive[key] = score
    # The latest round weighs HISTORY_ROUNDS, the one before one less, …, never below 1.
    repeats: dict[frozenset[str], int] = {}
    for age, past_round in enumerate(reversed(list(history))):
        weight = max(1, HISTORY_ROUNDS - age)
        for group in past_round:
            for a, b in itertools.combinations(sorted(group), 2):
                key = frozenset((a, b))
                repeats[key] = repeats.get(key, 0) + weight
    # Lexicographic in effect: one repeat outweighs the largest possible positive total.
    repeat_weight = _POSITIVE_MAX * (len(people) + 3) + 1
    return _Scorer(positive, repeats, repeat_weight)


def pair_participants(
    participants: Sequence[Participant],
    shared_rooms: set[frozenset[str]],
    history: Sequence[Iterable[frozenset[str]]],
    rng_seed: int,
) -> list[Group]:
    """Group people into pairs (one trio for an odd count). Deterministic for a given seed.

    ``shared_rooms`` holds the pairs of user ids who already share a room; ``history`` the
    groups of earlier rounds, oldest first. Returns groups with members sorted, ordered by
    their first member.
    """
    unique: dict[str, Participant] = {}
    for person in participants:
        unique.setdefault(person.user_id, person)
    people = sorted(unique.values(), key=lambda p: p.user_id)
    if len(people) < 2:
        return []
    rng = random.Random(rng_seed)
    ids = [p.user_id for p in people]
    rng.shuffle(ids)  # ties between equally good groupings are broken by the seed
    scorer = _build_scorer(people, shared_rooms, history)
    groups = _best_exact(ids, scorer) if len(ids) <= EXACT_LIMIT else _best_local(ids, scorer, rng)
    return sorted((tuple(sorted(g)) for g in groups), key=lambda g: g)


def _best_exact(ids: list[str], scorer: _Scorer) -> list[list[str]]:
    best: tuple[int, list[list[str]]] = (-math.inf, [])  # type: ignore[assignment]
    need_trio = len(ids) % 2 == 1

    def search(rest: list[str], trio_left: bool, groups: list[list[str]], score: int) -> None:
        nonlocal best
        if not rest:
            if score > best[0]:
                best = (score, [list(g) for g in groups])
            return
        first, others = rest[0], rest[1:]
        for i, partner in enumerate(others):
            remaining = others[:i] + others[i + 1 :]
            # A pair is only possible if the rest can still be split (trio counts for odd).
            if len(remaining) % 2 == (1 if trio_left else 0):
                groups.append([first, partner])
                search(remaining, trio_left, groups, score + scorer.pair(first, partner))
                groups.pop()
            if trio_left:
                for j in range(i + 1, len(others)):
                    third = others[j]
                    rest3 = [x for k, x in enumerate(others) if k not in (i, j)]
                    groups.append([first, partner, third])
                    search(rest3, False, groups, score + scorer.group([first, partner, third]))
                    groups.pop()

    search(ids, need_trio, [], 0)
    return best[1]


def _greedy(ids: list[str], scorer: _Scorer) -> list[list[str]]:
    pool = list(ids)
    groups: list[list[str]] = []
    while len(pool) >= 2:
        first = pool.pop(0)
        partner = max(pool, key=lambda other: scorer.pair(first, other))
        pool.remove(partner)
        groups.append([first, partner])
    if pool:  # odd count: the last person joins the pair that welcomes them most
        last = pool[0]
        target = max(groups, key=lambda g: scorer.group([*g, last]) - scorer.group(g))
        target.append(last)
    return groups


def _improve(groups: list[list[str]], scorer: _Scorer) -> list[list[str]]:
    """Swap two people between groups, or move one out of the trio, while it helps."""
    improved = True
    while improved:
        improved = False
        for gi, gj in itertools.combinations(range(len(groups)), 2):
            a, b = groups[gi], groups[gj]
            before = scorer.group(a) + scorer.group(b)
            for x, y in itertools.product(range(len(a)), range(len(b))):
                new_a = [*a[:x], b[y], *a[x + 1 :]]
                new_b = [*b[:y], a[x], *b[y + 1 :]]
                if scorer.group(new_a) + scorer.group(new_b) > before:
                    groups[gi], groups[gj] = a, b = new_a, new_b
                    before = scorer.group(a) + scorer.group(b)
                    improved = True
            for src, dst, si, di in ((a, b, gi, gj), (b, a, gj, gi)):
                if len(src) != 3:
                    continue
                for x in range(3):
                    new_src = src[:x] + src[x + 1 :]
                    new_dst = [*dst, src[x]]
                    if scorer.group(new_src) + scorer.group(new_dst) > before:
                        groups[si], groups[di] = new_src, new_dst
                        improved = True
                        break
                if improved:
                    break
    return groups


def _best_local(ids: list[str], scorer: _Scorer, rng: random.Random) -> list[list[str]]:
    best_groups: list[list[str]] = []
    best_score = -math.inf
    for attempt in range(LOCAL_SEARCH_RESTARTS):
        order = list(ids)
        if attempt:
            rng.shuffle(order)
        groups = _improve(_greedy(order, scorer), scorer)
        score = scorer.total(groups)
        if score > best_score:
            best_groups, best_score = groups, score
    return best_groups


def repeated_pairs(
    groups: Iterable[Sequence[str]], history: Iterable[Round]
) -> set[frozenset[str]]:
    """Pairs in ``groups`` that already met in ``history`` (for reports and tests)."""
    past = {
        frozenset(pair)
        for past_round in history
        for group in past_round
        for pair in itertools.combinations(sorted(group), 2)
    }
    return {
        frozenset(pair)
        for group in groups
        for pair in itertools.combinations(sorted(group), 2)
        if frozenset(pair) in past
    }
