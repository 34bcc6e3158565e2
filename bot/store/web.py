"""Queries of the team dashboard (migration 0018): login links, sessions, the login audit log,
and the aggregates and filtered feedback lists its pages show.

Tokens and session IDs arrive here already hashed; nothing in these tables opens a session.
Aggregates run in SQL so that a page stays fast with 100,000 feedback rows.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from bot.personal_data import Expiry
from bot.store.base import StoreBase, technical
from bot.store.feedback import FEEDBACK_FIELDS, FeedbackRecord
from bot.store.impulses import ImpulseSubscription, _subscription

_SECRET_KEY = "web:secret"


@dataclass(frozen=True)
class FeedbackFilter:
    """The filters of ``/rueckmeldungen``; ``None`` means "any"."""

    since_ms: int | None = None
    until_ms: int | None = None
    room_ids: tuple[str, ...] | None = None  # a room category resolved to its rooms
    reference: str | None = None
    kind: str | None = None
    rating: int | None = None
    query: str | None = None

    def where(self) -> tuple[str, list[Any]]:
        clauses, params = StoreBase.window_clauses(self.since_ms, self.until_ms, None)
        if self.room_ids is not None:
            # "+": no index on room_id here; a plain scan beats 50,000 index-then-row lookups.
            clauses.append(f"+room_id IN ({','.join('?' * len(self.room_ids))})")
            params.extend(self.room_ids)
        for column, value in (
            ("reference", self.reference),
            ("kind", self.kind),
            ("rating", self.rating),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.query:
            escaped = self.query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append("text LIKE ? ESCAPE '\\'")
            params.append(f"%{escaped}%")
        return (" AND ".join(clauses) or "1"), params


class WebStore(StoreBase):
    # ------------------------------------------------------------------ secrets and tokens

    async def web_secret(self) -> bytes:
        """The key that signs session cookies, created once per database."""
        cached: bytes | None = getattr(self, "_web_secret", None)
        if cached is not None:
            return cached
        await self.execute(
            "INSERT OR IGNORE INTO kv (key, value) VALUES (?, ?)",
            (_SECRET_KEY, secrets.token_hex(32)),
        )
        row = await self.fetchone("SELECT value FROM kv WHERE key = ?", (_SECRET_KEY,))
        assert row is not None
        self._web_secret = bytes.fromhex(row[0])
        return self._web_secret

    async def _add_expiring(
        self, table: str, key: str, values: tuple[str, str, int, int], expired_before: int
    ) -> None:
        """A new login token or session (hash, user, created, expires); spent ones go first."""
        await self.delete_before(table, "expires_at", expired_before)
        await self.execute(
            f"INSERT INTO {table} ({key}, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
            values,
        )

    async def add_login_token(self, token_hash: str, user_id: str, now_ms: int, ttl_ms: int):
        values = (token_hash, user_id, now_ms, now_ms + ttl_ms)
        await self._add_expiring("web_login_tokens", "token_hash", values, now_ms - 86_400_000)

    async def consume_login_token(self, token_hash: str, now_ms: int) -> str | None:
        """The user of a valid, unused token, marking it used in the same statement."""
        row = await self.fetchone(
            "UPDATE web_login_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL"
            " AND expires_at > ? RETURNING user_id",
            (now_ms, token_hash, now_ms),
        )
        return row[0] if row else None

    async def create_session(self, session_hash: str, user_id: str, now_ms: int, ttl_ms: int):
        values = (session_hash, user_id, now_ms, now_ms + ttl_ms)
        await self._add_expiring("web_sessions", "session_hash", values, now_ms)

    async def session_user(self, session_hash: str, now_ms: int) -> str | None:
        row = await self.fetchone(
            "SELECT user_id FROM web_sessions WHERE session_hash = ? AND expires_at > ?",
            (session_hash, now_ms),
        )
        return row[0] if row else None

    async def end_session(self, session_hash: str) -> None:
        await self.execute("DELETE FROM web_sessions WHERE session_hash = ?", (session_hash,))

    async def audit(self, user_id: str | None, action: str, now_ms: int) -> None:
        await self.execute(
            "INSERT INTO web_audit (at, user_id, action) VALUES (?, ?, ?)",
            (now_ms, user_id, action),
        )

    async def purge_web(self, now_ms: int, audit_before_ms: int) -> int:
        """Drop spent links, ended sessions and audit entries past the retention period."""
        await self.delete_before("web_login_tokens", "expires_at", now_ms)
        await self.delete_before("web_sessions", "expires_at", now_ms)
        return await self.delete_before("web_audit", "at", audit_before_ms)

    async def audit_actions(self, user_id: str) -> list[str]:
        rows = await self.fetchall(
            "SELECT action FROM web_audit WHERE user_id = ? ORDER BY id", (user_id,)
        )
        return [row[0] for row in rows]

    # ------------------------------------------------------------------ dashboard figures

    async def count_rooms(self) -> int:
        """Rooms the bot serves, without the direct chats it opened itself (``dm:`` keys)."""
        row = await self.fetchone(
            "SELECT COUNT(*) FROM rooms WHERE room_id NOT IN"
            " (SELECT value FROM kv WHERE key LIKE 'dm:%')"
        )
        return int(row[0]) if row else 0

    async def count_impulses_posted(self, since_ms: int | None = None) -> int:
        row = await self.fetchone(
            "SELECT COUNT(*) FROM impulse_posts WHERE status = 'posted' AND posted_at >= ?",
            (since_ms or 0,),
        )
        return int(row[0]) if row else 0

    async def feedback_hour_counts(
        self, since_ms: int, impulses_only: bool = False
    ) -> list[tuple[int, int]]:
        """(hour start in unix ms, count) since ``since_ms``; the caller maps hours to local
        weeks (time zone offsets are whole hours, so no row lands in the wrong week)."""
        # "+reference": the time window is the selective part, not the half of all rows with
        # an impulse reference.
        only = " AND +reference >= 'impuls:' AND +reference < 'impuls;'" if impulses_only else ""
        rows = await self.fetchall(
            "SELECT created_at / 3600000 AS hour, COUNT(*) FROM feedback WHERE created_at >= ?"
            f"{only} GROUP BY hour ORDER BY hour",
            (since_ms,),
        )
        return [(int(r[0]) * 3_600_000, int(r[1])) for r in rows]

    async def feedback_kind_counts(self, since_ms: int | None = None) -> dict[str, int]:
        rows = await self.fetchall(
            "SELECT kind, COUNT(*) FROM feedback WHERE created_at >= ? GROUP BY kind",
            (since_ms or 0,),
        )
        return {r[0]: int(r[1]) for r in rows}

    async def feedback_rating_stats(self, since_ms: int | None = None) -> tuple[int, int]:
        """(number of ratings, sum of ratings)."""
        row = await self.fetchone(
            "SELECT COUNT(rating), COALESCE(SUM(rating), 0) FROM feedback"
            " WHERE created_at >= ? AND rating IS NOT NULL",
            (since_ms or 0,),
        )
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def feedback_references(self) -> list[str]:
        rows = await self.fetchall(
            "SELECT DISTINCT reference FROM feedback WHERE reference IS NOT NULL ORDER BY 1"
        )
        return [r[0] for r in rows]

    async def impulse_engagement(self) -> dict[str, dict[str, Any]]:
        """Per impulse: posts, reactions, replies, ratings and their average."""
        result: dict[str, dict[str, Any]] = {}
        for row in await self.fetchall(
            "SELECT impulse_id, COUNT(*), MAX(posted_at) FROM impulse_posts"
            " WHERE status = 'posted' GROUP BY impulse_id"
        ):
            result[row[0]] = {"posts": int(row[1]), "last_posted": row[2]}
        for row in await self.fetchall(
            # A range instead of LIKE: SQLite's LIKE is case-insensitive and skips the index.
            "SELECT substr(reference, 8), kind, COUNT(*), COUNT(rating), AVG(rating)"
            " FROM feedback WHERE reference >= 'impuls:' AND reference < 'impuls;'"
            " GROUP BY reference, kind"
        ):
            entry = result.setdefault(row[0], {"posts": 0, "last_posted": None})
            entry[row[1]] = int(row[2])
            if row[3]:
                entry["ratings"] = entry.get("ratings", 0) + int(row[3])
                entry["rating_sum"] = entry.get("rating_sum", 0.0) + float(row[4]) * int(row[3])
        return result

    async def impulse_weekly_posts(self, since_ms: int) -> list[tuple[int, int]]:
        rows = await self.fetchall(
            "SELECT posted_at / 3600000 AS hour, COUNT(*) FROM impulse_posts"
            " WHERE status = 'posted' AND posted_at >= ? GROUP BY hour ORDER BY hour",
            (since_ms,),
        )
        return [(int(r[0]) * 3_600_000, int(r[1])) for r in rows]

    async def all_impulse_subscriptions(self) -> list[ImpulseSubscription]:
        rows = await self.fetchall("SELECT * FROM impulse_subscriptions ORDER BY created_at")
        return [_subscription(row) for row in rows]

    async def count_feedback(self, flt: FeedbackFilter) -> int:
        where, params = flt.where()
        row = await self.fetchone(f"SELECT COUNT(*) FROM feedback WHERE {where}", params)
        return int(row[0]) if row else 0

    async def feedback_page(self, flt: FeedbackFilter, limit: int, offset: int) -> list[dict]:
        """Newest first, one page."""
        where, params = flt.where()
        rows = await self.fetchall(
            f"SELECT {FEEDBACK_FIELDS} FROM feedback WHERE {where}"
            " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [dict(row) for row in rows]

    async def iter_feedback_filtered(
        self, flt: FeedbackFilter, batch: int = 5000
    ) -> AsyncIterator[dict[str, Any]]:
        """All matching rows in id order, streamed like ``iter_feedback`` (for downloads)."""
        where, params = flt.where()
        last_id = 0
        while True:
            rows = await self.fetchall(
                f"SELECT {FEEDBACK_FIELDS} FROM feedback WHERE {where} AND id > ?"
                " ORDER BY id LIMIT ?",
                (*params, last_id, batch),
            )
            if not rows:
                return
            for row in rows:
                yield dict(row)
            last_id = rows[-1]["id"]

    async def import_feedback(self, records: Iterable[FeedbackRecord]) -> None:
        """Many rows in one statement (benchmark data; the bot stores one at a time)."""
        async with self.transaction():
            await self.executemany(
                "INSERT OR IGNORE INTO feedback (created_at, room_id, kind, reference, rating,"
                " text, user_id, source_event_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        r.created_at,
                        r.room_id,
                        r.kind,
                        r.reference,
                        r.rating,
                        r.text,
                        r.user_id,
                        r.source_event_id,
                    )
                    for r in records
                ),
            )

    # ------------------------------------------------------------------ data protection

    async def personal_data_web(self, user_id: str) -> dict[str, list[dict[str, Any]]]:
        rows = await self.fetchall(
            "SELECT at, action FROM web_audit WHERE user_id = ? ORDER BY id", (user_id,)
        )
        return {"dashboard_logins": [dict(row) for row in rows]} if rows else {}

    async def forget_user_web(self, user_id: str) -> dict[str, int]:
        cursor = await self.execute("DELETE FROM web_audit WHERE user_id = ?", (user_id,))
        await self.execute("DELETE FROM web_sessions WHERE user_id = ?", (user_id,))
        await self.execute("DELETE FROM web_login_tokens WHERE user_id = ?", (user_id,))
        return {"dashboard_logins": cursor.rowcount} if cursor.rowcount else {}


async def _purge(store: WebStore, expiry: Expiry) -> int:
    now_ms = int(expiry.now.timestamp() * 1000)
    return await store.purge_web(now_ms, expiry.cutoff_ms())


PERSONAL_DATA = (
    technical(
        name="dashboard_logins",
        tables={
            "web_login_tokens": ("token_hash", "user_id"),
            "web_sessions": ("session_hash", "user_id"),
            "web_audit": ("user_id", "action"),
        },
        purpose="Anmeldung des Initiativteams und der Moderation am Dashboard (einmalige "
        "Anmeldelinks, Sitzungen) und Protokoll der Anmeldungen und Speichervorgänge ohne Inhalt.",
        link="direct",
        export=WebStore.personal_data_web,
        erase=WebStore.forget_user_web,
        purge=_purge,
        access_note="Links und Sitzungen nur als Hash; abgelaufene werden täglich gelöscht, das "
        "Protokoll nach der Aufbewahrungsfrist.",
    ),
)
