"""``impulsbot export polls``: every poll with its answers and counts, one row per answer.

No voter IDs ever leave the database this way. Counts that the room itself cannot see yet are
left empty: hidden (``--verdeckt``) polls while they run, and anonymous polls with fewer voters
than ``polls.min_anonymous_group`` (small groups could be re-identified).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO, Final

from bot.cli_export import ExportFailed
from bot.config import Config
from bot.export import Column, ExportError, export_window, write_export
from bot.exports import ExportOptions
from bot.i18n import Texts
from bot.polls import Tally, tally
from bot.store import Store
from bot.store.polls import PollRecord

NAME: Final = "polls"
FORMATS: Final = ("csv", "xlsx", "json", "jsonl")
_T: Final = "umfrage."

# (key, is a timestamp, typical width)
_LAYOUT: Final = (
    ("poll", False, 8),
    ("room_id", False, 28),
    ("question", False, 40),
    ("kind", False, 10),
    ("answer_number", False, 8),
    ("answer", False, 30),
    ("count", False, 8),
    ("voters", False, 8),
    ("status", False, 10),
    ("created_at", True, 18),
    ("ended_at", True, 18),
)


def poll_columns(lang: str = "de") -> tuple[Column, ...]:
    texts = Texts(lang)
    return tuple(
        Column(key, texts(f"{_T}columns.{key}").plain, timestamp=is_time, width=width)
        for key, is_time, width in _LAYOUT
    )


async def stored_tally(store: Store, record: PollRecord) -> Tally:
    """The result as the bot would show it: frozen at the end, live while open."""
    if record.poll.anonymous:
        counts, voters = await store.anonymous_counts(record.id)
        return Tally.from_counts(record.poll, counts, voters)
    if record.final_counts is not None:
        return Tally.from_counts(record.poll, record.final_counts, record.final_voters or 0)
    return tally(record.poll, await store.poll_votes(record.id), end_ts=record.ended_at)


def _kind(record: PollRecord) -> str:
    if record.poll.anonymous:
        return "anonymous"
    return "disclosed" if record.poll.disclosed else "undisclosed"


def _counts_visible(record: PollRecord, result: Tally, min_anonymous_group: int) -> bool:
    if record.poll.anonymous and result.voters < min_anonymous_group:
        return False
    return record.poll.disclosed or record.is_closed


def poll_rows(
    record: PollRecord, result: Tally, texts: Texts, min_anonymous_group: int
) -> Iterator[dict[str, Any]]:
    visible = _counts_visible(record, result, min_anonymous_group)
    for number, answer in enumerate(record.poll.answers, 1):
        yield {
            "poll": record.id,
            "room_id": record.room_id,
            "question": record.poll.question,
            "kind": texts(f"{_T}kinds.{_kind(record)}").plain,
            "answer_number": number,
            "answer": answer.text,
            "count": result.count(answer.id) if visible else None,
            "voters": result.voters if visible else None,
            "status": texts(f"{_T}statuses.{record.status}").plain,
            "created_at": record.created_at,
            "ended_at": record.ended_at if record.is_closed else None,
        }


async def export(store: Store, config: Config, options: ExportOptions, out: BinaryIO) -> int:
    """Write the polls export; poll data is small, so rows are gathered before writing."""
    texts = Texts(config.bot.language)
    tz = config.bot.tz
    try:
        since_ms, until_ms = export_window(options.since, options.until, tz)
    except ExportError as exc:
        message = texts(exc.key, **exc.params).plain if exc.key else str(exc)
        raise ExportFailed(message) from exc
    rows: list[dict[str, Any]] = []
    async for record in store.iter_polls(since_ms, until_ms, options.room_id):
        result = await stored_tally(store, record)
        rows.extend(poll_rows(record, result, texts, config.polls.min_anonymous_group))
    try:
        return write_export(
            rows,
            poll_columns(texts.lang),
            options.fmt,  # type: ignore[arg-type]
            out,
            tz=tz,
            sheet_title=texts(f"{_T}export_sheet_title").plain,
            with_times=options.with_times,
        )
    except ExportError as exc:
        raise ExportFailed(str(exc)) from exc
