"""Queries for feedback, reactions, replies and wishes (migrations 0004, 0010).

Anonymous entries are made anonymous here, whoever calls: :meth:`FeedbackStore.add_feedback`
drops the room, the event ID and the time of day of a record without ``user_id`` and keeps only a
keyed hash of the event ID (cleared after a day) so that a re-run does not store it twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from bot.personal_data import Category, Expiry
from bot.store.base import StoreBase, purge_before

FEEDBACK_FIELDS = "id, created_at, room_id, kind, reference, rating, text, user_id, source_event_id"
ANONYMOUS_KEY = "privacy:anonymous_key"
DAY_MS = 86_400_000
ROWS_PER_QUERY = 5000  # rows per page when the export reads the table


def day_start_ms(timestamp_ms: int, tz: dt.tzinfo) -> int:
    """Midnight (in ``tz``) of the day of ``timestamp_ms``, in unix milliseconds."""
    day = dt.datetime.fromtimestamp(timestamp_ms / 1000, tz).date()
    return int(dt.datetime.combine(day, dt.time(0, 0), tzinfo=tz).timestamp() * 1000)


@dataclass(frozen=True)
class FeedbackRecord:
    created_at: int
    room_id: str | None
    kind: str  # feedback | reaction | reply | wish
    text: str
    source_event_id: str | None
    user_id: str | None = None  # None: anonymous
    reference: str | None = None
    rating: int | None = None


class FeedbackStore(StoreBase):
    async def add_feedback(self, record: FeedbackRecord, tz: dt.tzinfo = dt.UTC) -> bool:
        """Store once per source event; False when it was already stored.

        Without ``user_id`` the record is stored anonymously (see the module docstring);
        Its time becomes the midnight (in ``tz``) of its day: the date is all that is kept.
        """
        dedupe = None
        if record.user_id is None:
            dedupe = await self._anonymous_dedupe(record.source_event_id or "")
            reference = record.reference
            if reference and reference.startswith("event:"):
                reference = None  # an event ID leads back to the conversation
            record = FeedbackRecord(
                created_at=day_start_ms(record.created_at, tz),
                room_id=None,
                kind=record.kind,
                text=record.text,
                source_event_id=None,
                reference=reference,
                rating=record.rating,
            )
        # An anonymous row gets a random negative id: a sequential one, sitting between two named
        # rows, would date it to the minute. Named rows count on from the largest positive id, so
        # their ids never follow an anonymous one either.
        row_id = -(secrets.randbelow(2**62) + 1) if record.user_id is None else None
        cursor = await self.execute(
            "INSERT OR IGNORE INTO feedback (id, created_at, room_id, kind, reference, rating,"
            " text, user_id, source_event_id, dedupe) VALUES (COALESCE(?, (SELECT"
            " COALESCE(MAX(id), 0) + 1 FROM feedback WHERE id > 0)), ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                row_id,
                record.created_at,
                record.room_id,
                record.kind,
                record.reference,
                record.rating,
                record.text,
                record.user_id,
                record.source_event_id,
                dedupe,
            ),
        )
        return cursor.rowcount == 1

    async def _anonymous_dedupe(self, event_id: str) -> str:
        # The secret is random and lives apart from the rows; the hashes are cleared after a day,
        # so even with the secret no stored row can be matched to an event later.
        row = await self.fetchone("SELECT value FROM kv WHERE key = ?", (ANONYMOUS_KEY,))
        if row is None:
            await self.execute(
                "INSERT OR IGNORE INTO kv (key, value) VALUES (?, ?)",
                (ANONYMOUS_KEY, secrets.token_hex(32)),
            )
            row = await self.fetchone("SELECT value FROM kv WHERE key = ?", (ANONYMOUS_KEY,))
        key = str(row[0]).encode() if row else b""
        message = b"impulsbot/anonymous/v1\x1f" + event_id.encode()
        return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]

    async def clear_anonymous_dedupe_before(self, before_ms: int) -> int:
        """Forget the idempotency hashes of anonymous entries older than ``before_ms``."""
        cursor = await self.execute(
            "UPDATE feedback SET dedupe = NULL WHERE dedupe IS NOT NULL AND created_at < ?",
            (before_ms,),
        )
        return cursor.rowcount

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
        last_id = -(2**63)  # anonymous rows have negative ids
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
        """Whether a source event was already recorded (a re-run after a crash), named or not."""
        row = await self.fetchone(
            "SELECT 1 FROM feedback WHERE source_event_id = ? OR dedupe = ?",
            (source_event_id, await self._anonymous_dedupe(source_event_id)),
        )
        return row is not None

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


# --- declared personal data (bot/personal_data.py) ----------------------------------------------


async def _purge_anonymous_dedupe(store: FeedbackStore, expiry: Expiry) -> int:
    # A command older than a day is never handled again: its idempotency hash has done its job.
    return await store.clear_anonymous_dedupe_before(expiry.cutoff_ms(1))


PERSONAL_DATA = (
    Category(
        name="feedback",
        tables={"feedback": ("user_id", "room_id", "source_event_id", "reference", "text")},
        purpose="Rückmeldungen, Bewertungen, Reaktionen, Antworten und Wünsche, mit denen das "
        "Initiativteam Impulse und Angebote verbessert.",
        link="direct",
        export=FeedbackStore.personal_data_feedback,
        erase=FeedbackStore.forget_user_feedback,
        purge=purge_before("feedback", "created_at", "ms"),
    ),
    Category(
        name="anonymous_feedback",
        tables={"feedback": ("text", "dedupe")},
        purpose="Anonyme Rückmeldungen und Wünsche (nur im Direktchat angenommen).",
        link="anonymous",
        purge=_purge_anonymous_dedupe,
        access_note="Ohne Matrix-ID, Raum, Ereignis-ID und Uhrzeit gespeichert: keiner Person "
        "zuordenbar, daher keine Auskunft oder Löschung für einzelne Personen. Gelöscht mit den "
        "übrigen Rückmeldungen nach Ablauf der Frist.",
    ),
)


def export_rows(
    db: sqlite3.Connection,
    since_ms: int | None,
    until_ms: int | None,
    room_id: str | None,
    *,
    room_name_key: str,
) -> Iterator[dict[str, Any]]:
    """Stored feedback in id order for the export's writer process (a synchronous, read-only
    connection of its own), with ``timestamp`` and the room name the bot last saved under
    ``room_name_key`` (``"roomname:{room_id}"``). Reads in pages: memory stays flat."""
    names: dict[str, str] = {}
    clauses, params = StoreBase.window_clauses(since_ms, until_ms, room_id)
    where = " AND ".join([*clauses, "id > ?"])
    last_id = -(2**63)  # anonymous rows have negative ids
    while True:
        rows = db.execute(
            f"SELECT {FEEDBACK_FIELDS} FROM feedback WHERE {where} ORDER BY id LIMIT ?",
            (*params, last_id, ROWS_PER_QUERY),
        ).fetchall()
        if not rows:
            return
        for row in rows:
            record = dict(row)
            room = record["room_id"]
            if room not in names:
                name = db.execute(
                    "SELECT value FROM kv WHERE key = ?", (room_name_key.format(room_id=room),)
                ).fetchone()
                names[room] = name[0] if name else ""
            record["timestamp"] = record["created_at"]
            record["room_name"] = names[room]
            yield record
        last_id = rows[-1]["id"]
