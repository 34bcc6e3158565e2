"""The impulse as loaded, the library in rotation order, and which impulse a room gets next."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.features.impulses.markup import convert


@dataclass(frozen=True)
class Impulse:
    """One impulse as loaded from its file; ``id`` is the file stem and never changes."""

    id: str
    title: str
    topics: tuple[str, ...]
    order: int | None
    question: str | None
    body: str  # Markdown
    path: Path = field(compare=False)

    def matches(self, topics: Iterable[str] | None) -> bool:
        """Does the impulse have one of these topics (case-insensitive)? No filter matches all."""
        wanted = {topic.casefold() for topic in topics or ()}
        return not wanted or any(topic.casefold() in wanted for topic in self.topics)

    @property
    def plain_body(self) -> str:
        return convert(self.body).plain

    @property
    def word_count(self) -> int:
        """Words of the body as readers see it (bullets and punctuation do not count)."""
        return sum(1 for word in self.plain_body.split() if any(c.isalnum() for c in word))


def _natural_key(name: str) -> tuple[Any, ...]:
    # "2-x" before "10-x", as people number files.
    return tuple(
        int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", name)
    )


def rotation_key(impulse: Impulse) -> tuple[Any, ...]:
    """Impulses with ``reihenfolge`` first (ascending), then by file name."""
    return (impulse.order is None, impulse.order or 0, _natural_key(impulse.id), impulse.id)


@dataclass(frozen=True)
class ImpulseLibrary:
    """All impulses in rotation order."""

    impulses: tuple[Impulse, ...]

    @classmethod
    def of(cls, impulses: Iterable[Impulse]) -> ImpulseLibrary:
        return cls(tuple(sorted(impulses, key=rotation_key)))

    def __iter__(self) -> Iterator[Impulse]:
        return iter(self.impulses)

    def __len__(self) -> int:
        return len(self.impulses)

    def get(self, impulse_id: str) -> Impulse | None:
        return next((imp for imp in self.impulses if imp.id == impulse_id), None)

    def topics(self) -> list[str]:
        """All topics, each once (first spelling wins), alphabetically."""
        seen: dict[str, str] = {}
        for impulse in self.impulses:
            for topic in impulse.topics:
                seen.setdefault(topic.casefold(), topic)
        return sorted(seen.values(), key=str.casefold)

    def matching(self, topics: Iterable[str] | None) -> list[Impulse]:
        wanted = set(topics or ())
        return [imp for imp in self.impulses if imp.matches(wanted)]


def choose_next(
    library: ImpulseLibrary, history: Sequence[str], topics: Iterable[str] | None = None
) -> Impulse | None:
    """The impulse a room should get next.

    ``history`` lists the ids posted in the room, oldest first. Impulses the room has never seen
    come first, in rotation order – so each (topic-matching) impulse is posted once before any
    repeats, and impulses added later join before the repeats. Then the least recently posted goes
    first, which repeats the rotation order when the room went through it in order.
    """
    candidates = library.matching(topics)
    last_posted = {impulse_id: position for position, impulse_id in enumerate(history)}
    unseen = [impulse for impulse in candidates if impulse.id not in last_posted]
    if unseen:
        return unseen[0]
    return min(candidates, key=lambda impulse: last_posted[impulse.id], default=None)


def upcoming(
    library: ImpulseLibrary,
    history: Sequence[str],
    topics: Iterable[str] | None = None,
    n: int = 5,
) -> list[Impulse]:
    """The next ``n`` impulses in the order :func:`choose_next` would post them."""
    topic_set = set(topics or ())
    simulated = list(history)
    result: list[Impulse] = []
    for _ in range(max(n, 0)):
        impulse = choose_next(library, simulated, topic_set)
        if impulse is None:
            break
        result.append(impulse)
        simulated.append(impulse.id)
    return result
