"""``impulsbot export gaps``: the gap report ("Leerstellen") as a table or a bar chart.

The same aggregation as ``!angebot lücken``: searched but not found, wished for, found but never
opened, plus catalogue entries that never appeared in a result list. Only groups with at least
``privacy.min_group`` searches (or people) are exported; the search log holds no user or room IDs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import BinaryIO, Final

from bot.config import Config
from bot.features.catalogue.load import CatalogueError, load_catalogue
from bot.features.export.cells import Column
from bot.features.export.options import ExportFailed, ExportOptions
from bot.features.export.table import write_export
from bot.features.insights.render import gaps_chart
from bot.features.insights.report import GapReport, load_report
from bot.store import Store
from bot.text.i18n import Texts

NAME: Final = "gaps"
FORMATS: Final = ("csv", "xlsx", "json", "png")
EXPORT_LIMIT: Final = 100
_COLUMNS: Final = (
    ("section", 24),
    ("rank", 6),
    ("topic", 32),
    ("stems", 24),
    ("count", 8),
    ("searches", 12),
)


def columns(texts: Texts) -> tuple[Column, ...]:
    return tuple(
        Column(key, texts(f"angebot.export.col_{key}").plain, width=width)
        for key, width in _COLUMNS
    )


def section_names(texts: Texts) -> dict[str, str]:
    return {
        name: texts(f"angebot.export.section_{name}").plain
        for name in ("gaps", "wishes", "unclicked", "never_found")
    }


def report_rows(report: GapReport, section_names: dict[str, str]) -> list[dict[str, object]]:
    """Flat rows (one per shown group) for ``impulsbot export gaps``."""
    rows: list[dict[str, object]] = []
    sections = (
        ("gaps", report.gaps),
        ("wishes", report.wishes),
        ("unclicked", report.unclicked),
    )
    for section, items in sections:
        for rank, item in enumerate(items, start=1):
            rows.append(
                {
                    "section": section_names.get(section, section),
                    "rank": rank,
                    "topic": item.label,
                    "stems": item.topic,
                    "count": item.count,
                    "searches": item.searches,
                }
            )
    for offering_id in report.never_found:
        rows.append(
            {
                "section": section_names.get("never_found", "never_found"),
                "rank": None,
                "topic": offering_id,
                "stems": "",
                "count": 0,
                "searches": 0,
            }
        )
    return rows


def _day(value: str | None, flag: str) -> str | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip()).isoformat()
    except ValueError as exc:
        raise ExportFailed(f"{flag} {value!r}: bitte als Datum JJJJ-MM-TT angeben.") from exc


def _catalogue_ids(config: Config) -> list[str]:
    try:
        return [e.id for e in load_catalogue(config.content.directory, config.bot.language)]
    except CatalogueError:
        return []  # the rest of the report does not depend on the catalogue


async def build(store: Store, config: Config, options: ExportOptions) -> GapReport:
    if options.room_id is not None:
        raise ExportFailed(
            "Die Suchstatistik enthält bewusst keine Räume – --room ist hier nicht möglich."
        )
    since, until = _day(options.since, "--since"), _day(options.until, "--until")
    if since and until and since > until:
        raise ExportFailed(f"--since {since} liegt nach --until {until}.")
    return await load_report(
        store,
        tz=config.bot.tz,
        min_group=config.privacy.min_group,
        catalogue_ids=_catalogue_ids(config),
        since=since,
        until=until,
        limit=EXPORT_LIMIT,
    )


async def export(store: Store, config: Config, options: ExportOptions, out: BinaryIO) -> int:
    """Write the gap report to ``out``; returns the number of rows (bars for png)."""
    report = await build(store, config, options)
    texts = Texts(config.bot.language)
    if options.fmt == "png":
        title = texts("angebot.digest.chart_title", week="").plain.strip()
        chart = await asyncio.to_thread(
            gaps_chart, report.gaps, title, texts("angebot.digest.chart_axis").plain
        )
        out.write(chart)
        return min(len(report.gaps), 10)
    rows = report_rows(report, section_names(texts))
    return await asyncio.to_thread(
        write_export,
        rows,
        columns(texts),
        options.fmt,  # type: ignore[arg-type]
        out,
        tz=config.bot.tz,
        sheet_title=texts("angebot.gaps.sheet_title").plain,
    )
