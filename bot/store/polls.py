"""Queries for polls and their life cycle (migrations 0003, 0015): the shapes the store keeps
(:class:`Poll`, :class:`PollRecord`) and pending → open → ending → ended.

Personal data here: ``polls.creator`` (and the question someone wrote); the frozen ``final_*``
columns hold sums only. Votes, retention and the data-protection hooks: :mod:`bot.store.poll_votes`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from bot.store.poll_votes import PollVoteStore

POLL_FIELDS = (
    "id, room_id, creator, source_event_id, start_event_id, question, answers, max_selections,"
    " disclosed, anonymous, lang, created_at, closes_at, status, ended_at, end_event_id,"
    " final_counts, final_voters, origin, final_typed_counts, final_typed_voters"
)


@dataclass(frozen=True, slots=True)
class PollAnswer:
    id: str
    text: str


@dataclass(frozen=True)
class Poll:
    """A poll as counted and rendered; answer ids are what responses refer to."""

    question: str
    answers: tuple[PollAnswer, ...]
    max_selections: int = 1
    disclosed: bool = True
    anonymous: bool = False

    @property
    def answer_ids(self) -> tuple[str, ...]:
        return tuple(answer.id for answer in self.answers)


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


class PollStore(PollVoteStore):
    # ------------------------------------------------------------------ polls

    async def create_poll(self, new: NewPoll) -> PollRecord:
        """Store a poll once per command event; a re-run returns the poll stored the first time."""
        await self._insert_poll(new, None, status="pending", origin="command")
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
        await self._insert_poll(new, start_event_id, status="open", origin=origin)
        record = await self.poll_by_start_event(start_event_id)
        assert record is not None
        return record

    async def _insert_poll(
        self, new: NewPoll, start_event_id: str | None, *, status: str, origin: str
    ) -> None:
        poll = new.poll
        await self.execute(
            "INSERT OR IGNORE INTO polls (room_id, creator, source_event_id, start_event_id,"
            " question, answers, max_selections, disclosed, anonymous, lang, created_at,"
            " closes_at, status, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                new.room_id,
                new.creator,
                new.source_event_id,
                start_event_id,
                poll.question,
                json.dumps([[a.id, a.text] for a in poll.answers], ensure_ascii=False),
                poll.max_selections,
                int(poll.disclosed),
                int(poll.anonymous),
                new.lang,
                new.created_at,
                new.closes_at,
                status,
                origin,
            ),
        )

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
        return await self.fetch_each(
            _record,
            f"SELECT {POLL_FIELDS} FROM polls WHERE status = 'ending'"
            " OR (status = 'open' AND closes_at IS NOT NULL AND closes_at <= ?) ORDER BY id",
            (now_ms,),
        )

    async def open_polls(self) -> list[PollRecord]:
        return await self.fetch_each(
            _record, f"SELECT {POLL_FIELDS} FROM polls WHERE status = 'open' ORDER BY id"
        )

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
