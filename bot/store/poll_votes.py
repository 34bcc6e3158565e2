"""Queries for poll votes (migrations 0003, 0015): identified and anonymous votes, retention and
the data-protection hooks of polls (:data:`PERSONAL_DATA`).

Personal data here: ``poll_responses`` (sender and choice of native and typed votes) and, for
``!meine-daten``/``!vergessen``, the creator of a poll. ``poll_anonymous_voters`` holds keyed
hashes only; ``poll_anonymous_counts`` holds sums only. The polls themselves:
:mod:`bot.store.polls`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bot.personal_data import Category, Expiry
from bot.store.base import StoreBase, user_linked


@dataclass(frozen=True, slots=True)
class Vote:
    """One response of one user, native or typed (``!abstimmen``); ``sender`` may be a pseudonym."""

    sender: str
    origin_server_ts: int
    answer_ids: tuple[str, ...]
    event_id: str = ""
    spoiled: bool = False
    redacted: bool = False
    typed: bool = False  # ``!abstimmen``: counted by the bot, invisible in Element's poll


class PollVoteStore(StoreBase):
    # ------------------------------------------------------------------ identified votes

    async def add_poll_response(
        self, poll_id: int, vote: Vote, *, source: str | None = None
    ) -> bool:
        """Store one response once per event; False if it was already stored."""
        source = source or ("text" if vote.typed else "native")
        cursor = await self.execute(
            "INSERT OR IGNORE INTO poll_responses (event_id, poll_id, sender, ts, answers,"
            " spoiled, redacted, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                vote.event_id,
                poll_id,
                vote.sender,
                vote.origin_server_ts,
                json.dumps(list(vote.answer_ids)),
                int(vote.spoiled),
                int(vote.redacted),
                source,
            ),
        )
        return cursor.rowcount == 1

    async def redact_poll_response(self, event_id: str) -> bool:
        cursor = await self.execute(
            "UPDATE poll_responses SET redacted = 1 WHERE event_id = ? AND redacted = 0",
            (event_id,),
        )
        return cursor.rowcount > 0

    async def poll_votes(self, poll_id: int) -> list[Vote]:
        """All responses to a poll in timeline order (timestamp, then arrival)."""
        rows = await self.fetchall(
            "SELECT event_id, sender, ts, answers, spoiled, redacted, source FROM poll_responses"
            " WHERE poll_id = ? ORDER BY ts, rowid",
            (poll_id,),
        )
        return [
            Vote(
                sender=r["sender"],
                origin_server_ts=int(r["ts"]),
                answer_ids=tuple(json.loads(r["answers"])),
                event_id=r["event_id"],
                spoiled=bool(r["spoiled"]),
                redacted=bool(r["redacted"]),
                typed=r["source"] == "text",
            )
            for r in rows
        ]

    # ------------------------------------------------------------------ anonymous votes

    async def add_anonymous_vote(
        self, poll_id: int, vote_key: str, answer_ids: tuple[str, ...]
    ) -> bool:
        """Count one anonymous vote; False if this voter (keyed hash) has voted already."""
        async with self.transaction():
            cursor = await self.execute(
                "INSERT OR IGNORE INTO poll_anonymous_voters (poll_id, vote_key) VALUES (?, ?)",
                (poll_id, vote_key),
            )
            if cursor.rowcount != 1:
                return False
            for answer in dict.fromkeys(answer_ids):
                await self.execute(
                    "INSERT INTO poll_anonymous_counts (poll_id, answer_id, votes) VALUES (?, ?, 1)"
                    " ON CONFLICT (poll_id, answer_id) DO UPDATE SET votes = votes + 1",
                    (poll_id, answer),
                )
        return True

    async def anonymous_counts(self, poll_id: int) -> tuple[dict[str, int], int]:
        """(votes per answer id, number of voters)."""
        rows = await self.fetchall(
            "SELECT answer_id, votes FROM poll_anonymous_counts WHERE poll_id = ?", (poll_id,)
        )
        voters = await self.fetchone(
            "SELECT COUNT(*) FROM poll_anonymous_voters WHERE poll_id = ?", (poll_id,)
        )
        return {r["answer_id"]: int(r["votes"]) for r in rows}, int(voters[0]) if voters else 0

    # ------------------------------------------------------------------ data protection

    async def personal_data_polls(self, user_id: str) -> dict[str, list[dict[str, Any]]]:
        """Polls someone started and their identified votes (anonymous votes are not linkable)."""
        created = await self.fetchall(
            "SELECT id AS poll, room_id, question, created_at, status FROM polls"
            " WHERE creator = ? ORDER BY id",
            (user_id,),
        )
        votes = await self.fetchall(
            "SELECT r.poll_id AS poll, p.room_id, p.question, r.ts, r.answers, r.source,"
            " r.redacted FROM poll_responses r JOIN polls p ON p.id = r.poll_id"
            " WHERE r.sender = ? ORDER BY r.ts",
            (user_id,),
        )
        result: dict[str, list[dict[str, Any]]] = {}
        if created:
            result["polls_created"] = [dict(r) for r in created]
        if votes:
            result["poll_votes"] = [
                {**dict(r), "answers": json.loads(r["answers"]), "redacted": bool(r["redacted"])}
                for r in votes
            ]
        return result

    async def delete_poll_votes_before(self, cutoff_ms: int) -> int:
        """Retention: who voted how in polls that ended before ``cutoff_ms`` (ms) goes; the
        frozen sums stay, and the polls lose their creator. Returns the number of votes."""
        ended = "SELECT id FROM polls WHERE status = 'ended' AND ended_at < ?"
        async with self.transaction():
            votes = await self.execute(
                f"DELETE FROM poll_responses WHERE poll_id IN ({ended})", (cutoff_ms,)
            )
            await self.execute(
                f"DELETE FROM poll_anonymous_voters WHERE poll_id IN ({ended})", (cutoff_ms,)
            )
            await self.execute(
                "UPDATE polls SET creator = NULL WHERE status = 'ended' AND ended_at < ?",
                (cutoff_ms,),
            )
        return votes.rowcount

    async def forget_user_polls(self, user_id: str) -> dict[str, int]:
        """Delete someone's identified votes and unlink the polls they started.

        Ended polls keep their frozen result, so forgetting one person does not rewrite history.
        A native response in a poll that is still open stays in the room and counts in Element;
        the live reconciliation reads it again so the bot's count stays equal to Element's.
        Runs inside the transaction of :meth:`StoreBase.forget_user`.
        """
        votes = await self.execute("DELETE FROM poll_responses WHERE sender = ?", (user_id,))
        polls = await self.execute("UPDATE polls SET creator = NULL WHERE creator = ?", (user_id,))
        return {"vote": votes.rowcount, "poll": polls.rowcount}


# --- declared personal data (bot/personal_data.py) ----------------------------------------------


async def _purge_polls(store: PollVoteStore, expiry: Expiry) -> int:
    """Ended (or never started) polls older than the retention, with every vote (cascade)."""
    cursor = await store.execute(
        "DELETE FROM polls WHERE status IN ('ended', 'pending')"
        " AND COALESCE(ended_at, created_at) < ?",
        (expiry.cutoff_ms(),),
    )
    return cursor.rowcount


PERSONAL_DATA = (
    user_linked(
        PollVoteStore.personal_data_polls,
        PollVoteStore.forget_user_polls,
        name="polls",
        tables={
            "polls": (
                "room_id",
                "creator",
                "source_event_id",
                "start_event_id",
                "end_event_id",
                "question",
                "answers",
            ),
            "poll_responses": ("event_id", "sender", "answers"),
        },
        purpose="Kurzumfragen: wer eine Umfrage gestartet hat und namentliche Stimmen, damit "
        "das Ergebnis nach den Regeln von Matrix-Umfragen (MSC3381) exakt gezählt wird.",
        recipients="Mitglieder des Raums (Ergebnis); Initiativteam (Export ohne Namen)",
        purge=_purge_polls,
    ),
    Category(
        name="anonymous_votes",
        tables={"poll_anonymous_voters": ("vote_key",)},
        purpose="Anonyme Umfragen: nur Summen je Antwort und ein Schlüssel-Hash je Umfrage und "
        "Person, der eine zweite Stimme verhindert, ohne zu speichern, wer wofür gestimmt hat.",
        link="pseudonymous",
        recipients="Mitglieder des Raums (nur Summen nach dem Ende)",
        access_note="Der Hash ist je Umfrage verschieden und nennt keine Antwort; gelöscht mit "
        "der Umfrage.",
    ),
)
