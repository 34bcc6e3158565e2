"""Queries for Lean Coffee: the running session per room and the summaries of ended ones."""

from __future__ import annotations

import json
import time
from typing import Any

from bot.personal_data import Expiry
from bot.store.base import StoreBase, user_linked
from bot.store.exchange import ExchangeStore, compact_json, delete_older


class LeanCoffeeStore(ExchangeStore):
    async def lc_session(self, room_id: str) -> dict[str, Any] | None:
        row = await self.fetchone("SELECT state FROM lc_sessions WHERE room_id = ?", (room_id,))
        return json.loads(row[0]) if row else None

    async def lc_rooms(self) -> set[str]:
        return {row[0] for row in await self.fetchall("SELECT room_id FROM lc_sessions")}

    async def lc_due_rooms(self, now_ms: int) -> list[str]:
        rows = await self.fetchall(
            "SELECT room_id FROM lc_sessions WHERE deadline_ms IS NOT NULL AND deadline_ms <= ?"
            " ORDER BY deadline_ms",
            (now_ms,),
        )
        return [row[0] for row in rows]

    async def save_lc_session(
        self,
        room_id: str,
        state: dict[str, Any],
        deadline_ms: int | None,
        applied: tuple[str, list[dict]] | None = None,
    ) -> None:
        """Store the session; with ``applied`` (event id, posts) atomically with the command."""
        async with self.transaction():
            await self.execute(
                "INSERT INTO lc_sessions (room_id, state, deadline_ms, updated_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (room_id) DO UPDATE SET"
                " state = excluded.state, deadline_ms = excluded.deadline_ms,"
                " updated_at = excluded.updated_at",
                (room_id, compact_json(state), deadline_ms, int(time.time())),
            )
            if applied is not None:
                await self._record_applied(applied[0], room_id, applied[1])

    async def finish_lc_session(
        self,
        room_id: str,
        summary: dict[str, Any],
        source_event_id: str,
        applied: list[dict],
    ) -> None:
        """Remove the running session and keep its summary (totals and notes, no user ids)."""
        async with self.transaction():
            await self.execute(
                "INSERT OR IGNORE INTO lc_summaries"
                " (room_id, started_at, ended_at, summary, source_event_id) VALUES (?, ?, ?, ?, ?)",
                (
                    room_id,
                    summary["started_at"],
                    summary.get("ended_at"),
                    compact_json(summary),
                    source_event_id,
                ),
            )
            await self.execute("DELETE FROM lc_sessions WHERE room_id = ?", (room_id,))
            await self._record_applied(source_event_id, room_id, applied)

    async def lc_summaries(self, room_id: str | None = None) -> list[dict[str, Any]]:
        if room_id is None:
            rows = await self.fetchall("SELECT summary FROM lc_summaries ORDER BY id")
        else:
            rows = await self.fetchall(
                "SELECT summary FROM lc_summaries WHERE room_id = ? ORDER BY id", (room_id,)
            )
        return [json.loads(row[0]) for row in rows]

    async def personal_data_lean_coffee(self, user_id: str) -> dict[str, Any]:
        sessions = [
            state
            for state in [
                json.loads(r[0]) for r in await self.fetchall("SELECT state FROM lc_sessions")
            ]
            if state.get("host") == user_id or user_id in state.get("dots", {})
        ]
        if not sessions:
            return {}
        return {
            "lean_coffee": [
                {
                    "room_id": s["room_id"],
                    "host": s["host"] == user_id,
                    "dots": s.get("dots", {}).get(user_id, {}),
                }
                for s in sessions
            ]
        }

    async def forget_user_lean_coffee(self, user_id: str) -> dict[str, int]:
        sessions = 0
        for row in await self.fetchall("SELECT room_id, state FROM lc_sessions"):
            state = json.loads(row[1])
            changed = state.get("dots", {}).pop(user_id, None) is not None
            if state.get("host") == user_id:
                state["host"] = "–"  # moderators can still steer the session
                changed = True
            reactions = state.get("reactions", {})
            for key in [k for k, r in reactions.items() if r.get("user") == user_id]:
                del reactions[key]
                changed = True
            if state.get("extension_votes", {}).pop(user_id, None) is not None:
                changed = True
            if changed:
                await self.execute(
                    "UPDATE lc_sessions SET state = ? WHERE room_id = ?",
                    (compact_json(state), row[0]),
                )
                sessions += 1
        return {"lean_coffee": sessions} if sessions else {}


async def _purge_lean_coffee(store: StoreBase, expiry: Expiry) -> int:
    stale = int(expiry.cutoff().timestamp())
    sessions = await store.execute("DELETE FROM lc_sessions WHERE updated_at < ?", (stale,))
    summaries = await delete_older(
        store, "DELETE FROM lc_summaries WHERE datetime(started_at) < datetime(?)", expiry
    )
    return sessions.rowcount + summaries


PERSONAL_DATA = (
    user_linked(
        LeanCoffeeStore.personal_data_lean_coffee,
        LeanCoffeeStore.forget_user_lean_coffee,
        name="lean_coffee",
        tables={
            "lc_sessions": ("room_id", "state"),
            "lc_summaries": ("room_id", "summary", "source_event_id"),
        },
        purpose="Lean Coffee: laufende Sitzung (Moderation, Themen, Punkte) und die Notizen "
        "beendeter Sitzungen (ohne Matrix-IDs).",
        recipients="die Mitglieder des Raums",
        purge=_purge_lean_coffee,
    ),
)
