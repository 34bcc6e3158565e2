"""Queries for the bot's own state: session, sync token, handled events, rooms."""

from __future__ import annotations

import time

from bot.personal_data import LEGAL_BASIS_TASK, NOBODY, Category, Expiry
from bot.store.base import StoreBase


class CoreStore(StoreBase):
    async def get_value(self, key: str) -> str | None:
        row = await self.fetchone("SELECT value FROM kv WHERE key = ?", (key,))
        return row[0] if row else None

    async def set_value(self, key: str, value: str) -> None:
        await self.execute(
            "INSERT INTO kv (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    async def delete_value(self, key: str) -> None:
        await self.execute("DELETE FROM kv WHERE key = ?", (key,))

    async def is_handled(self, event_id: str) -> bool:
        row = await self.fetchone("SELECT 1 FROM handled_events WHERE event_id = ?", (event_id,))
        return row is not None

    async def mark_handled(self, event_id: str, room_id: str) -> None:
        await self.execute(
            "INSERT OR IGNORE INTO handled_events (event_id, room_id, handled_at) VALUES (?, ?, ?)",
            (event_id, room_id, int(time.time())),
        )

    async def forget_handled_before(self, unix_seconds: int) -> None:
        await self.execute("DELETE FROM handled_events WHERE handled_at < ?", (unix_seconds,))

    async def remember_room(self, room_id: str, joined_at_ms: int, is_direct: bool) -> None:
        await self.execute(
            "INSERT INTO rooms (room_id, joined_at, is_direct) VALUES (?, ?, ?) "
            "ON CONFLICT (room_id) DO UPDATE SET joined_at = excluded.joined_at",
            (room_id, joined_at_ms, int(is_direct)),
        )

    async def room_joined_at(self, room_id: str) -> int | None:
        row = await self.fetchone("SELECT joined_at FROM rooms WHERE room_id = ?", (room_id,))
        return row[0] if row else None

    async def claim_greeting(self, room_id: str) -> bool:
        """True exactly once per room: the caller then sends the greeting."""
        cursor = await self.execute(
            "UPDATE rooms SET greeted = 1 WHERE room_id = ? AND greeted = 0", (room_id,)
        )
        return cursor.rowcount == 1

    async def forget_room(self, room_id: str) -> None:
        await self.execute("DELETE FROM rooms WHERE room_id = ?", (room_id,))


# --- declared personal data (bot/personal_data.py) ----------------------------------------------

HANDLED_RETENTION_DAYS = 7  # mirrors bot.app.HANDLED_RETENTION_S


async def _purge_handled(store: CoreStore, expiry: Expiry) -> int:
    before = int(expiry.cutoff(HANDLED_RETENTION_DAYS).timestamp())
    row = await store.fetchone(
        "SELECT COUNT(*) FROM handled_events WHERE handled_at < ?", (before,)
    )
    await store.forget_handled_before(before)
    return int(row[0]) if row else 0


PERSONAL_DATA = (
    Category(
        name="room_settings",
        tables={"kv": ("key", "value")},
        purpose="Raumnamen für Exporte, Spracheinstellung je Raum und technische Merker.",
        link="none",
        legal_basis=LEGAL_BASIS_TASK,
        recipients=NOBODY,
        access_note="Gelten für Räume, nicht für Personen, und bleiben, solange der Bot im Raum "
        "ist.",
    ),
    Category(
        name="handled_events",
        tables={"handled_events": ("event_id", "room_id")},
        purpose="Jeder Befehl wird höchstens einmal beantwortet (auch nach einem Neustart).",
        link="pseudonymous",
        legal_basis=LEGAL_BASIS_TASK,
        recipients=NOBODY,
        purge=_purge_handled,
        access_note="Nur Ereignis- und Raum-IDs ohne Inhalt; nach 7 Tagen gelöscht.",
    ),
    Category(
        name="rooms",
        tables={"rooms": ("room_id",)},
        purpose="Räume, in denen der Bot Mitglied ist (Begrüßung einmal je Raum).",
        link="none",
        legal_basis=LEGAL_BASIS_TASK,
        recipients=NOBODY,
        access_note="Raumebene; gelöscht, wenn der Bot den Raum verlässt.",
    ),
)
