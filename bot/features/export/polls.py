"""``impulsbot export polls``: every poll with its answers and counts, one row per answer.

Every recorded poll is exported: ``!umfrage``, polls started with Element's poll button and the
WOL retro poll (column ``origin``). ``count``/``voters`` are Element's count (as the room saw
it); typed ``!abstimmen`` votes are separate columns, never folded in. No voter IDs ever leave
the database this way. Counts that the room itself cannot see yet are left empty: hidden
(``--verdeckt``) polls while they run, and anonymous polls before their end or with fewer
voters than ``polls.min_anonymous_group`` (small groups could be re-identified).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO, Final

from bot.config import Config
from bot.features.export.cells import Column
from bot.features.export.options import ExportError, ExportFailed, ExportOptions
from bot.features.export.table import write_export
from bot.features.export.window import export_window
from bot.features.polls.result import PollResult
from bot.features.polls.tally import Tally
from bot.features.polls.view import stored_result
from bot.store import Store
from bot.store.polls import PollRecord
from bot.text.i18n import Texts

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
    ("typed_count", False, 8),
    ("typed_voters", False, 8),
    ("origin", False, 14),
)


def poll_columns(lang: str = "de") -> tuple[Column, ...]:
    texts = Texts(lang)
    return tuple(
        Column(key, texts(f"{_T}columns.{key}").plain, timestamp=is_time, width=width)
        for key, is_time, width in _LAYOUT
    )


def _kind(record: PollRecord) -> str:
    if record.poll.anonymous:
        return "anonymous"
    return "disclosed" if record.poll.disclosed else "undisclosed"


def _counts_visible(record: PollRecord, result: Tally, min_anonymous_group: int) -> bool:
    if record.poll.anonymous:
        return record.is_closed and result.voters >= min_anonymous_group
    return record.poll.disclosed or record.is_closed


def poll_rows(
    record: PollRecord, result: Tally | PollResult, texts: Texts, min_anonymous_group: int
) -> Iterator[dict[str, Any]]:
    split = PollResult.element_only(result) if isinstance(result, Tally) else result
    result = split.element
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
            "typed_count": split.typed.count(answer.id) if visible else None,
            "typed_voters": split.typed.voters if visible else None,
            "origin": texts(f"{_T}origins.{record.origin}").plain,
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
        result = await stored_result(store, record)
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
