"""Queries for private delivery: direct chats, pending deliveries and pending commands."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bot.store.base import StoreBase, purge_before, technical, user_linked


@dataclass(frozen=True)
class PendingDelivery:
    txn: str
    user_id: str
    kind: str
    payload: bytes
    filename: str | None
    mimetype: str | None
    created_at: int


@dataclass(frozen=True)
class PendingCommand:
    event_id: str
    room_id: str
    sender: str
    source: str
    ts: int
    attempts: int


class PrivateStore(StoreBase):
    async def direct_chat(self, user_id: str) -> tuple[str, str] | None:
        """(room ID, origin) of the person's direct chat, if one is recorded."""
        row = await self.fetchone(
            "SELECT room_id, origin FROM direct_chats WHERE user_id = ?", (user_id,)
        )
        return (row[0], row[1]) if row else None

    async def record_direct_chat(self, user_id: str, room_id: str, origin: str) -> None:
        await self.execute(
            "INSERT INTO direct_chats (user_id, room_id, origin, recorded_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET room_id = excluded.room_id, "
            "origin = excluded.origin, recorded_at = excluded.recorded_at",
            (user_id, room_id, origin, int(time.time())),
        )

    async def queue_delivery(self, item: PendingDelivery) -> None:
        await self.execute(
            "INSERT OR IGNORE INTO pending_deliveries "
            "(txn, user_id, kind, payload, filename, mimetype, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                item.txn,
                item.user_id,
                item.kind,
                item.payload,
                item.filename,
                item.mimetype,
                item.created_at,
            ),
        )

    async def pending_deliveries(self, user_id: str | None = None) -> list[PendingDelivery]:
        """Oldest first (parts of one answer keep their order)."""
        where, params = ("WHERE user_id = ?", (user_id,)) if user_id else ("", ())
        rows = await self.fetchall(
            "SELECT txn, user_id, kind, payload, filename, mimetype, created_at "
            f"FROM pending_deliveries {where} ORDER BY rowid",
            params,
        )
        return [PendingDelivery(*row) for row in rows]

    async def delivery_done(self, txn: str) -> None:
        await self.execute("DELETE FROM pending_deliveries WHERE txn = ?", (txn,))

    async def add_pending_command(
        self, event_id: str, room_id: str, sender: str, source: str, ts: int
    ) -> None:
        await self.execute(
            "INSERT OR IGNORE INTO pending_commands (event_id, room_id, sender, source, ts) "
            "VALUES (?, ?, ?, ?, ?)",
            (event_id, room_id, sender, source, ts),
        )

    async def pending_commands(self) -> list[PendingCommand]:
        rows = await self.fetchall(
            "SELECT event_id, room_id, sender, source, ts, attempts FROM pending_commands "
            "ORDER BY ts"
        )
        return [PendingCommand(*row) for row in rows]

    async def command_attempted(self, event_id: str) -> None:
        await self.execute(
            "UPDATE pending_commands SET attempts = attempts + 1 WHERE event_id = ?", (event_id,)
        )

    async def command_done(self, event_id: str) -> None:
        await self.execute("DELETE FROM pending_commands WHERE event_id = ?", (event_id,))

    # Data-protection hooks: the person's direct chat and what still waits for it.

    async def personal_data_private(self, user_id: str) -> dict[str, Any]:
        data: dict[str, Any] = {}
        chat = await self.direct_chat(user_id)
        if chat:
            data["direct_chat"] = [{"room_id": chat[0], "origin": chat[1]}]
        pending = await self.pending_deliveries(user_id)
        if pending:
            data["pending_deliveries"] = [
                {"kind": p.kind, "filename": p.filename or "", "created_at": p.created_at}
                for p in pending
            ]
        return data

    async def forget_user_private(self, user_id: str) -> dict[str, int]:
        chats = await self.execute("DELETE FROM direct_chats WHERE user_id = ?", (user_id,))
        waiting = await self.execute("DELETE FROM pending_deliveries WHERE user_id = ?", (user_id,))
        counts = {"direct_chat": chats.rowcount, "pending_deliveries": waiting.rowcount}
        return {k: v for k, v in counts.items() if v}


PENDING_DELIVERY_DAYS = 1  # private content waits this long for its direct chat


# A pending command older than a day is far past any max_command_age.
PENDING_COMMAND_DAYS = 1

PERSONAL_DATA = (
    user_linked(
        PrivateStore.personal_data_private,
        PrivateStore.forget_user_private,
        name="direct_chat",
        kind=technical,
        tables={
            "direct_chats": ("user_id", "room_id", "origin"),
            "pending_deliveries": ("user_id", "payload", "filename", "mimetype", "kind", "txn"),
        },
        purpose="Der eine geprüfte Direktchat je Person (nur dorthin gehen persönliche Inhalte) "
        "und Inhalte, die dort noch auf die Zustellung warten.",
        purge=purge_before("pending_deliveries", "created_at", "s", days=PENDING_DELIVERY_DAYS),
        access_note="Die Zuordnung löscht `!vergessen`; wartende Zustellungen höchstens einen Tag.",
    ),
    technical(
        name="pending_commands",
        tables={"pending_commands": ("event_id", "room_id", "sender", "source")},
        purpose="Befehle, die noch nicht beantwortet sind, gehen bei Störungen und Neustarts "
        "nicht verloren.",
        link="direct",
        purge=purge_before("pending_commands", "ts", "ms", days=PENDING_COMMAND_DAYS),
        access_note="Nur bis zur Antwort, höchstens bis `matrix.max_command_age`; spätestens "
        "nach einem Tag gelöscht.",
    ),
)
