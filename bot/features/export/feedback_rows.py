"""The feedback export's column contract and rows: the author only ever as a pseudonym, unless
the operator deliberately exports Matrix IDs (``bot.privacy.may_export_identified``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, BinaryIO, Final

from bot.features.export.cells import Column
from bot.features.export.table import ExportFormat, write_export
from bot.privacy import author_column
from bot.text.i18n import Texts

FEEDBACK_KINDS: Final = ("feedback", "reaction", "reply", "wish")

# (key, timestamp?, typical width) — the column contract of the feedback export.
_FEEDBACK_LAYOUT: Final = (
    ("id", False, 8),
    ("timestamp", True, 17),
    ("room_name", False, 24),
    ("room_id", False, 28),
    ("kind", False, 11),
    ("reference", False, 24),
    ("rating", False, 10),
    ("text", False, 80),
    ("author", False, 22),
)


def feedback_columns(lang: str = "de") -> tuple[Column, ...]:
    """The feedback export columns with header labels from ``feedback.columns.*``."""
    texts = Texts(lang)
    return tuple(
        Column(key, texts(f"feedback.columns.{key}").plain, timestamp=is_time, width=width)
        for key, is_time, width in _FEEDBACK_LAYOUT
    )


FEEDBACK_COLUMNS: Final = feedback_columns("de")


def feedback_export_rows(
    records: Iterable[Mapping[str, Any]], *, key: bytes, identified: bool
) -> Iterator[dict[str, object]]:
    """Map stored feedback records to export rows, replacing the Matrix ID by the author column.

    Records carry ``id, timestamp, room_id, room_name, kind, reference, rating, text`` and
    ``user_id`` (``None`` or ``anonymous=True`` for anonymous feedback). The Matrix ID only reaches
    the row as pseudonym unless ``identified`` (see ``bot.privacy.may_export_identified``).
    """
    for record in records:
        user_id = None if record.get("anonymous") else record.get("user_id")
        yield {
            "id": record.get("id"),
            "timestamp": record.get("timestamp"),
            "room_name": record.get("room_name") or "",
            "room_id": record.get("room_id"),
            "kind": record.get("kind"),
            "reference": record.get("reference"),
            "rating": record.get("rating"),
            "text": record.get("text"),
            "author": author_column(user_id, key, identified),
        }


def write_feedback_export(
    records: Iterable[Mapping[str, Any]],
    fmt: ExportFormat,
    out: BinaryIO,
    *,
    key: bytes,
    identified: bool,
    tz: dt.tzinfo,
    lang: str = "de",
    with_times: bool = True,
) -> int:
    """The whole feedback export in one call: author column, localised headers, sheet title."""
    return write_export(
        feedback_export_rows(records, key=key, identified=identified),
        feedback_columns(lang),
        fmt,
        out,
        tz=tz,
        sheet_title=Texts(lang)("feedback.export.sheet_title").plain,
        with_times=with_times,
    )
