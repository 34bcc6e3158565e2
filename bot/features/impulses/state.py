"""The impulse feature's runtime state: the loaded library and the posts being sent right now."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.features.impulses.library import ImpulseError, load_impulses
from bot.features.impulses.model import ImpulseLibrary

if TYPE_CHECKING:
    from bot.app import Impulsbot

log = logging.getLogger(__name__)


@dataclass
class ImpulsesState:
    library: ImpulseLibrary
    # (room, key) pairs being sent right now: the tick must not re-send a claim still in flight.
    in_flight: set[tuple[str, str]] = field(default_factory=set)

    @contextlib.contextmanager
    def sending(self, room_id: str, key: str) -> Iterator[bool]:
        """Yields False when another task is already sending this post."""
        marker = (room_id, key)
        if marker in self.in_flight:
            yield False
            return
        self.in_flight.add(marker)
        try:
            yield True
        finally:
            self.in_flight.discard(marker)


def impulses_state(app: Impulsbot) -> ImpulsesState:
    found = app.state.peek(ImpulsesState)
    if found is None:
        raise RuntimeError("impulses are not loaded: the feature's setup has not run")
    return found


async def setup(app: Impulsbot) -> None:
    """Load the impulses at start-up; broken files stop the bot with every problem listed."""
    try:
        library = load_impulses(app.config.content.directory, app.config.bot.language)
    except ImpulseError as exc:
        raise RuntimeError("impulse files have problems:\n" + "\n".join(exc.problems)) from exc
    log.info("loaded %d impulses", len(library))
    app.state.put(ImpulsesState(library))
