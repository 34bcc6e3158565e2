"""Queries for the anonymous search log and gap insight (migration 0005).

No query here takes or returns a user or room ID: the search log cannot hold them (see the
migration). Wishes live in the shared feedback table (``bot/store/feedback.py``).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.store.base import StoreBase

_SALT_KEY = "insights:salt"


@dataclass(frozen=True)
class SearchLogRecord:
    day: str  # YYYY-MM-DD, local
    topic: str  # sorted stems, space-separated
    words: str  # folded query words, space-separated
    filters: str
    result_count: int
    relaxed: bool
    room_category: str | None = None
    dedupe: str | None = None


@dataclass(frozen=True)
class TopicStatRow:
    """One (topic, wording) group of the search log in a period."""

    topic: str
    words: str
    searches: int
    gaps: int  # searches without result or with partial matches only
    opened: int
    paged: int


class InsightsStore(StoreBase):
    async def insights_salt(self) -> bytes:
        """A random secret for the dedupe hashes, created once per database."""
        value = await self._kv_get(_SALT_KEY)
        if value is None:
            await self.execute(
                "INSERT OR IGNORE INTO kv (key, value) VALUES (?, ?)",
                (_SALT_KEY, secrets.token_hex(32)),
            )
            value = await self._kv_get(_SALT_KEY)
        return (value or "").encode()

    async def _kv_get(self, key: str) -> str | None:
        row = await self.fetchone("SELECT value FROM kv WHERE key = ?", (key,))
        return str(row[0]) if row else None

    async def log_search(self, record: SearchLogRecord, shown_ids: Sequence[str]) -> int | None:
        """Store one search (once per dedupe key) and count the entries it showed.

        Returns the row id, also when the search was already logged (so paging can be linked).
        """
        async with self.transaction():
            cursor = await self.execute(
                "INSERT OR IGNORE INTO search_log (day, room_category, topic, words, filters,"
                " result_count, relaxed, dedupe) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.day,
                    record.room_category,
                    record.topic,
                    record.words,
                    record.filters,
                    record.result_count,
                    int(record.relaxed),
                    record.dedupe,
                ),
            )
            if cursor.rowcount == 1:
                await self._count_shown(record.day, shown_ids)
                return cursor.lastrowid
        if record.dedupe is None:
            return None
        row = await self.fetchone("SELECT id FROM search_log WHERE dedupe = ?", (record.dedupe,))
        return int(row[0]) if row else None

    async def count_shown(self, day: str, shown_ids: Sequence[str]) -> None:
        """Entries shown on a further page (``!mehr``)."""
        async with self.transaction():
            await self._count_shown(day, shown_ids)

    async def _count_shown(self, day: str, shown_ids: Iterable[str]) -> None:
        await self.executemany(
            "INSERT INTO search_hits (offering_id, day, shown) VALUES (?, ?, 1)"
            " ON CONFLICT (offering_id, day) DO UPDATE SET shown = shown + 1",
            [(offering_id, day) for offering_id in dict.fromkeys(shown_ids)],
        )

    async def mark_search_paged(self, search_id: int) -> None:
        await self.execute("UPDATE search_log SET paged = 1 WHERE id = ?", (search_id,))

    async def mark_search_opened(self, search_id: int) -> None:
        await self.execute("UPDATE search_log SET opened = 1 WHERE id = ?", (search_id,))

    async def clear_search_dedupe_before(self, day: str) -> int:
        """Drop the dedupe hashes of past days: afterwards no row can be tied to a person."""
        cursor = await self.execute(
            "UPDATE search_log SET dedupe = NULL WHERE day < ? AND dedupe IS NOT NULL", (day,)
        )
        return cursor.rowcount

    async def search_topic_stats(
        self, since_day: str | None = None, until_day: str | None = None
    ) -> list[TopicStatRow]:
        """Searches with a text, grouped by topic and wording, in ``[since_day, until_day]``."""
        clauses, params = ["topic != ''"], []
        if since_day is not None:
            clauses.append("day >= ?")
            params.append(since_day)
        if until_day is not None:
            clauses.append("day <= ?")
            params.append(until_day)
        rows = await self.fetchall(
            "SELECT topic, words, COUNT(*), SUM(result_count = 0 OR relaxed), SUM(opened),"
            f" SUM(paged) FROM search_log WHERE {' AND '.join(clauses)} GROUP BY topic, words",
            params,
        )
        return [
            TopicStatRow(str(r[0]), str(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]))
            for r in rows
        ]

    async def shown_offering_ids(self, since_day: str | None = None) -> set[str]:
        rows = await self.fetchall(
            "SELECT DISTINCT offering_id FROM search_hits WHERE day >= ?", (since_day or "",)
        )
        return {str(r[0]) for r in rows}

    async def count_searches(self, since_day: str | None = None) -> int:
        row = await self.fetchone(
            "SELECT COUNT(*) FROM search_log WHERE day >= ?", (since_day or "",)
        )
        return int(row[0]) if row else 0

    async def delete_search_log_before(self, day: str) -> int:
        """Retention (privacy.retention_days)."""
        async with self.transaction():
            cursor = await self.execute("DELETE FROM search_log WHERE day < ?", (day,))
            await self.execute("DELETE FROM search_hits WHERE day < ?", (day,))
        return cursor.rowcount
