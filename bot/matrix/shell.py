"""The Matrix shell: the one object the rest of the bot uses to talk to Matrix.

:class:`MatrixShell` owns the nio client and the shell's state; its behaviour comes in parts,
each in its own module: :mod:`~bot.matrix.session` (login, crypto store, own cross-signing),
:mod:`~bot.matrix.sync` (sync loop, token, gaps, stopping), :mod:`~bot.matrix.trust` (who gets
room keys, events waiting for theirs), :mod:`~bot.matrix.rooms` (joins, creation, invites,
members, state, room questions) and :mod:`~bot.matrix.send` (sending, uploads, raw requests).

Everything here is about transport. What the bot *does* with events lives in :mod:`bot.app` and
the features; the shell only turns their decisions into requests, with retries that never drop or
double a message (every send carries a deterministic transaction ID).
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from nio import AsyncClient

from bot.config import Config
from bot.matrix.rooms import Rooms
from bot.matrix.send import Sending
from bot.matrix.session import Session
from bot.matrix.sync import Sync
from bot.matrix.trust import CrossSignedCache, PendingDecryption, Trust
from bot.store import Store


@dataclass
class MatrixShell(Session, Sync, Trust, Rooms, Sending):
    config: Config
    store: Store
    client: AsyncClient = field(init=False)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    since: str | None = None  # the token the sync being processed started from
    # sync: rooms someone waits to see, the long-poll in progress, gap bookkeeping
    _room_events: dict[str, asyncio.Event] = field(default_factory=dict)
    _poll: asyncio.Future[Any] | None = None
    _gap_failed: bool = False
    _gap_failing_since: float | None = None
    # trust: events waiting for their room key, members' cross-signing as last queried
    _pending: dict[str, PendingDecryption] = field(default_factory=dict)
    _cross_signed: dict[str, CrossSignedCache] = field(default_factory=dict)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.close()
