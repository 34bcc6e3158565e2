"""Queries for feedback, reactions, replies and wishes (migration 0004); data-protection hooks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from bot.store.base import StoreBase

FEEDBACK_FIELDS = "id, created_at, room_id, kind, reference, rating, text, user_id, source_event_id"


@dataclass(frozen=True)
class FeedbackRecord:
    created_at: int
    room_id: str
    kind: str  # feedback | reaction | reply | wish
    text: str
    source_event_id: str
    user_id: str | None = None  # None: anonymous
    reference: str | None = None
    rating: int | None = None


class FeedbackStore(StoreBase):
    async def add_feedback(self, record: FeedbackRecord) -> bool:
        """Store once per source event; False when it was already stored."""
        cursor = await self.execute(
            "INSERT OR IGNORE INTO feedback (created_at, room_id, kind, reference, rating, text,"
            " user_id, source_event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.created_at,
                record.room_id,
                record.kind,
                record.reference,
                record.rating,
                record.text,
                record.user_id,
                record.source_event_id,
            ),
        )
        return cursor.rowcount == 1

    async def remove_feedback_by_source(self, source_event_id: str) -> bool:
        """A redacted reaction or reply disappears from the data, too."""
        cursor = await self.execute(
            "DELETE FROM feedback WHERE source_event_id = ?", (source_event_id,)
        )
        return cursor.rowcount > 0

    async def iter_feedback(
        self,
        since_ms: int | None = None,
        until_ms: int | None = None,
        room_id: str | None = None,
        batch: int = 5000,
    ) -> AsyncIterator[dict[str, Any]]:
        """Stream feedback rows in id order without loading them all (1,000,000 rows stay flat)."""
        last_id = 0
        while True:
            clauses, params = self.window_clauses(since_ms, until_ms, room_id)
            clauses.append("id > ?")
            params.append(last_id)
            rows = await self.fetchall(
                f"SELECT {FEEDBACK_FIELDS} FROM feedback WHERE {' AND '.join(clauses)}"
                " ORDER BY id LIMIT ?",
                (*params, batch),
            )
            if not rows:
                return
            for row in rows:
                yield dict(row)
            last_id = rows[-1]["id"]

    async def count_feedback_since(self, user_id: str, kind: str, since_ms: int) -> int:
        row = await self.fetchone(
            "SELECT COUNT(*) FROM feedback WHERE user_id = ? AND kind = ? AND created_at >= ?",
            (user_id, kind, since_ms),
        )
        return int(row[0]) if row else 0

    async def feedback_stored(self, source_event_id: str) -> bool:
        """Whether a source event was already recorded (a re-run after a crash)."""
        row = await self.fetchone(
            "SELECT 1 FROM feedback WHERE source_event_id = ?", (source_event_id,)
        )
        return row is not None

    async def delete_feedback_before(self, before_ms: int) -> int:
        cursor = await self.execute("DELETE FROM feedback WHERE created_at < ?", (before_ms,))
        return cursor.rowcount

    # Data-protection hooks (collected by StoreBase.personal_data / forget_user).

    async def personal_data_feedback(self, user_id: str) -> dict[str, list[dict[str, Any]]]:
        rows = await self.fetchall(
            f"SELECT {FEEDBACK_FIELDS} FROM feedback WHERE user_id = ? ORDER BY id", (user_id,)
        )
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            grouped.setdefault(row["kind"], []).append(dict(row))
        return grouped

    async def forget_user_feedback(self, user_id: str) -> dict[str, int]:
        rows = await self.fetchall(
            "SELECT kind, COUNT(*) FROM feedback WHERE user_id = ? GROUP BY kind", (user_id,)
        )
        await self.execute("DELETE FROM feedback WHERE user_id = ?", (user_id,))
        return {row[0]: int(row[1]) for row in rows}
