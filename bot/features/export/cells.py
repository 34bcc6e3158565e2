"""One export column and how each value becomes a cell.

Timestamps (unix milliseconds or aware datetimes) are shown in the configured time zone; naive
datetimes are refused, their zone would be a guess. Spreadsheet formula injection (OWASP "CSV
Injection"): a text starting with ``=``, ``+``, ``-``, ``@``, tab or CR gets a leading ``'``, so a
feedback text such as ``=HYPERLINK(…)`` is shown, never executed. Numbers stay numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r")


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


def as_datetime(value: object, tz: dt.tzinfo) -> dt.datetime:
    if isinstance(value, int) and not isinstance(value, bool):
        seconds, millis = divmod(value, 1000)
        return dt.datetime.fromtimestamp(seconds, tz).replace(microsecond=millis * 1000)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} in export: time zone unknown")
        return value.astimezone(tz)
    raise TypeError(f"expected unix milliseconds or a datetime, got {type(value).__name__}")


def dates_only(
    rows: Iterable[Mapping[str, object]], keys: Sequence[str], tz: dt.tzinfo
) -> Iterator[Mapping[str, object]]:
    for row in rows:
        values = dict(row)
        for key in keys:
            if values.get(key) is not None:
                values[key] = as_datetime(values[key], tz).date()
        yield values


def localised(value: object, timestamp: bool, tz: dt.tzinfo) -> object:
    """Unix-ms integers (in timestamp columns) and datetimes become local aware datetimes."""
    if value is None:
        return None
    if isinstance(value, dt.datetime) or (timestamp and isinstance(value, int)):
        return as_datetime(value, tz)
    return value


def neutralise_formula(text: str) -> str:
    """Prefix ``'`` to text a spreadsheet would read as a formula (OWASP CSV injection)."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def iso_text(value: dt.datetime | dt.date) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    return value.isoformat()


def csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value).replace(".", ",") if math.isfinite(value) else ""
    if isinstance(value, dt.date):
        return iso_text(value)
    return neutralise_formula(str(value))


def json_value(value: object) -> object:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.date):
        return iso_text(value)
    return str(value)
