"""``impulsbot export feedback``: all feedback, reactions, replies and wishes as a table.

The same code serves the chat command ``!export feedback`` (always pseudonymised). By default the
pseudonyms are made with a fresh random key for this one export (two exports cannot be joined
into a per-person history) and times are cut to the date; ``--stable-pseudonyms`` and
``--with-times`` are explicit choices of the operator.

The file is written by a child process (:mod:`bot.features.export.feedback_child`), so the bot's
event loop never waits for the writer.
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any, BinaryIO, Final

from bot.config import Config
from bot.features.export.feedback_child import run_in_child
from bot.features.export.options import ExportError, ExportFailed, ExportOptions
from bot.features.export.window import export_window
from bot.privacy import (
    IDENTIFIED_EXPORT_FORBIDDEN,
    PseudonymKeyError,
    default_key_file,
    may_export_identified,
    resolve_pseudonym_key,
)
from bot.store import Store
from bot.text.i18n import Texts

log = logging.getLogger(__name__)

NAME: Final = "feedback"
FORMATS: Final = ("csv", "xlsx", "json", "jsonl")
MIMETYPES: Final = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "jsonl": "application/jsonl",
}


class FeedbackExportRefused(ExportFailed):
    """The export cannot be made; ``key``/``params`` name the locale text for the chat."""

    def __init__(self, texts: Texts, key: str, **params: Any) -> None:
        super().__init__(texts(key, prefix="!", **params).plain)
        self.key = key
        self.params = params


def pseudonym_key(config: Config) -> bytes:
    """The HMAC key for pseudonyms: config/env value, else the key file next to the database."""
    configured = config.privacy.pseudonym_key
    value = configured.get_secret_value() if configured is not None else None
    return resolve_pseudonym_key(value, os.environ, default_key_file(config.storage.database))


async def export(store: Store, config: Config, options: ExportOptions, out: BinaryIO) -> int:
    """Write the feedback export to ``out``; refuses (``FeedbackExportRefused``) before writing
    anything when the options are not allowed or invalid."""
    texts = Texts(config.bot.language)
    if options.with_user_ids and not config.privacy.allow_identified_export:
        raise FeedbackExportRefused(texts, IDENTIFIED_EXPORT_FORBIDDEN)
    identified = may_export_identified(
        options.with_user_ids, config.privacy.allow_identified_export
    )
    tz = config.bot.tz
    try:
        since_ms, until_ms = export_window(options.since, options.until, tz)
    except ExportError as exc:
        raise FeedbackExportRefused(texts, exc.key or "", **exc.params) from exc
    key = secrets.token_bytes(32)
    if options.stable_pseudonyms or identified:
        try:
            key = pseudonym_key(config)
        except PseudonymKeyError as exc:
            raise ExportFailed(str(exc)) from exc
    job = {
        "database": str(store.path),
        "since_ms": since_ms,
        "until_ms": until_ms,
        "room_id": options.room_id,
        "fmt": options.fmt,
        "key": key.hex(),
        "identified": identified,
        "timezone": config.bot.timezone,
        "lang": config.bot.language,
        "with_times": options.with_times,
    }
    result = await run_in_child(job, out)
    error = result.get("error")
    if error is None:
        return int(result["count"])
    if result.get("key") is None:
        raise ExportFailed(str(error))
    raise FeedbackExportRefused(texts, result["key"], **result.get("params", {}))


async def export_bytes(store: Store, config: Config, fmt: str) -> tuple[bytes, int]:
    """The pseudonymised export in memory, for uploading into a chat."""
    buffer = io.BytesIO()
    count = await export(store, config, ExportOptions(fmt=fmt), buffer)
    return buffer.getvalue(), count


ROWS_PER_HOP: Final = 1000  # rows handed to the writer thread per event-loop round trip


async def _next_batch(records: AsyncIterator[dict[str, Any]]) -> list[dict[str, Any]]:
    batch: list[dict[str, Any]] = []
    async for record in records:
        batch.append(record)
        if len(batch) == ROWS_PER_HOP:
            break
    return batch


def _blocking(
    records: AsyncIterator[dict[str, Any]], loop: asyncio.AbstractEventLoop
) -> Iterator[dict[str, Any]]:
    """Pull rows from the event loop into the writer thread, a batch at a time."""
    while True:
        batch = asyncio.run_coroutine_threadsafe(_next_batch(records), loop).result()
        if not batch:
            return
        yield from batch
