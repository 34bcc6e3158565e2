"""Streaming table export to CSV, XLSX, JSON and JSON Lines.

``write_export`` takes any iterable of row mappings and writes it row by row, so exporting a
million rows needs no more memory than exporting ten. Rows may come straight from a database
cursor; missing keys export as empty cells.

Format choices, made for German office users:

* CSV opens in German Excel by double-click: UTF-8 with BOM (otherwise Excel guesses a legacy
  code page and breaks umlauts), ``;`` as separator (Excel's list separator in the German locale,
  where ``,`` is the decimal mark — so floats are written with a decimal comma, too), CRLF line
  ends, minimal quoting for separators, quotes and line breaks inside text.
* Timestamps (unix milliseconds or aware datetimes) are shown in the configured time zone:
  ISO 8601 with offset in CSV/JSON (``2026-11-24T09:00:00+01:00``), real Excel date cells (local
  wall time) in XLSX. Naive datetimes are refused: their zone would be a guess.
* Spreadsheet formula injection (OWASP "CSV Injection"): a text cell starting with ``=``, ``+``,
  ``-``, ``@``, tab or CR gets a leading ``'`` in CSV and XLSX, so a feedback text such as
  ``=HYPERLINK(…)`` is shown, never executed. Numbers stay numbers. JSON keeps the text as is.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO, Final, Literal, get_args
from zoneinfo import ZoneInfo

from bot.privacy import author_column
from bot.text.i18n import Texts

ExportFormat = Literal["csv", "xlsx", "json", "jsonl"]
FORMATS: Final[tuple[str, ...]] = get_args(ExportFormat)
# Formats that can go to standard output; a zip container (xlsx) belongs in a file.
STREAMABLE_FORMATS: Final = frozenset({"csv", "json", "jsonl"})
DEFAULT_TZ: Final = ZoneInfo("Europe/Berlin")

FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_DATA_ROWS: Final = 1_048_576 - 1  # sheet row limit minus the header row
XLSX_MAX_CELL_CHARS: Final = 32_767
XLSX_DATETIME_FORMAT: Final = "DD.MM.YYYY HH:MM"  # shown localised by Excel
XLSX_FILTER_BUTTON_CHARS: Final = 3  # room for the autofilter arrow next to a header


class ExportError(ValueError):
    """Data that the chosen format cannot hold; ``key``/``params`` name the locale text."""

    def __init__(self, message: str, key: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class Column:
    """One export column: row key, header label and how to treat its values.

    ``timestamp=True`` turns integers (unix milliseconds) into date-times; ``width`` is the
    typical content width in characters, used for XLSX column widths.
    """

    key: str
    header: str
    timestamp: bool = False
    width: int = 16


def write_export(
    rows: Iterable[Mapping[str, object]],
    columns: Sequence[Column],
    fmt: ExportFormat,
    out: BinaryIO,
    *,
    tz: dt.tzinfo = DEFAULT_TZ,
    sheet_title: str = "Export",
    with_times: bool = True,
) -> int:
    """Stream ``rows`` into ``out`` as ``fmt`` and return the number of data rows written.

    ``tz`` is the configured time zone (``config.bot.tz``); ``sheet_title`` names the XLSX sheet
    (at most 31 characters). ``out`` is left open. Raises :class:`ExportError` for data the
    format cannot hold, e.g. more rows than an Excel sheet has. Without ``with_times`` every
    timestamp column holds the local date only (the exports' default: a minute-exact time per
    person would be an activity timeline).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(FORMATS)}")
    keys = [c.key for c in columns]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate column keys in {keys}")
    if not with_times:
        rows = _dates_only(rows, [c.key for c in columns if c.timestamp], tz)
    if fmt == "xlsx":
        return _write_xlsx(rows, columns, out, tz, sheet_title)
    writer = {"csv": _write_csv, "json": _write_json, "jsonl": _write_jsonl}[fmt]
    return _with_text_stream(out, lambda text: writer(rows, columns, text, tz))


def _with_text_stream(out: BinaryIO, write: Callable[[IO[str]], int]) -> int:
    # newline="" hands line ends through untouched; each writer chooses its own.
    text = io.TextIOWrapper(out, encoding="utf-8", newline="")
    try:
        return write(text)
    finally:
        try:
            text.flush()
        finally:
            text.detach()  # the caller owns ``out``; a collected wrapper would close it


# --- cell values ---------------------------------------------------------------------------


def _as_datetime(value: object, tz: dt.tzinfo) -> dt.datetime:
    if isinstance(value, int) and not isinstance(value, bool):
        seconds, millis = divmod(value, 1000)
        return dt.datetime.fromtimestamp(seconds, tz).replace(microsecond=millis * 1000)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} in export: time zone unknown")
        return value.astimezone(tz)
    raise TypeError(f"expected unix milliseconds or a datetime, got {type(value).__name__}")


def _dates_only(
    rows: Iterable[Mapping[str, object]], keys: Sequence[str], tz: dt.tzinfo
) -> Iterator[Mapping[str, object]]:
    for row in rows:
        values = dict(row)
        for key in keys:
            if values.get(key) is not None:
                values[key] = _as_datetime(values[key], tz).date()
        yield values


