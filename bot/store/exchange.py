"""Queries for Lean Coffee, Kaffee-Tandem and Working Out Loud circles (migration 0006)."""

from __future__ import annotations

import json
import time
from typing import Any

from bot.personal_data import LEGAL_BASIS_TASK, NOBODY, Category, Expiry
from bot.store.base import StoreBase

_CONTAINS_USER = "EXISTS (SELECT 1 FROM json_each({column}) WHERE json_each.value = ?)"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class ExchangeStore(StoreBase):
    # ------------------------------------------------------------------ idempotent commands

    async def applied_posts(self, event_id: str) -> list[dict[str, Any]] | None:
        """The messages a command produced when it was first applied (None: not applied yet)."""
        row = await self.fetchone(
            "SELECT posts FROM exchange_applied WHERE event_id = ?", (event_id,)
        )
        return json.loads(row[0]) if row else None

    async def _record_applied(self, event_id: str, room_id: str, posts: list[dict]) -> None:
        await self.execute(
            "INSERT OR REPLACE INTO exchange_applied (event_id, room_id, posts, applied_at)"
            " VALUES (?, ?, ?, ?)",
            (event_id, room_id, _json(posts), int(time.time())),
        )

    async def record_applied(self, event_id: str, room_id: str, posts: list[dict]) -> None:
        await self._record_applied(event_id, room_id, posts)

    async def forget_applied_before(self, unix_seconds: int) -> int:
        cursor = await self.execute(
            "DELETE FROM exchange_applied WHERE applied_at < ?", (unix_seconds,)
        )
        return cursor.rowcount

    # ------------------------------------------------------------------ Lean Coffee

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
                (room_id, _json(state), deadline_ms, int(time.time())),
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
                    _json(summary),
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

    # ------------------------------------------------------------------ Kaffee-Tandem

    async def tandem_member(self, user_id: str) -> dict[str, Any] | None:
        row = await self.fetchone(
            "SELECT user_id, topics, paused_until FROM tandem_members WHERE user_id = ?",
            (user_id,),
        )
        return _member(row) if row else None

    async def tandem_members(self) -> list[dict[str, Any]]:
        rows = await self.fetchall(
            "SELECT user_id, topics, paused_until FROM tandem_members ORDER BY user_id"
        )
        return [_member(row) for row in rows]

    async def save_tandem_member(
        self, user_id: str, topics: list[str], paused_until: str | None
    ) -> None:
        await self.execute(
            "INSERT INTO tandem_members (user_id, topics, paused_until) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET topics = excluded.topics,"
            " paused_until = excluded.paused_until",
            (user_id, _json(topics), paused_until),
        )

    async def delete_tandem_member(self, user_id: str) -> int:
        """Opt-out: the member row and every past grouping that names them."""
        cursor = await self.execute("DELETE FROM tandem_members WHERE user_id = ?", (user_id,))
        groups = await self.execute(
            "DELETE FROM tandem_groups WHERE " + _CONTAINS_USER.format(column="members"),
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
                    (round_id, position, _json(list(members))),
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

    # ------------------------------------------------------------------ Working Out Loud

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
                    (circle_id, _json(state), source_event_id),
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
                _json(state),
                state.get("room_id"),
                int(bool(state.get("ended_at"))),
                state["circle_id"],
            ),
        )

    # ------------------------------------------------------------------ data protection

    async def personal_data_exchange(self, user_id: str) -> dict[str, Any]:
        result: dict[str, Any] = {}
        member = await self.tandem_member(user_id)
        if member is not None:
            result["kaffee_tandem"] = member
        groups = await self.fetchall(
            "SELECT r.held_at, g.members, g.room_id FROM tandem_groups g"
            " JOIN tandem_rounds r ON r.id = g.round_id WHERE "
            + _CONTAINS_USER.format(column="g.members")
            + " ORDER BY r.id",
            (user_id,),
        )
        if groups:
            result["kaffee_tandem_runden"] = [
                {"held_at": row[0], "members": json.loads(row[1]), "room_id": row[2]}
                for row in groups
            ]
        seeker = await self.fetchone(
            "SELECT user_id, department, joined_at FROM wol_seekers WHERE user_id = ?", (user_id,)
        )
        if seeker is not None:
            result["wol_suche"] = dict(seeker)
        circles = await self.fetchall(
            "SELECT state FROM wol_circles WHERE "
            + _CONTAINS_USER.format(column="state, '$.members'"),
            (user_id,),
        )
        if circles:
            result["wol_circles"] = [json.loads(row[0]) for row in circles]
        sessions = [
            state
            for state in [
                json.loads(r[0]) for r in await self.fetchall("SELECT state FROM lc_sessions")
            ]
            if state.get("host") == user_id or user_id in state.get("dots", {})
        ]
        if sessions:
            result["lean_coffee"] = [
                {
                    "room_id": s["room_id"],
                    "host": s["host"] == user_id,
                    "dots": s.get("dots", {}).get(user_id, {}),
                }
                for s in sessions
            ]
        return result

    async def forget_user_exchange(self, user_id: str) -> dict[str, int]:
        counts: dict[str, int] = {}
        member = await self.execute("DELETE FROM tandem_members WHERE user_id = ?", (user_id,))
        groups = await self.execute(
            "DELETE FROM tandem_groups WHERE " + _CONTAINS_USER.format(column="members"),
            (user_id,),
        )
        seeker = await self.execute("DELETE FROM wol_seekers WHERE user_id = ?", (user_id,))
        counts["kaffee_tandem"] = member.rowcount + groups.rowcount
        counts["wol_suche"] = seeker.rowcount
        circles = 0
        for row in await self.fetchall("SELECT circle_id, state FROM wol_circles"):
            state = json.loads(row[1])
            if user_id in state.get("members", []):
                state["members"] = [m for m in state["members"] if m != user_id]
                await self.execute(
                    "UPDATE wol_circles SET state = ? WHERE circle_id = ?", (_json(state), row[0])
                )
                circles += 1
        counts["wol_circles"] = circles
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
                    "UPDATE lc_sessions SET state = ? WHERE room_id = ?", (_json(state), row[0])
                )
                sessions += 1
        counts["lean_coffee"] = sessions
        return {kind: n for kind, n in counts.items() if n}


