"""Queries for Working Out Loud: who looks for a circle, and the circles (members, schedule)."""

from __future__ import annotations

import json
from typing import Any

from bot.personal_data import Expiry
from bot.store.base import StoreBase, user_linked
from bot.store.exchange import CONTAINS_USER, compact_json, delete_older


class WolStore(StoreBase):
    async def add_wol_seeker(self, user_id: str, department: str | None, joined_at: str) -> bool:
        """True when the person was not on the list before (department is updated anyway)."""
        existed = await self.fetchone("SELECT 1 FROM wol_seekers WHERE user_id = ?", (user_id,))
        await self.execute(
            "INSERT INTO wol_seekers (user_id, department, joined_at) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET department = excluded.department",
            (user_id, department, joined_at),
        )
        return existed is None

    async def remove_wol_seeker(self, user_id: str) -> bool:
        cursor = await self.execute("DELETE FROM wol_seekers WHERE user_id = ?", (user_id,))
        return cursor.rowcount > 0

    async def wol_seekers(self) -> list[dict[str, Any]]:
        rows = await self.fetchall(
            "SELECT user_id, department FROM wol_seekers ORDER BY joined_at, user_id"
        )
        return [dict(row) for row in rows]

    async def create_wol_circles(
        self, source_event_id: str, circles: list[tuple[str, dict[str, Any]]]
    ) -> None:
        """Store newly formed circles and take their members off the list, once per command."""
        async with self.transaction():
            existing = await self.fetchone(
                "SELECT 1 FROM wol_circles WHERE source_event_id = ?", (source_event_id,)
            )
            if existing is not None:
                return
            for circle_id, state in circles:
                await self.execute(
                    "INSERT INTO wol_circles (circle_id, state, source_event_id) VALUES (?, ?, ?)",
                    (circle_id, compact_json(state), source_event_id),
                )
                for member in state["members"]:
                    await self.execute("DELETE FROM wol_seekers WHERE user_id = ?", (member,))

    async def wol_circles_from(self, source_event_id: str) -> list[dict[str, Any]]:
        rows = await self.fetchall(
            "SELECT state FROM wol_circles WHERE source_event_id = ? ORDER BY circle_id",
            (source_event_id,),
        )
        return [json.loads(row[0]) for row in rows]

    async def wol_circle_in_room(self, room_id: str) -> dict[str, Any] | None:
        row = await self.fetchone("SELECT state FROM wol_circles WHERE room_id = ?", (room_id,))
        return json.loads(row[0]) if row else None

    async def active_wol_circles(self) -> list[dict[str, Any]]:
        rows = await self.fetchall(
            "SELECT state FROM wol_circles WHERE ended = 0 AND room_id IS NOT NULL"
        )
        return [json.loads(row[0]) for row in rows]

    async def wol_pending_circles(self) -> list[dict[str, Any]]:
        """Circles whose room or welcome is still missing (e.g. after a crash)."""
        rows = await self.fetchall(
            "SELECT state FROM wol_circles WHERE welcomed = 0 AND ended = 0 ORDER BY circle_id"
        )
        return [json.loads(row[0]) for row in rows]

    async def mark_wol_circle_welcomed(self, circle_id: str) -> None:
        await self.execute("UPDATE wol_circles SET welcomed = 1 WHERE circle_id = ?", (circle_id,))

    async def save_wol_circle(self, state: dict[str, Any]) -> None:
        await self.execute(
            "UPDATE wol_circles SET state = ?, room_id = ?, ended = ? WHERE circle_id = ?",
            (
                compact_json(state),
                state.get("room_id"),
                int(bool(state.get("ended_at"))),
                state["circle_id"],
            ),
        )

    async def personal_data_wol(self, user_id: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        seeker = await self.fetchone(
            "SELECT user_id, department, joined_at FROM wol_seekers WHERE user_id = ?", (user_id,)
        )
        if seeker is not None:
            result["wol_suche"] = dict(seeker)
        circles = await self.fetchall(
            "SELECT state FROM wol_circles WHERE "
            + CONTAINS_USER.format(column="state, '$.members'"),
            (user_id,),
        )
        if circles:
            result["wol_circles"] = [json.loads(row[0]) for row in circles]
        return result

    async def forget_user_wol(self, user_id: str) -> dict[str, int]:
        seeker = await self.execute("DELETE FROM wol_seekers WHERE user_id = ?", (user_id,))
        circles = 0
        for row in await self.fetchall("SELECT circle_id, state FROM wol_circles"):
            state = json.loads(row[1])
            if user_id in state.get("members", []):
                state["members"] = [m for m in state["members"] if m != user_id]
                await self.execute(
                    "UPDATE wol_circles SET state = ? WHERE circle_id = ?",
                    (compact_json(state), row[0]),
                )
                circles += 1
        counts = {"wol_suche": seeker.rowcount, "wol_circles": circles}
        return {kind: n for kind, n in counts.items() if n}


async def _purge_wol(store: StoreBase, expiry: Expiry) -> int:
    seekers = await delete_older(
        store, "DELETE FROM wol_seekers WHERE datetime(joined_at) < datetime(?)", expiry
    )
    circles = await delete_older(
        store,
        "DELETE FROM wol_circles WHERE ended = 1"
        " AND datetime(json_extract(state, '$.ended_at')) < datetime(?)",
        expiry,
    )
    return seekers + circles


PERSONAL_DATA = (
    user_linked(
        WolStore.personal_data_wol,
        WolStore.forget_user_wol,
        name="wol",
        tables={
            "wol_seekers": ("user_id", "department"),
            "wol_circles": ("room_id", "state", "source_event_id"),
        },
        purpose="Working Out Loud: wer einen Circle sucht (mit Bereich) und die Mitglieder und "
        "Termine der gebildeten Circles.",
        recipients="die Mitglieder des jeweiligen Circles",
        purge=_purge_wol,
    ),
)