def _localised(value: object, timestamp: bool, tz: dt.tzinfo) -> object:
    """Unix-ms integers (in timestamp columns) and datetimes become local aware datetimes."""
    if value is None:
        return None
    if isinstance(value, dt.datetime) or (timestamp and isinstance(value, int)):
        return _as_datetime(value, tz)
    return value


def neutralise_formula(text: str) -> str:
    """Prefix ``'`` to text a spreadsheet would read as a formula (OWASP CSV injection)."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def _iso(value: dt.datetime | dt.date) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    return value.isoformat()


def _csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value).replace(".", ",") if math.isfinite(value) else ""
    if isinstance(value, dt.date):
        return _iso(value)
    return neutralise_formula(str(value))


def _json_value(value: object) -> object:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.date):
        return _iso(value)
    return str(value)


# --- CSV / JSON ----------------------------------------------------------------------------


def _write_csv(
    rows: Iterable[Mapping[str, object]], columns: Sequence[Column], out: IO[str], tz: dt.tzinfo
) -> int:
    out.write("\ufeff")  # the BOM tells Excel this is UTF-8
    writer = csv.writer(out, delimiter=";", quotechar='"', lineterminator="\r\n")
    writer.writerow([neutralise_formula(c.header) for c in columns])
    count = 0
    for row in rows:
        writer.writerow([_csv_cell(_localised(row.get(c.key), c.timestamp, tz)) for c in columns])
        count += 1
    return count


def _json_objects(
    rows: Iterable[Mapping[str, object]], columns: Sequence[Column], tz: dt.tzinfo
) -> Iterator[str]:
    for row in rows:
        item = {c.key: _json_value(_localised(row.get(c.key), c.timestamp, tz)) for c in columns}
        yield json.dumps(item, ensure_ascii=False, allow_nan=False)


def _write_json(
    rows: Iterable[Mapping[str, object]], columns: Sequence[Column], out: IO[str], tz: dt.tzinfo
) -> int:
    count = 0
    out.write("[")
    for text in _json_objects(rows, columns, tz):
        out.write(",\n" if count else "\n")
        out.write(text)
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def _write_jsonl(
    rows: Iterable[Mapping[str, object]], columns: Sequence[Column], out: IO[str], tz: dt.tzinfo
) -> int:
    count = 0
    for text in _json_objects(rows, columns, tz):
        out.write(text)
        out.write("\n")
        count += 1
    return count


# --- XLSX ----------------------------------------------------------------------------------


def _write_xlsx(
    rows: Iterable[Mapping[str, object]],
    columns: Sequence[Column],
    out: BinaryIO,
    tz: dt.tzinfo,
    sheet_title: str,
) -> int:
    # Imported here: openpyxl takes a noticeable moment to import and only XLSX needs it.
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title)
    # Widths and the frozen pane precede the rows in the file: set them before the first append.
    for index, column in enumerate(columns, start=1):
        width = max(column.width, len(column.header) + XLSX_FILTER_BUTTON_CHARS)
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append(_xlsx_header(sheet, columns))
    try:
        count = _append_xlsx_rows(sheet, rows, columns, tz)
    except BaseException:
        _discard_sheet(sheet)
        raise
    # The filter is written after the rows, so its range can cover exactly the data.
    last_column = get_column_letter(max(len(columns), 1))
    sheet.auto_filter.ref = f"A1:{last_column}{count + 1}"
    workbook.save(out)
    return count


def _append_xlsx_rows(
    sheet: Any, rows: Iterable[Mapping[str, object]], columns: Sequence[Column], tz: dt.tzinfo
) -> int:
    cell_of = _XlsxCells(sheet)
    count = 0
    for row in rows:
        if count == XLSX_MAX_DATA_ROWS:
            raise ExportError(
                f"more than {XLSX_MAX_DATA_ROWS} rows do not fit into an Excel sheet",
                "feedback.export.too_many_rows",
                limit=XLSX_MAX_DATA_ROWS,
            )
        sheet.append([cell_of(_localised(row.get(c.key), c.timestamp, tz)) for c in columns])
        count += 1
    return count


def _discard_sheet(sheet: Any) -> None:
    # A failed export should not leave openpyxl's temporary sheet file until interpreter exit
    # (the bot runs for weeks): finish it and delete it now.
    with contextlib.suppress(Exception):
        sheet.close()
        writer = getattr(sheet, "_writer", None)
        if writer is not None:
            writer.cleanup()


def _xlsx_header(sheet: Any, columns: Sequence[Column]) -> list[Any]:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=neutralise_formula(column.header))
        cell.font = bold
        header.append(cell)
    return header


class _XlsxCells:
    """Turns export values into what openpyxl's write-only sheet should store."""

    def __init__(self, sheet: Any) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE

        self._sheet = sheet
        self._cell = WriteOnlyCell
        self._error_codes = frozenset(ERROR_CODES)
        self._illegal = ILLEGAL_CHARACTERS_RE

    def __call__(self, value: object) -> object:
        if value is None or isinstance(value, bool | int):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else None
        if isinstance(value, dt.datetime):
            return self._datetime(value)
        if isinstance(value, dt.date):
            return self._styled(value, "DD.MM.YYYY")
        return self._text(str(value))

    def _datetime(self, value: dt.datetime) -> object:
        # Excel has no time zones: store the local wall time the user expects to see.
        return self._styled(value.replace(tzinfo=None), XLSX_DATETIME_FORMAT)

    def _styled(self, value: object, number_format: str) -> object:
        cell = self._cell(self._sheet, value=value)
        cell.number_format = number_format
        return cell

    def _text(self, text: str) -> object:
        if len(text) > XLSX_MAX_CELL_CHARS:
            raise ExportError(f"a text of {len(text)} characters does not fit into an Excel cell")
        # Control characters are invalid in the XML of a sheet; Excel would refuse the file.
        text = neutralise_formula(self._illegal.sub("\ufffd", text))
        if text in self._error_codes:
            # openpyxl would store "#N/A" as an error value; it is text somebody wrote.
            cell = self._cell(self._sheet, value=text)
            cell.data_type = "s"
            return cell
        return text


