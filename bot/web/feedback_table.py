"""The filters of ``/rueckmeldungen`` (read from the query string) and the filtered download.

Downloads go through the export writer of ``!export feedback`` with the same pseudonyms, so a file
from the dashboard and one from the chat look alike; only the active filters differ.
"""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.config import Config
from bot.features.export.feedback import _blocking, pseudonym_key
from bot.features.export.feedback_rows import write_feedback_export
from bot.features.export.options import ExportError
from bot.features.export.window import export_window
from bot.features.feedback.rooms import ROOM_NAME_KEY
from bot.store.web import FeedbackFilter
from bot.text.i18n import Texts
from bot.web.render import language

if TYPE_CHECKING:
    from bot.app import Impulsbot

FIELDS = ("von", "bis", "kategorie", "bezug", "art", "bewertung", "suche")


def feedback_filter(
    request: web.Request, config: Config
) -> tuple[FeedbackFilter, dict[str, str], str | None]:
    """(filter, the raw values for the form, a German/English error text or None)."""
    values = {name: request.query.get(name, "").strip()[:200] for name in FIELDS}
    error = None
    try:
        window = export_window(values["von"] or None, values["bis"] or None, config.bot.tz)
        since_ms, until_ms = window
    except ExportError as exc:
        texts = Texts(language(request, config.bot.language))
        error = texts(exc.key or "", prefix=config.bot.prefix, **exc.params).plain
        since_ms = until_ms = None
    rooms = None
    if values["kategorie"]:
        categories = config.insights.room_categories
        rooms = tuple(room for room, cat in categories.items() if cat == values["kategorie"])
    rating = int(values["bewertung"]) if values["bewertung"] in ("1", "2", "3", "4", "5") else None
    kind = values["art"] if values["art"] in ("feedback", "reaction", "reply", "wish") else None
    flt = FeedbackFilter(
        since_ms=since_ms,
        until_ms=until_ms,
        room_ids=rooms,
        reference=values["bezug"] or None,
        kind=kind,
        rating=rating,
        query=values["suche"] or None,
    )
    return flt, values, error


async def _named(bot: Impulsbot, flt: FeedbackFilter) -> Any:
    names: dict[str, str] = {}
    async for record in bot.store.iter_feedback_filtered(flt):
        room = record["room_id"]
        if room not in names:
            names[room] = await bot.store.get_value(ROOM_NAME_KEY.format(room_id=room)) or ""
        record["timestamp"], record["room_name"] = record["created_at"], names[room]
        yield record


async def download(bot: Impulsbot, flt: FeedbackFilter, fmt: str, lang: str) -> bytes:
    out = io.BytesIO()
    records = _named(bot, flt)
    try:
        await asyncio.to_thread(
            write_feedback_export,
            _blocking(records, asyncio.get_running_loop()),
            fmt,  # type: ignore[arg-type]
            out,
            key=pseudonym_key(bot.config),
            identified=False,
            tz=bot.config.bot.tz,
            lang=lang,
        )
    finally:
        await records.aclose()
    return out.getvalue()
