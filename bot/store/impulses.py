"""Queries for impulse subscriptions, rotation and the posting protocol (migration 0002).

Posting protocol (exactly once per room and slot): :meth:`claim_impulse` records the chosen
impulse BEFORE the message is sent; :meth:`mark_impulse_posted` completes the row afterwards.
A claim that is still open after a crash is sent again with the same transaction ID, which the
homeserver deduplicates. No user IDs are stored in these tables.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import aiosqlite

from bot.personal_data import LEGAL_BASIS_TASK, Category
from bot.store.base import StoreBase

SUBSCRIPTION_FIELDS = (
    "room_id, schedule, topics, pause_until, watermark_ms, next_due_ms, created_at"
)
POST_FIELDS = "room_id, slot_key, kind, impulse_id, status, claimed_at, due_at, posted_at, event_id"
# Posts that count for the rotation: repeats (``!impuls``) show an old impulse again.
ROTATION_KINDS = ("slot", "now")


@dataclass(frozen=True)
class ImpulseSubscription:
    room_id: str
    schedule: str  # canonical spec (bot.features.impulses.schedule.Schedule.spec)
    topics: tuple[str, ...] = ()
    pause_until: dt.date | None = None
    watermark_ms: int = 0  # last slot handled, or the moment of subscribing
    next_due_ms: int | None = None
    created_at: int = 0


@dataclass(frozen=True)
class ImpulsePost:
    room_id: str
    slot_key: str
    kind: str  # slot | now | repeat
    impulse_id: str
    status: str  # claimed | posted | abandoned
    claimed_at: int
    due_at: int
    posted_at: int | None = None
    event_id: str | None = None


def _subscription(row: aiosqlite.Row) -> ImpulseSubscription:
    pause = row["pause_until"]
    return ImpulseSubscription(
        room_id=row["room_id"],
        schedule=row["schedule"],
        topics=tuple(json.loads(row["topics"])),
        pause_until=dt.date.fromisoformat(pause) if pause else None,
        watermark_ms=int(row["watermark_ms"]),
        next_due_ms=row["next_due_ms"],
        created_at=int(row["created_at"]),
    )


def _post(row: aiosqlite.Row) -> ImpulsePost:
    return ImpulsePost(**{key: row[key] for key in row.keys()})  # noqa: SIM118


class ImpulseStore(StoreBase):
    # ------------------------------------------------------------------ subscriptions

    async def get_impulse_subscription(self, room_id: str) -> ImpulseSubscription | None:
        row = await self.fetchone(
            f"SELECT {SUBSCRIPTION_FIELDS} FROM impulse_subscriptions WHERE room_id = ?",
            (room_id,),
        )
        return _subscription(row) if row else None

    async def save_impulse_subscription(self, sub: ImpulseSubscription) -> None:
        """Create or replace the room's subscription (idempotent)."""
        await self.execute(
            f"INSERT INTO impulse_subscriptions ({SUBSCRIPTION_FIELDS})"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (room_id) DO UPDATE SET schedule = excluded.schedule,"
            " topics = excluded.topics, pause_until = excluded.pause_until,"
            " watermark_ms = excluded.watermark_ms, next_due_ms = excluded.next_due_ms",
            (
                sub.room_id,
                sub.schedule,
                json.dumps(list(sub.topics), ensure_ascii=False),
                sub.pause_until.isoformat() if sub.pause_until else None,
                sub.watermark_ms,
                sub.next_due_ms,
                sub.created_at,
            ),
        )

    async def delete_impulse_subscription(self, room_id: str) -> bool:
        """Unsubscribe; the posting history stays so a new subscription continues the rotation."""
        cursor = await self.execute(
            "DELETE FROM impulse_subscriptions WHERE room_id = ?", (room_id,)
        )
        return cursor.rowcount > 0

    async def due_impulse_subscriptions(self, now_ms: int) -> list[ImpulseSubscription]:
        """Only subscriptions whose next slot has come (uses the index; cheap every second)."""
        return await self.fetch_each(
            _subscription,
            f"SELECT {SUBSCRIPTION_FIELDS} FROM impulse_subscriptions"
            " WHERE next_due_ms IS NOT NULL AND next_due_ms <= ? ORDER BY next_due_ms",
            (now_ms,),
        )

    async def advance_impulse_subscription(
        self, room_id: str, watermark_ms: int, next_due_ms: int | None
    ) -> None:
        """Slots up to ``watermark_ms`` are handled; the watermark never moves backwards."""
        await self.execute(
            "UPDATE impulse_subscriptions SET watermark_ms = MAX(watermark_ms, ?),"
            " next_due_ms = ? WHERE room_id = ?",
            (watermark_ms, next_due_ms, room_id),
        )

    # ------------------------------------------------------------------ posting protocol

    async def impulse_history(self, room_id: str) -> list[str]:
        """Impulse ids posted (or claimed) in the room, oldest first: input for the rotation."""
        rows = await self.fetchall(
            "SELECT impulse_id FROM impulse_posts WHERE room_id = ? AND kind IN (?, ?)"
            " AND status != 'abandoned' ORDER BY id",
            (room_id, *ROTATION_KINDS),
        )
        return [row[0] for row in rows]

    async def claim_impulse(
        self,
        room_id: str,
        slot_key: str,
        kind: str,
        impulse_id: str,
        claimed_at: int,
        due_at: int,
    ) -> ImpulsePost:
        """Record "slot X gets impulse Y" before sending. An existing claim wins and is returned,
        so a re-run after a crash sends the same impulse again (same transaction ID)."""
        await self.execute(
            "INSERT OR IGNORE INTO impulse_posts (room_id, slot_key, kind, impulse_id, status,"
            " claimed_at, due_at) VALUES (?, ?, ?, ?, 'claimed', ?, ?)",
            (room_id, slot_key, kind, impulse_id, claimed_at, due_at),
        )
        post = await self.get_impulse_post(room_id, slot_key)
        assert post is not None  # just inserted or already there
        return post

    async def get_impulse_post(self, room_id: str, slot_key: str) -> ImpulsePost | None:
        row = await self.fetchone(
            f"SELECT {POST_FIELDS} FROM impulse_posts WHERE room_id = ? AND slot_key = ?",
            (room_id, slot_key),
        )
        return _post(row) if row else None

    async def mark_impulse_posted(
        self, room_id: str, slot_key: str, event_id: str, posted_at: int
    ) -> None:
        await self.execute(
            "UPDATE impulse_posts SET status = 'posted', event_id = ?, posted_at = ?"
            " WHERE room_id = ? AND slot_key = ?",
            (event_id, posted_at, room_id, slot_key),
        )

    async def abandon_impulse_claim(self, room_id: str, slot_key: str) -> None:
        """Give up a claim (too old to post, or the room refuses us); it leaves the rotation."""
        await self.execute(
            "UPDATE impulse_posts SET status = 'abandoned' WHERE room_id = ? AND slot_key = ?"
            " AND status = 'claimed'",
            (room_id, slot_key),
        )

    async def open_impulse_claims(self) -> list[ImpulsePost]:
        """Claims without a recorded post: left behind by a crash (or being sent right now)."""
        return await self.fetch_each(
            _post, f"SELECT {POST_FIELDS} FROM impulse_posts WHERE status = 'claimed' ORDER BY id"
        )

    async def latest_impulse_post(self, room_id: str) -> ImpulsePost | None:
        row = await self.fetchone(
            f"SELECT {POST_FIELDS} FROM impulse_posts WHERE room_id = ? AND kind IN (?, ?)"
            " AND status = 'posted' ORDER BY id DESC LIMIT 1",
            (room_id, *ROTATION_KINDS),
        )
        return _post(row) if row else None

    async def impulse_of_event(self, room_id: str, event_id: str) -> str | None:
        """Which impulse a message in this room is (for reactions and replies to it)."""
        row = await self.fetchone(
            "SELECT impulse_id FROM impulse_posts WHERE event_id = ? AND room_id = ?",
            (event_id, room_id),
        )
        return row[0] if row else None


# --- declared personal data (bot/personal_data.py) ----------------------------------------------

PERSONAL_DATA = (
    Category(
        name="impulse_rooms",
        tables={
            "impulse_subscriptions": ("room_id", "topics"),
            "impulse_posts": ("room_id", "slot_key", "event_id"),
        },
        purpose="Tägliche Impulse: Abonnement je Raum (Zeitplan, Themen) und welche Impulse "
        "wann gepostet wurden (Rotation ohne Wiederholung).",
        link="none",
        legal_basis=LEGAL_BASIS_TASK,
        recipients="die Mitglieder des Raums",
        access_note="Raumebene, ohne Matrix-IDs von Personen; solange der Raum abonniert ist.",
    ),
)
