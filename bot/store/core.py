"""Queries for the bot's own state: session, sync token, handled events, rooms.

What every command reads (the room's join time and language) is kept in memory after the first
read: only this process writes these rows, always through the methods here, so the copy cannot
go stale, and a command costs no database round trip for them.
"""

from __future__ import annotations

import time
from pathlib import Path

from bot.store.base import StoreBase, purge_before, technical

CACHED_VALUE_PREFIXES = ("lang:",)  # kv keys read on every command


class CoreStore(StoreBase):
    def __init__(self, path: str | Path) -> None:
        super().__init__(path)
        self._cached_values: dict[str, str | None] = {}
        self._joined_at: dict[str, int] = {}
        # Bumped by every write of a cached row: a read that overlapped a write is not cached.
        self._cache_writes = 0

    async def get_value(self, key: str) -> str | None:
        if key in self._cached_values:
            return self._cached_values[key]
        writes = self._cache_writes
        row = await self.fetchone("SELECT value FROM kv WHERE key = ?", (key,))
        value = row[0] if row else None
        if key.startswith(CACHED_VALUE_PREFIXES) and writes == self._cache_writes:
            self._cached_values[key] = value
        return value

    async def set_value(self, key: str, value: str) -> None:
        self._forget_cached_value(key)
        await self.execute(
            "INSERT INTO kv (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )
        self._forget_cached_value(key)

    async def delete_value(self, key: str) -> None:
        self._forget_cached_value(key)
        await self.execute("DELETE FROM kv WHERE key = ?", (key,))
        self._forget_cached_value(key)

    def _forget_cached_value(self, key: str) -> None:
        if key.startswith(CACHED_VALUE_PREFIXES):
            self._cache_writes += 1
            self._cached_values.pop(key, None)

    async def is_handled(self, event_id: str) -> bool:
        row = await self.fetchone("SELECT 1 FROM handled_events WHERE event_id = ?", (event_id,))
        return row is not None

    async def mark_handled(self, event_id: str, room_id: str) -> None:
        await self.execute(
            "INSERT OR IGNORE INTO handled_events (event_id, room_id, handled_at) VALUES (?, ?, ?)",
            (event_id, room_id, int(time.time())),
        )

    async def finish_command(self, event_id: str, room_id: str) -> None:
        """Handled, and no longer pending, in this order and without a transaction (half the
        round trips): after a crash between the two the command is still pending but handled,
        which the retry drops unanswered, exactly like a re-delivered command."""
        await self.mark_handled(event_id, room_id)
        await self.execute("DELETE FROM pending_commands WHERE event_id = ?", (event_id,))

    async def forget_handled_before(self, unix_seconds: int) -> int:
        return await self.delete_before("handled_events", "handled_at", unix_seconds)

    async def remember_room(self, room_id: str, joined_at_ms: int, is_direct: bool) -> None:
        self._forget_joined_at(room_id)
        await self.execute(
            "INSERT INTO rooms (room_id, joined_at, is_direct) VALUES (?, ?, ?) "
            "ON CONFLICT (room_id) DO UPDATE SET joined_at = excluded.joined_at",
            (room_id, joined_at_ms, int(is_direct)),
        )
        self._forget_joined_at(room_id)

    async def room_joined_at(self, room_id: str) -> int | None:
        if room_id in self._joined_at:
            return self._joined_at[room_id]
        writes = self._cache_writes
        row = await self.fetchone("SELECT joined_at FROM rooms WHERE room_id = ?", (room_id,))
        joined_at: int | None = row[0] if row else None
        if joined_at is not None and writes == self._cache_writes:
            self._joined_at[room_id] = joined_at
        return joined_at

    async def claim_greeting(self, room_id: str) -> bool:
        """True exactly once per room: the caller then sends the greeting."""
        cursor = await self.execute(
            "UPDATE rooms SET greeted = 1 WHERE room_id = ? AND greeted = 0", (room_id,)
        )
        return cursor.rowcount == 1

    async def forget_room(self, room_id: str) -> None:
        self._forget_joined_at(room_id)
        await self.execute("DELETE FROM rooms WHERE room_id = ?", (room_id,))
        self._forget_joined_at(room_id)

    def _forget_joined_at(self, room_id: str) -> None:
        self._cache_writes += 1
        self._joined_at.pop(room_id, None)


# --- declared personal data (bot/personal_data.py) ----------------------------------------------

HANDLED_RETENTION_DAYS = 7  # mirrors bot.app.HANDLED_RETENTION_S


PERSONAL_DATA = (
    technical(
        name="room_settings",
        tables={"kv": ("key", "value")},
        purpose="Raumnamen für Exporte, Spracheinstellung je Raum und technische Merker.",
        link="none",
        access_note="Gelten für Räume, nicht für Personen, und bleiben, solange der Bot im Raum "
        "ist.",
    ),
    technical(
        name="handled_events",
        tables={"handled_events": ("event_id", "room_id")},
        purpose="Jeder Befehl wird höchstens einmal beantwortet (auch nach einem Neustart).",
        link="pseudonymous",
        purge=purge_before("handled_events", "handled_at", "s", days=HANDLED_RETENTION_DAYS),
        access_note="Nur Ereignis- und Raum-IDs ohne Inhalt; nach 7 Tagen gelöscht.",
    ),
    technical(
        name="rooms",
        tables={"rooms": ("room_id",)},
        purpose="Räume, in denen der Bot Mitglied ist (Begrüßung einmal je Raum).",
        link="none",
        access_note="Raumebene; gelöscht, wenn der Bot den Raum verlässt.",
    ),
)
