"""The exchange formats' replay table (``exchange_applied``) and what their stores share.

Lean Coffee records there what a command posted, atomically with its change, so a re-run after a
crash re-sends those posts instead of applying the change twice. The tables of Lean Coffee,
Kaffee-Tandem and Working Out Loud (migration 0006) have their own modules: ``leancoffee.py``,
``tandem.py``, ``wol.py``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from bot.personal_data import LEGAL_BASIS_TASK, NOBODY, Category, Expiry
from bot.store.base import StoreBase

# A JSON array column (or path) that holds the user id given as the query parameter.
CONTAINS_USER = "EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = ?)"
APPLIED_RETENTION_DAYS = 7


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def delete_older(store: StoreBase, sql: str, expiry: Expiry) -> int:
    """Run a retention DELETE whose one parameter is the cutoff. Stored times are ISO strings
    with an offset; ``datetime()`` compares them in UTC."""
    cursor = await store.execute(sql, (expiry.cutoff().isoformat(),))
    return cursor.rowcount


class ExchangeStore(StoreBase):
    async def applied_posts(self, event_id: str) -> list[dict[str, Any]] | None:
        """The messages a command produced when it was first applied (None: not applied yet)."""
        row = await self.fetchone(
            "SELECT posts FROM exchange_applied WHERE event_id = ?", (event_id,)
        )
        return json.loads(row[0]) if row else None

    async def _record_applied(self, event_id: str, room_id: str, posts: list[dict]) -> None:
        await self.execute(
            "INSERT OR REPLACE INTO exchange_applied (event_id, room_id, posts, applied_at)"
            " VALUES (?, ?, ?, ?)",
            (event_id, room_id, compact_json(posts), int(time.time())),
        )

    async def record_applied(self, event_id: str, room_id: str, posts: list[dict]) -> None:
        await self._record_applied(event_id, room_id, posts)

    async def forget_applied_before(self, unix_seconds: int) -> int:
        cursor = await self.execute(
            "DELETE FROM exchange_applied WHERE applied_at < ?", (unix_seconds,)
        )
        return cursor.rowcount


async def _purge_applied(store: ExchangeStore, expiry: Expiry) -> int:
    return await store.forget_applied_before(int(expiry.cutoff(APPLIED_RETENTION_DAYS).timestamp()))


PERSONAL_DATA = (
    Category(
        name="exchange_replay",
        tables={"exchange_applied": ("event_id", "room_id", "posts")},
        purpose="Technisch: ein Befehl, der nach einem Absturz erneut läuft, sendet dieselben "
        "Nachrichten statt die Änderung doppelt auszuführen.",
        link="pseudonymous",
        legal_basis=LEGAL_BASIS_TASK,
        recipients=NOBODY,
        purge=_purge_applied,
        access_note="Nur Ereignis-IDs und die Antworten des Bots; nach 7 Tagen gelöscht.",
    ),
)
