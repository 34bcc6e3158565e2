"""Streaming rows into an Excel sheet (openpyxl's write-only mode).

Real date cells in local wall time (Excel has no time zones), a bold frozen header with an
autofilter, column widths from the column contract, formula neutralisation, and the sheet's
limits: more rows than a sheet holds or a text longer than a cell holds is an :class:`ExportError`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, BinaryIO, Final

from bot.features.export.cells import Column, localised, neutralise_formula
from bot.features.export.options import ExportError

XLSX_MAX_DATA_ROWS: Final = 1_048_576 - 1  # sheet row limit minus the header row
XLSX_MAX_CELL_CHARS: Final = 32_767
XLSX_DATETIME_FORMAT: Final = "DD.MM.YYYY HH:MM"  # shown localised by Excel
XLSX_FILTER_BUTTON_CHARS: Final = 3  # room for the autofilter arrow next to a header


def write_xlsx(
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
        sheet.append([cell_of(localised(row.get(c.key), c.timestamp, tz)) for c in columns])
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
