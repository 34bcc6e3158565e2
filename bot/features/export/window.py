"""``--since``/``--until`` (and the dashboard's "von"/"bis"): local days as unix-ms bounds."""

from __future__ import annotations

import datetime as dt

from bot.features.export.options import ExportError


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