# --- feedback ------------------------------------------------------------------------------

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


# --- --since / --until ---------------------------------------------------------------------


def export_window(
    since: str | None, until: str | None, tz: dt.tzinfo
) -> tuple[int | None, int | None]:
    """``--since``/``--until`` (``YYYY-MM-DD``, both days inclusive, local time) as unix-ms
    bounds ``(start inclusive, end exclusive)``; ``None`` means open. Raises ExportError."""
    start_day = _parse_day(since)
    end_day = _parse_day(until)
    if start_day and end_day and start_day > end_day:
        raise ExportError(
            f"--since {since} is after --until {until}",
            "feedback.export.range_reversed",
            since=since,
            until=until,
        )
    start = _local_midnight_ms(start_day, tz) if start_day else None
    end = _local_midnight_ms(end_day + dt.timedelta(days=1), tz) if end_day else None
    return start, end


def _parse_day(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        if len(value.strip()) != 10:
            raise ValueError(value)
        return dt.date.fromisoformat(value.strip())
    except ValueError as exc:
        raise ExportError(
            f"{value!r} is not a date like 2026-11-24", "feedback.export.bad_date", value=value
        ) from exc


def _local_midnight_ms(day: dt.date, tz: dt.tzinfo) -> int:
    return int(dt.datetime.combine(day, dt.time(0, 0), tzinfo=tz).timestamp() * 1000)


# --- !feedback übersicht --------------------------------------------------------------------


@dataclass
class FeedbackSummary:
    """Counts for the team overview; holds no Matrix IDs and no feedback text."""

    total: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    # ISO week ("2026-W47") → room ID → count; weeks in chronological order.
    by_week_room: dict[str, dict[str, int]] = field(default_factory=dict)
    by_room: dict[str, int] = field(default_factory=dict)
    rating_count: int = 0
    rating_sum: int = 0
    reactions_by_reference: dict[str, int] = field(default_factory=dict)

    @property
    def average_rating(self) -> float | None:
        return self.rating_sum / self.rating_count if self.rating_count else None

    def top_references(self, limit: int = 5) -> list[tuple[str, int]]:
        """References (impulses, polls) with the most reactions; ties in name order."""
        ranked = sorted(self.reactions_by_reference.items(), key=lambda item: (-item[1], item[0]))
        return ranked[:limit]


def iso_week(timestamp_ms: int, tz: dt.tzinfo) -> str:
    """The local ISO calendar week of a timestamp, e.g. ``2026-W48`` (weeks start on Monday)."""
    year, week, _ = _as_datetime(timestamp_ms, tz).isocalendar()
    return f"{year}-W{week:02d}"


def summarise_feedback(records: Iterable[Mapping[str, Any]], tz: dt.tzinfo) -> FeedbackSummary:
    """Aggregate stored feedback records (``created_at``, ``room_id``, ``kind``, ``reference``,
    ``rating``) into counts per kind, week × room, average rating and reactions per reference."""
    summary = FeedbackSummary()
    for record in records:
        summary.total += 1
        kind = str(record.get("kind"))
        room = str(record.get("room_id"))
        week = iso_week(int(record["created_at"]), tz)
        summary.by_kind[kind] = summary.by_kind.get(kind, 0) + 1
        summary.by_room[room] = summary.by_room.get(room, 0) + 1
        rooms = summary.by_week_room.setdefault(week, {})
        rooms[room] = rooms.get(room, 0) + 1
        rating = record.get("rating")
        if isinstance(rating, int) and not isinstance(rating, bool):
            summary.rating_count += 1
            summary.rating_sum += rating
        reference = record.get("reference")
        if kind == "reaction" and reference:
            refs = summary.reactions_by_reference
            refs[reference] = refs.get(reference, 0) + 1
    summary.by_week_room = dict(sorted(summary.by_week_room.items()))
    return summary
