"""Coverage arithmetic of partial matches, done per group of offerings rather than per offering.

On a large catalogue a common query word matches thousands of offerings, and a loop crediting
them one by one dominated the search time. Offerings that match the same units (and the same
number of a compound's parts) receive the same credit, so credits are kept per group: a set of
docids and its credit, split with set operations as each unit is added. Every sum is still
formed unit by unit in query order, exactly as a per-offering loop forms it, so coverage values,
order and ties are bit for bit those of the plain definition in ``SearchIndex._partial``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

Docs = set[int] | frozenset[int]
Groups = dict[float, Docs]  # value (credit, title/topic weight) → docids having it
_Key = TypeVar("_Key", int, float, tuple[float, float])


@dataclass(frozen=True)
class Scored:
    """One query unit as partial matching sees it."""

    weight: float
    prose: float  # credit where the unit is in neither title nor topics
    found: frozenset[int]  # entries matching the unit
    ranks: tuple[frozenset[int], ...]  # entries having it in title, title compounds, topics…
    titled: frozenset[int]  # … in any of them
    # Entries lacking the unit but having its first compound part, by how many of its parts
    # they have (first part included), fewest first.
    shares: tuple[tuple[int, Docs], ...]
    part_count: int

    @property
    def matched(self) -> bool:
        return bool(self.found or self.shares)

    def reach(self) -> Docs:
        """Entries this unit gives any credit."""
        return self.found.union(*(docs for _, docs in self.shares))


def share_groups(part_docs: Sequence[Docs]) -> tuple[tuple[int, Docs], ...]:
    """Entries having the first part (``part_docs[0]``), grouped by how many parts they have."""
    if not part_docs or not part_docs[0]:
        return ()
    counts: dict[int, Docs] = {1: part_docs[0]}
    for docs in part_docs[1:]:
        grown: dict[int, Docs] = {}
        for count, members in counts.items():
            _merge(grown, count + 1, members & docs)
            _merge(grown, count, members - docs)
        counts = grown
    return tuple(sorted(counts.items()))


def credit_groups(scoring: Iterable[Scored], pool: Docs) -> Groups:
    """Credit of every entry in ``pool``: a unit's weight where it matches in title or topics,
    its prose credit where it matches elsewhere, else the share of the compound's parts it has
    (half the weight, times parts had / parts); 0.0 for none."""
    groups: Groups = {0.0: pool}
    for unit in scoring:
        split: Groups = {}
        for credit, members in groups.items():
            hit = members & unit.found
            if hit:
                titled = hit & unit.titled
                _merge(split, credit + unit.weight, titled)
                _merge(split, credit + unit.prose, hit - titled)
                members = members - hit
            for count, docs in unit.shares:
                got = members & docs
                if got:
                    _merge(split, credit + unit.weight * 0.5 * count / unit.part_count, got)
                    members = members - got
            _merge(split, credit, members)
        groups = split
    return groups


def strong_groups(members: Docs, strong: Sequence[tuple[float, Sequence[Docs]]]) -> Groups:
    """Title/topic weight of ``members``: per unit (weight, its entries per strong rank), each
    rank adding weight / (rank + 1)."""
    groups: Groups = {0.0: members}
    for weight, ranks in strong:
        for rank, docs in enumerate(ranks):
            split: Groups = {}
            for value, group in groups.items():
                inside = group & docs
                if inside:
                    _merge(split, value + weight / (rank + 1), inside)
                    group = group - inside
                _merge(split, value, group)
            groups = split
    return groups


def best(
    credits: Groups,
    total_weight: float,
    count: int,
    strong: Callable[[Docs], Groups],
    bar: float | None = None,
) -> tuple[list[tuple[float, float, int]], int]:
    """The ``count`` smallest (-coverage, -title/topic weight, docid) over the credited entries
    (coverage at least ``bar`` if given), and how many entries qualify. Title/topic weights are
    computed only for the coverage levels that can reach the first ``count``."""
    levels: Groups = {}
    total = 0
    for credit, members in credits.items():
        if not credit or (bar is not None and not credit / total_weight >= bar):
            continue
        _merge(levels, -credit / total_weight, members)
        total += len(members)
    keyed: dict[tuple[float, float], Docs] = {}
    taken = 0
    for level in sorted(levels):
        if taken >= count:
            break
        taken += len(levels[level])
        for value, members in strong(levels[level]).items():
            _merge(keyed, (level, -value), members)
    page: list[tuple[float, float, int]] = []
    for key in sorted(keyed):
        page.extend((*key, docid) for docid in sorted(keyed[key])[: count - len(page)])
        if len(page) == count:
            break
    return page, total


def _merge(groups: dict[_Key, Docs], key: _Key, members: Docs) -> None:
    # never in place: member sets are shared between groups and callers
    if not members:
        return
    found = groups.get(key)
    if found is None:
        groups[key] = members
    else:
        groups[key] = found | members
