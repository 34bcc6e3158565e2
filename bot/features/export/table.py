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

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import IO, BinaryIO, Final, Literal, get_args
from zoneinfo import ZoneInfo

from bot.features.export.cells import (
    Column,
    csv_cell,
    dates_only,
    json_value,
    localised,
    neutralise_formula,
)
from bot.features.export.xlsx import write_xlsx

ExportFormat = Literal["csv", "xlsx", "json", "jsonl"]
FORMATS: Final[tuple[str, ...]] = get_args(ExportFormat)
# Formats that can go to standard output; a zip container (xlsx) belongs in a file.
STREAMABLE_FORMATS: Final = frozenset({"csv", "json", "jsonl"})
DEFAULT_TZ: Final = ZoneInfo("Europe/Berlin")


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
        rows = dates_only(rows, [c.key for c in columns if c.timestamp], tz)
    if fmt == "xlsx":
        return write_xlsx(rows, columns, out, tz, sheet_title)
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


def _write_csv(
    rows: Iterable[Mapping[str, object]], columns: Sequence[Column], out: IO[str], tz: dt.tzinfo
) -> int:
    out.write("\ufeff")  # the BOM tells Excel this is UTF-8
    writer = csv.writer(out, delimiter=";", quotechar='"', lineterminator="\r\n")
    writer.writerow([neutralise_formula(c.header) for c in columns])
    count = 0
    for row in rows:
        writer.writerow([csv_cell(localised(row.get(c.key), c.timestamp, tz)) for c in columns])
        count += 1
    return count


def _json_objects(
    rows: Iterable[Mapping[str, object]], columns: Sequence[Column], tz: dt.tzinfo
) -> Iterator[str]:
    for row in rows:
        item = {c.key: json_value(localised(row.get(c.key), c.timestamp, tz)) for c in columns}
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