def _member(row: Any) -> dict[str, Any]:
    return {"user_id": row[0], "topics": json.loads(row[1]), "paused_until": row[2]}


# --- declared personal data (bot/personal_data.py) ----------------------------------------------


async def _older(store: ExchangeStore, sql: str, expiry: Expiry) -> int:
    # Stored times are ISO strings with an offset; datetime() compares them in UTC.
    cursor = await store.execute(sql, (expiry.cutoff().isoformat(),))
    return cursor.rowcount


async def _purge_lean_coffee(store: ExchangeStore, expiry: Expiry) -> int:
    stale = int(expiry.cutoff().timestamp())
    sessions = await store.execute("DELETE FROM lc_sessions WHERE updated_at < ?", (stale,))
    summaries = await _older(
        store, "DELETE FROM lc_summaries WHERE datetime(started_at) < datetime(?)", expiry
    )
    return sessions.rowcount + summaries


async def _purge_tandem(store: ExchangeStore, expiry: Expiry) -> int:
    return await _older(
        store, "DELETE FROM tandem_rounds WHERE datetime(held_at) < datetime(?)", expiry
    )


async def _purge_wol(store: ExchangeStore, expiry: Expiry) -> int:
    seekers = await _older(
        store, "DELETE FROM wol_seekers WHERE datetime(joined_at) < datetime(?)", expiry
    )
    circles = await _older(
        store,
        "DELETE FROM wol_circles WHERE ended = 1"
        " AND datetime(json_extract(state, '$.ended_at')) < datetime(?)",
        expiry,
    )
    return seekers + circles


async def _purge_applied(store: ExchangeStore, expiry: Expiry) -> int:
    return await store.forget_applied_before(int(expiry.cutoff(APPLIED_RETENTION_DAYS).timestamp()))


APPLIED_RETENTION_DAYS = 7  # mirrors commands.tandem.APPLIED_RETENTION_S
_ERASED_WITH_TANDEM = (
    "Auskunft und Löschung gemeinsam mit Kaffee-Tandem (eine Funktion für alle Austauschformate:"
    " !meine-daten zeigt und !vergessen löscht alle drei)."
)

PERSONAL_DATA = (
    Category(
        name="tandem",
        tables={
            "tandem_members": ("user_id", "topics", "paused_until"),
            "tandem_rounds": ("round_key",),
            "tandem_groups": ("members", "room_id"),
        },
        purpose="Kaffee-Tandem: Anmeldung (Opt-in) mit Themen und Pause; wer in den letzten "
        "Runden mit wem zusammenkam, damit sich Paare nicht wiederholen.",
        link="direct",
        recipients="die jeweiligen Tandem-Partnerinnen und -Partner",
        export=ExchangeStore.personal_data_exchange,
        erase=ExchangeStore.forget_user_exchange,
        purge=_purge_tandem,
    ),
    Category(
        name="wol",
        tables={
            "wol_seekers": ("user_id", "department"),
            "wol_circles": ("room_id", "state", "source_event_id"),
        },
        purpose="Working Out Loud: wer einen Circle sucht (mit Bereich) und die Mitglieder und "
        "Termine der gebildeten Circles.",
        link="direct",
        recipients="die Mitglieder des jeweiligen Circles",
        purge=_purge_wol,
        access_note=_ERASED_WITH_TANDEM,
    ),
    Category(
        name="lean_coffee",
        tables={
            "lc_sessions": ("room_id", "state"),
            "lc_summaries": ("room_id", "summary", "source_event_id"),
        },
        purpose="Lean Coffee: laufende Sitzung (Moderation, Themen, Punkte) und die Notizen "
        "beendeter Sitzungen (ohne Matrix-IDs).",
        link="direct",
        recipients="die Mitglieder des Raums",
        purge=_purge_lean_coffee,
        access_note=_ERASED_WITH_TANDEM,
    ),
    Category(
        name="exchange_replay",
        tables={"exchange_applied": ("event_id", "room_id", "posts")},
        purpose="Technisch: ein Befehl, der nach einem Absturz erneut läuft, sendet dieselben "
        "Nachrichten statt die Änderung doppelt auszuführen.",
        link="pseudonymous",
        legal_basis=LEGAL_BASIS_TASK,
        recipients=NOBODY,
        purge=_purge_applied,
        access_note="Nur Ereignis-IDs und die Antworten des Bots; nach 7 Tagen gelöscht.",
    ),
)
