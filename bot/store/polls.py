"""Queries for polls, answers and votes (migrations 0003, 0015); data-protection hooks.

Personal data here: ``polls.creator`` (and the question someone wrote), ``poll_responses``
(sender and choice of native and typed votes). ``poll_anonymous_voters`` holds keyed hashes
only; ``poll_anonymous_counts`` and the frozen ``final_*`` columns hold sums only.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from bot.features.polls.parse import Poll, PollAnswer, Vote
from bot.personal_data import Category, Expiry
from bot.store.base import StoreBase

POLL_FIELDS = (
    "id, room_id, creator, source_event_id, start_event_id, question, answers, max_selections,"
    " disclosed, anonymous, lang, created_at, closes_at, status, ended_at, end_event_id,"
    " final_counts, final_voters, origin, final_typed_counts, final_typed_voters"
)


@dataclass(frozen=True)
class PollRecord:
    """A stored poll: the countable :class:`Poll` plus where, by whom and its life cycle."""

    id: int
    room_id: str
    creator: str | None
    source_event_id: str
    start_event_id: str | None
    poll: Poll
    lang: str
    created_at: int
    closes_at: int | None
    status: str  # pending | open | ending | ended
    ended_at: int | None
    end_event_id: str | None
    final_counts: dict[str, int] | None
    final_voters: int | None
    origin: str = "command"  # command | element | wol: who posted the start event
    final_typed_counts: dict[str, int] | None = None
    final_typed_voters: int | None = None

    @property
    def started_by_bot(self) -> bool:
        return self.origin != "element"

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def is_closed(self) -> bool:
        return self.status in ("ending", "ended")


@dataclass(frozen=True)
class NewPoll:
    room_id: str
    creator: str
    source_event_id: str
    poll: Poll
    lang: str
    created_at: int
    closes_at: int | None


def _record(row: Mapping[str, Any]) -> PollRecord:
    answers = tuple(PollAnswer(str(a), str(t)) for a, t in json.loads(row["answers"]))
    poll = Poll(
        question=row["question"],
        answers=answers,
        max_selections=int(row["max_selections"]),
        disclosed=bool(row["disclosed"]),
        anonymous=bool(row["anonymous"]),
    )
    final = row["final_counts"]
    typed = row["final_typed_counts"]
    return PollRecord(
        id=int(row["id"]),
        room_id=row["room_id"],
        creator=row["creator"],
        source_event_id=row["source_event_id"],
        start_event_id=row["start_event_id"],
        poll=poll,
        lang=row["lang"],
        created_at=int(row["created_at"]),
        closes_at=row["closes_at"],
        status=row["status"],
        ended_at=row["ended_at"],
        end_event_id=row["end_event_id"],
        final_counts=json.loads(final) if final else None,
        final_voters=row["final_voters"],
        origin=row["origin"],
        final_typed_counts=json.loads(typed) if typed else None,
        final_typed_voters=row["final_typed_voters"],
    )


class PollStore(StoreBase):
    # ------------------------------------------------------------------ polls

    async def create_poll(self, new: NewPoll) -> PollRecord:
        """Store a poll once per command event; a re-run returns the poll stored the first time."""
        poll = new.poll
        await self.execute(
            "INSERT OR IGNORE INTO polls (room_id, creator, source_event_id, question, answers,"
            " max_selections, disclosed, anonymous, lang, created_at, closes_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                new.room_id,
                new.creator,
                new.source_event_id,
                poll.question,
                json.dumps([[a.id, a.text] for a in poll.answers], ensure_ascii=False),
                poll.max_selections,
                int(poll.disclosed),
                int(poll.anonymous),
                new.lang,
                new.created_at,
                new.closes_at,
            ),
        )
        row = await self.fetchone(
            f"SELECT {POLL_FIELDS} FROM polls WHERE source_event_id = ?", (new.source_event_id,)
        )
        assert row is not None
        return _record(row)

    async def record_poll_start(
        self, new: NewPoll, start_event_id: str, *, origin: str
    ) -> PollRecord:
        """A poll someone else posted (Element) or the bot posted outside ``!umfrage`` (WOL).

        Keyed by the start event, so the sync and ``/relations`` may both report it.
        """
        poll = new.poll
        await self.execute(
            "INSERT OR IGNORE INTO polls (room_id, creator, source_event_id, start_event_id,"
            " question, answers, max_selections, disclosed, anonymous, lang, created_at,"
            " closes_at, status, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, 'open', ?)",
            (
                new.room_id,
                new.creator,
                new.source_event_id,
                start_event_id,
                poll.question,
                json.dumps([[a.id, a.text] for a in poll.answers], ensure_ascii=False),
                poll.max_selections,
                int(poll.disclosed),
                new.lang,
                new.created_at,
                new.closes_at,
                origin,
            ),
        )
        record = await self.poll_by_start_event(start_event_id)
        assert record is not None
        return record

    async def mark_poll_open(self, poll_id: int, start_event_id: str) -> None:
        await self.execute(
            "UPDATE polls SET start_event_id = ?,"
            " status = CASE status WHEN 'pending' THEN 'open' ELSE status END WHERE id = ?",
            (start_event_id, poll_id),
        )

    async def get_poll(self, poll_id: int) -> PollRecord | None:
        row = await self.fetchone(f"SELECT {POLL_FIELDS} FROM polls WHERE id = ?", (poll_id,))
        return _record(row) if row else None

    async def poll_by_start_event(self, start_event_id: str) -> PollRecord | None:
        row = await self.fetchone(
            f"SELECT {POLL_FIELDS} FROM polls WHERE start_event_id = ?", (start_event_id,)
        )
        return _record(row) if row else None

    async def latest_poll(self, room_id: str, *, open_only: bool) -> PollRecord | None:
        """The room's newest poll that has been posted (only open ones if asked)."""
        status = "('open')" if open_only else "('open', 'ending', 'ended')"
        row = await self.fetchone(
            f"SELECT {POLL_FIELDS} FROM polls WHERE room_id = ? AND status IN {status}"
            " ORDER BY id DESC LIMIT 1",
            (room_id,),
        )
        return _record(row) if row else None

    async def polls_to_close(self, now_ms: int) -> list[PollRecord]:
        """Open polls whose time is up, and polls whose end was begun but not finished."""
        rows = await self.fetchall(
            f"SELECT {POLL_FIELDS} FROM polls WHERE status = 'ending'"
            " OR (status = 'open' AND closes_at IS NOT NULL AND closes_at <= ?) ORDER BY id",
            (now_ms,),
        )
        return [_record(r) for r in rows]

    async def open_polls(self) -> list[PollRecord]:
        rows = await self.fetchall(
            f"SELECT {POLL_FIELDS} FROM polls WHERE status = 'open' ORDER BY id"
        )
        return [_record(r) for r in rows]

    async def set_poll_closes_at(self, poll_id: int, closes_at_ms: int | None) -> None:
        await self.execute("UPDATE polls SET closes_at = ? WHERE id = ?", (closes_at_ms, poll_id))

    async def begin_poll_end(self, poll_id: int, ended_at_ms: int) -> PollRecord | None:
        """Record the decision to end *before* the end event is sent (crash-safe, exactly once).

        Returns the poll if an end is (still) due — also when an earlier attempt was cut short —
        and None when it was already ended or never posted.
        """
        await self.execute(
            "UPDATE polls SET status = 'ending', ended_at = ? WHERE id = ? AND status = 'open'",
            (ended_at_ms, poll_id),
        )
        record = await self.get_poll(poll_id)
        return record if record is not None and record.status == "ending" else None

    async def set_poll_end_event(self, poll_id: int, end_event_id: str, end_ts: int) -> None:
        """An end event is out: responses count up to its server timestamp.

        MSC3381: the earliest valid end event is the end, so an end event already stored
        with an earlier timestamp stays (e.g. someone ended it in Element a moment before).
        """
        await self.execute(
            "UPDATE polls SET end_event_id = ?, ended_at = ? WHERE id = ? AND status = 'ending'"
            " AND (end_event_id IS NULL OR ended_at > ?)",
            (end_event_id, end_ts, poll_id, end_ts),
        )

    async def finish_poll_end(
        self,
        poll_id: int,
        end_event_id: str | None,
        counts: Mapping[str, int],
        voters: int,
        typed_counts: Mapping[str, int] | None = None,
        typed_voters: int = 0,
    ) -> None:
        """Counted and announced: freeze the result (it must not change after !vergessen)."""
        await self.execute(
            "UPDATE polls SET status = 'ended', end_event_id = COALESCE(?, end_event_id),"
            " final_counts = ?, final_voters = ?, final_typed_counts = ?, final_typed_voters = ?"
            " WHERE id = ?",
            (
                end_event_id,
                json.dumps(dict(counts)),
                voters,
                json.dumps(dict(typed_counts or {})),
                typed_voters,
                poll_id,
            ),
        )

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

    # ------------------------------------------------------------------ export

    async def iter_polls(
        self,
        since_ms: int | None = None,
        until_ms: int | None = None,
        room_id: str | None = None,
    ) -> AsyncIterator[PollRecord]:
        clauses, params = self.window_clauses(since_ms, until_ms, room_id)
        clauses.append("status != 'pending'")
        rows = await self.fetchall(
            f"SELECT {POLL_FIELDS} FROM polls WHERE {' AND '.join(clauses)} ORDER BY id", params
        )
        for row in rows:
            yield _record(row)

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


async def _purge_polls(store: PollStore, expiry: Expiry) -> int:
    """Ended (or never started) polls older than the retention, with every vote (cascade)."""
    cursor = await store.execute(
        "DELETE FROM polls WHERE status IN ('ended', 'pending')"
        " AND COALESCE(ended_at, created_at) < ?",
        (expiry.cutoff_ms(),),
    )
    return cursor.rowcount


PERSONAL_DATA = (
    Category(
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
        link="direct",
        recipients="Mitglieder des Raums (Ergebnis); Initiativteam (Export ohne Namen)",
        export=PollStore.personal_data_polls,
        erase=PollStore.forget_user_polls,
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
