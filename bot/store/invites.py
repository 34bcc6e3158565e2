"""Queries for invites the bot is still trying to accept (migration 0020; bot/matrix/retry.py)."""

from __future__ import annotations

import time
from typing import Any

from bot.store.base import StoreBase, purge_before, technical, user_linked


class InviteStore(StoreBase):
    async def remember_invite(self, room_id: str, inviter: str) -> None:
        await self.execute(
            "INSERT OR IGNORE INTO pending_invites (room_id, inviter, invited_at) VALUES (?, ?, ?)",
            (room_id, inviter, int(time.time())),
        )

    async def forget_invite(self, room_id: str) -> None:
        await self.execute("DELETE FROM pending_invites WHERE room_id = ?", (room_id,))

    async def forget_invites_before(self, unix_seconds: int) -> int:
        return await self.delete_before("pending_invites", "invited_at", unix_seconds)

    async def pending_invites(self, since_unix: int) -> list[tuple[str, str]]:
        """(room, inviter) of invites from ``since_unix`` on; older ones are dropped."""
        await self.forget_invites_before(since_unix)
        rows = await self.fetchall(
            "SELECT room_id, inviter FROM pending_invites ORDER BY invited_at, room_id"
        )
        return [(row[0], row[1]) for row in rows]

    async def personal_data_invites(self, user_id: str) -> dict[str, list[dict[str, Any]]]:
        rows = await self.fetchall(
            "SELECT room_id, invited_at FROM pending_invites WHERE inviter = ? ORDER BY room_id",
            (user_id,),
        )
        return {"pending_invites": [dict(row) for row in rows]} if rows else {}

    async def forget_user_invites(self, user_id: str) -> dict[str, int]:
        cursor = await self.execute("DELETE FROM pending_invites WHERE inviter = ?", (user_id,))
        return {"pending_invites": cursor.rowcount} if cursor.rowcount else {}


PENDING_INVITE_DAYS = 7  # an invite older than this is dropped: nobody waits a week for the bot


PERSONAL_DATA = (
    user_linked(
        InviteStore.personal_data_invites,
        InviteStore.forget_user_invites,
        name="pending_invites",
        kind=technical,
        tables={"pending_invites": ("room_id", "inviter")},
        purpose="Einladungen, die der Bot noch annehmen will (z. B. wenn der einladende Server "
        "eines anderen Hauses noch nicht bereit war); auch nach einem Neustart.",
        purge=purge_before("pending_invites", "invited_at", "s", days=PENDING_INVITE_DAYS),
        access_note="Gelöscht, sobald der Bot beigetreten ist oder endgültig abgelehnt wurde, "
        "spätestens nach 7 Tagen.",
    ),
)
