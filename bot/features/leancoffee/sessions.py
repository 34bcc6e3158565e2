"""Where running Lean Coffee sessions are kept: the store, and the rooms that have one.

:class:`LeanCoffeeRooms` (in ``app.state``) lets the reaction listener skip the rooms without a
session, which is almost every event, without asking the database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.features.leancoffee.codec import session_from_dict, session_to_dict, summary_to_dict
from bot.features.leancoffee.model import LeanCoffeeSession, LeanCoffeeSummary
from bot.features.leancoffee.posts import Post

if TYPE_CHECKING:
    from bot.app import Impulsbot

log = logging.getLogger(__name__)


@dataclass
class LeanCoffeeRooms:
    """Rooms with a running session: the listener's fast path (most events are not ours)."""

    room_ids: set[str] = field(default_factory=set)


def rooms(app: Impulsbot) -> set[str]:
    return app.state.get(LeanCoffeeRooms).room_ids


async def setup(app: Impulsbot) -> None:
    rooms(app).update(await app.store.lc_rooms())


async def load_session(app: Impulsbot, room_id: str) -> LeanCoffeeSession | None:
    data = await app.store.lc_session(room_id)
    if data is None:
        return None
    try:
        return session_from_dict(data)
    except ValueError:
        log.exception("stored Lean Coffee session in %s is unreadable; ignoring it", room_id)
        return None


async def save_session(
    app: Impulsbot,
    session: LeanCoffeeSession,
    applied: tuple[str, list[Post]] | None = None,
) -> None:
    """Store the session; ``applied`` (command event id, its posts) marks a command as done in
    the same transaction, so a re-run after a crash re-sends instead of applying twice."""
    deadline = session.next_deadline()
    deadline_ms = int(deadline.timestamp() * 1000) if deadline is not None else None
    record = None if applied is None else (applied[0], [p.to_dict() for p in applied[1]])
    await app.store.save_lc_session(session.room_id, session_to_dict(session), deadline_ms, record)
    rooms(app).add(session.room_id)


async def finish_session(
    app: Impulsbot, summary: LeanCoffeeSummary, event_id: str, posts: list[Post]
) -> None:
    """Replace the running session by its summary (with the posts announcing it)."""
    applied = [p.to_dict() for p in posts]
    await app.store.finish_lc_session(summary.room_id, summary_to_dict(summary), event_id, applied)
    rooms(app).discard(summary.room_id)
