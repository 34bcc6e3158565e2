"""Queries for Kaffee-Tandem: members (opt-in, topics, pause), rounds and their groups."""

from __future__ import annotations

import json
from typing import Any

from bot.personal_data import Expiry
from bot.store.base import StoreBase, user_linked
from bot.store.exchange import CONTAINS_USER, compact_json, delete_older


class TandemStore(StoreBase):
    async def tandem_member(self, user_id: str) -> dict[str, Any] | None:
        row = await self.fetchone(
            "SELECT user_id, topics, paused_until FROM tandem_members WHERE user_id = ?",
            (user_id,),
        )
        return _member(row) if row else None

    async def tandem_members(self) -> list[dict[str, Any]]:
        return await self.fetch_each(
            _member, "SELECT user_id, topics, paused_until FROM tandem_members ORDER BY user_id"
        )

    async def save_tandem_member(
        self, user_id: str, topics: list[str], paused_until: str | None
    ) -> None:
        await self.execute(
            "INSERT INTO tandem_members (user_id, topics, paused_until) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET topics = excluded.topics,"
            " paused_until = excluded.paused_until",
            (user_id, compact_json(topics), paused_until),
        )

    async def delete_tandem_member(self, user_id: str) -> int:
        """Opt-out: the member row and every past grouping that names them."""
        cursor = await self.execute("DELETE FROM tandem_members WHERE user_id = ?", (user_id,))
        groups = await self.execute(
            "DELETE FROM tandem_groups WHERE " + CONTAINS_USER.format(column="members"),
            (user_id,),
        )
        return cursor.rowcount + groups.rowcount

    async def last_tandem_round(self) -> str | None:
        row = await self.fetchone("SELECT held_at FROM tandem_rounds ORDER BY id DESC LIMIT 1")
        return row[0] if row else None

    async def tandem_history(self, rounds: int) -> list[list[list[str]]]:
        """Groups of the last ``rounds`` rounds, oldest round first."""
        ids = [
            row[0]
            for row in await self.fetchall(
                "SELECT id FROM tandem_rounds ORDER BY id DESC LIMIT ?", (rounds,)
            )
        ]
        history = []
        for round_id in reversed(ids):
            rows = await self.fetchall(
                "SELECT members FROM tandem_groups WHERE round_id = ? ORDER BY position",
                (round_id,),
            )
            history.append([json.loads(row[0]) for row in rows])
        return history

    async def tandem_round(self, round_key: str) -> int | None:
        row = await self.fetchone("SELECT id FROM tandem_rounds WHERE round_key = ?", (round_key,))
        return int(row[0]) if row else None

    async def create_tandem_round(
        self, round_key: str, held_at: str, groups: list[list[str]], keep_rounds: int
    ) -> int:
        """Record a round and its groups once; older rounds beyond ``keep_rounds`` are deleted."""
        async with self.transaction():
            existing = await self.tandem_round(round_key)
            if existing is not None:
                return existing
            cursor = await self.execute(
                "INSERT INTO tandem_rounds (round_key, held_at) VALUES (?, ?)", (round_key, held_at)
            )
            round_id = int(cursor.lastrowid or 0)
            for position, members in enumerate(groups):
                await self.execute(
                    "INSERT INTO tandem_groups (round_id, position, members) VALUES (?, ?, ?)",
                    (round_id, position, compact_json(list(members))),
                )
            await self.execute(
                "DELETE FROM tandem_rounds WHERE id NOT IN"
                " (SELECT id FROM tandem_rounds ORDER BY id DESC LIMIT ?)",
                (keep_rounds,),
            )
            return round_id

    async def tandem_round_groups(self, round_id: int) -> list[tuple[int, list[str], str | None]]:
        rows = await self.fetchall(
            "SELECT position, members, room_id FROM tandem_groups WHERE round_id = ?"
            " ORDER BY position",
            (round_id,),
        )
        return [(int(row[0]), json.loads(row[1]), row[2]) for row in rows]

    async def set_tandem_group_room(self, round_id: int, position: int, room_id: str) -> None:
        await self.execute(
            "UPDATE tandem_groups SET room_id = ? WHERE round_id = ? AND position = ?",
            (room_id, round_id, position),
        )

    async def tandem_pending_groups(self) -> list[tuple[int, str, int, list[str], str | None]]:
        """Groups whose introduction is not posted yet: (round id, round key, position,
        members, room id or None)."""
        rows = await self.fetchall(
            "SELECT g.round_id, r.round_key, g.position, g.members, g.room_id"
            " FROM tandem_groups g JOIN tandem_rounds r ON r.id = g.round_id"
            " WHERE g.introduced = 0 ORDER BY g.round_id, g.position"
        )
        return [(int(r[0]), r[1], int(r[2]), json.loads(r[3]), r[4]) for r in rows]

    async def mark_tandem_group_introduced(self, round_id: int, position: int) -> None:
        await self.execute(
            "UPDATE tandem_groups SET introduced = 1 WHERE round_id = ? AND position = ?",
            (round_id, position),
        )

    async def personal_data_tandem(self, user_id: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        member = await self.tandem_member(user_id)
        if member is not None:
            result["kaffee_tandem"] = member
        groups = await self.fetchall(
            "SELECT r.held_at, g.members, g.room_id FROM tandem_groups g"
            " JOIN tandem_rounds r ON r.id = g.round_id WHERE "
            + CONTAINS_USER.format(column="g.members")
            + " ORDER BY r.id",
            (user_id,),
        )
        if groups:
            result["kaffee_tandem_runden"] = [
                {"held_at": row[0], "members": json.loads(row[1]), "room_id": row[2]}
                for row in groups
            ]
        return result

    async def forget_user_tandem(self, user_id: str) -> dict[str, int]:
        deleted = await self.delete_tandem_member(user_id)
        return {"kaffee_tandem": deleted} if deleted else {}


def _member(row: Any) -> dict[str, Any]:
    return {"user_id": row[0], "topics": json.loads(row[1]), "paused_until": row[2]}


async def _purge_tandem(store: StoreBase, expiry: Expiry) -> int:
    return await delete_older(
        store, "DELETE FROM tandem_rounds WHERE datetime(held_at) < datetime(?)", expiry
    )


PERSONAL_DATA = (
    user_linked(
        TandemStore.personal_data_tandem,
        TandemStore.forget_user_tandem,
        name="tandem",
        tables={
            "tandem_members": ("user_id", "topics", "paused_until"),
            "tandem_rounds": ("round_key",),
            "tandem_groups": ("members", "room_id"),
        },
        purpose="Kaffee-Tandem: Anmeldung (Opt-in) mit Themen und Pause; wer in den letzten "
        "Runden mit wem zusammenkam, damit sich Paare nicht wiederholen.",
        recipients="die jeweiligen Tandem-Partnerinnen und -Partner",
        purge=_purge_tandem,
    ),
)
