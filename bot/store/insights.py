"""Queries for the anonymous search log and gap insight (migration 0005).

No query here returns a user or room ID: the search log cannot hold them (see the migration).
Wishes live in the shared feedback table (``bot/store/feedback.py``).

Distinct people per topic (migration 0011) are counted with keyed hashes under a random key per
month; :meth:`InsightsStore.aggregate_people_before` turns a finished month into plain numbers and
deletes its hashes and its key. A report's figure of people is a lower bound: the largest number
of distinct people in any single month of the period (people cannot be matched across months),
so a group shown really has at least that many people behind it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.personal_data import LEGAL_BASIS_TASK, Category, Expiry
from bot.store.base import StoreBase, technical

_SALT_KEY = "insights:salt"
_PEOPLE_KEY = "insights:people_key:{month}"


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
    people: int = 0  # distinct people behind the topic (lower bound, see the module docstring)


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
        people = await self.people_per_topic("search", since_day, until_day)
        return [TopicStatRow(*_stat(r), people=people.get(r[0], 0)) for r in rows]

    # ------------------------------------------------------------------ distinct people

    async def count_people(
        self, kind: str, topics: Iterable[str], user_id: str, day: dt.date
    ) -> None:
        """Note that ``user_id`` stands behind ``topics`` on ``day`` (as keyed hashes only)."""
        month = day.strftime("%Y-%m")
        key = await self._people_key(month)
        rows = [
            (kind, topic, day.isoformat(), _person(key, month, kind, topic, user_id))
            for topic in dict.fromkeys(topics)
            if topic
        ]
        await self.executemany(
            "INSERT OR IGNORE INTO group_people (kind, topic, day, person) VALUES (?, ?, ?, ?)",
            rows,
        )

    async def _people_key(self, month: str) -> bytes:
        name = _PEOPLE_KEY.format(month=month)
        await self.execute(
            "INSERT OR IGNORE INTO kv (key, value) VALUES (?, ?)", (name, secrets.token_hex(32))
        )
        return (await self._kv_get(name) or "").encode()

    async def people_per_topic(
        self, kind: str, since_day: str | None = None, until_day: str | None = None
    ) -> dict[str, int]:
        """Distinct people per topic in ``[since_day, until_day]``: the largest monthly figure.

        Open months count their hashes inside the period; finished months count only when the
        period covers them completely (their hashes are gone, the number is for the whole month).
        """
        since, until = since_day or "0000-01-01", until_day or "9999-12-31"
        # One row per topic from SQLite: a year of month figures must not cross into Python.
        rows = await self.fetchall(
            "SELECT topic, MAX(n) FROM ("
            " SELECT topic, COUNT(DISTINCT person) AS n FROM group_people"
            " WHERE kind = ? AND day >= ? AND day <= ? GROUP BY topic, substr(day, 1, 7)"
            " UNION ALL"
            " SELECT topic, people AS n FROM group_sizes WHERE kind = ? AND month || '-01' >= ?"
            " AND date(month || '-01', '+1 month', '-1 day') <= ?"
            ") GROUP BY topic",
            (kind, since, until, kind, since, until),
        )
        return {str(r[0]): int(r[1]) for r in rows}

    async def aggregate_people_before(self, month: str) -> int:
        """Turn every month before ``month`` (YYYY-MM) into numbers; delete hashes and keys."""
        async with self.transaction():
            await self.execute(
                "INSERT INTO group_sizes (kind, topic, month, people)"
                " SELECT kind, topic, substr(day, 1, 7), COUNT(DISTINCT person) FROM group_people"
                " WHERE substr(day, 1, 7) < ? GROUP BY kind, topic, substr(day, 1, 7)"
                " ON CONFLICT (kind, topic, month) DO UPDATE"
                " SET people = max(people, excluded.people)",
                (month,),
            )
            cursor = await self.execute(
                "DELETE FROM group_people WHERE substr(day, 1, 7) < ?", (month,)
            )
            await self.execute(
                "DELETE FROM kv WHERE key LIKE 'insights:people_key:%' AND key < ?",
                (_PEOPLE_KEY.format(month=month),),
            )
        return cursor.rowcount

    async def delete_group_sizes_before(self, month: str) -> int:
        """Retention of the aggregated numbers."""
        return await self.delete_before("group_sizes", "month", month)

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
            await self.delete_before("search_hits", "day", day)
            return await self.delete_before("search_log", "day", day)


def _person(key: bytes, month: str, kind: str, topic: str, user_id: str) -> str:
    message = "\x1f".join(("impulsbot/people/v1", month, kind, topic, user_id)).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def _stat(row: Any) -> tuple[str, str, int, int, int, int]:
    return str(row[0]), str(row[1]), int(row[2]), int(row[3]), int(row[4]), int(row[5])


# --- declared personal data (bot/personal_data.py) ----------------------------------------------


async def _purge_search_log(store: InsightsStore, expiry: Expiry) -> int:
    await store.clear_search_dedupe_before(expiry.today.isoformat())
    return await store.delete_search_log_before(expiry.cutoff_day())


async def _aggregate_people(store: InsightsStore, expiry: Expiry) -> int:
    return await store.aggregate_people_before(expiry.today.strftime("%Y-%m"))


async def _purge_group_sizes(store: InsightsStore, expiry: Expiry) -> int:
    return await store.delete_group_sizes_before(expiry.cutoff_day()[:7])


PERSONAL_DATA = (
    Category(
        name="search_log",
        tables={"search_log": ("topic", "words", "filters", "dedupe")},
        purpose="Leerstellen im Angebotskatalog finden: was gesucht und nicht gefunden wurde "
        "(nur normalisierte Suchbegriffe, Datum, grobe Raumkategorie).",
        link="anonymous",
        legal_basis=LEGAL_BASIS_TASK,
        purge=_purge_search_log,
        access_note="Ohne Matrix-ID und Raum; die Prüfsumme gegen Doppelzählung (Person, Tag, "
        "Suche) wird nach Tagesende gelöscht.",
    ),
    technical(
        name="group_people",
        tables={"group_people": ("topic", "person")},
        purpose="Mindestgruppe: ein Thema erscheint in Übersichten erst, wenn genug verschiedene "
        "Personen danach gesucht oder es gewünscht haben.",
        link="pseudonymous",
        purge=_aggregate_people,
        access_note="Schlüssel-Hash je Monat, Art und Thema; am Monatsende samt Schlüssel "
        "gelöscht, danach bleiben nur Zahlen.",
    ),
    Category(
        name="group_sizes",
        tables={"group_sizes": ("topic",)},
        purpose="Zahl verschiedener Personen je Thema und abgeschlossenem Monat.",
        link="anonymous",
        legal_basis=LEGAL_BASIS_TASK,
        purge=_purge_group_sizes,
    ),
)
