"""``impulsbot export feedback``: all feedback, reactions, replies and wishes as a table.

The same code serves the chat command ``!export feedback`` (always pseudonymised). By default the
pseudonyms are made with a fresh random key for this one export (two exports cannot be joined
into a per-person history) and times are cut to the date; ``--stable-pseudonyms`` and
``--with-times`` are explicit choices of the operator. Rows stream
from the database into the writer, which runs in a worker thread: a million rows need no more
memory than ten, and the bot's event loop stays responsive while a big export is written.
"""

from __future__ import annotations

import asyncio
import io
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any, BinaryIO, Final

from bot.cli_export import ExportFailed
from bot.config import Config
from bot.export import ExportError, export_window, write_feedback_export
from bot.exports import ExportOptions
from bot.i18n import Texts
from bot.privacy import (
    IDENTIFIED_EXPORT_FORBIDDEN,
    PseudonymKeyError,
    default_key_file,
    may_export_identified,
    resolve_pseudonym_key,
)
from bot.store import Store

NAME: Final = "feedback"
FORMATS: Final = ("csv", "xlsx", "json", "jsonl")
MIMETYPES: Final = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "jsonl": "application/jsonl",
}
ROOM_NAME_KEY: Final = "roomname:{room_id}"


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
    records = records_with_room_names(store, since_ms, until_ms, options.room_id)
    try:
        return await asyncio.to_thread(
            write_feedback_export,
            _blocking(records, asyncio.get_running_loop()),
            options.fmt,  # type: ignore[arg-type]
            out,
            key=key,
            identified=identified,
            tz=tz,
            lang=config.bot.language,
            with_times=options.with_times,
        )
    except ExportError as exc:
        if exc.key is None:
            raise ExportFailed(str(exc)) from exc
        raise FeedbackExportRefused(texts, exc.key, **exc.params) from exc
    finally:
        await records.aclose()


async def export_bytes(store: Store, config: Config, fmt: str) -> tuple[bytes, int]:
    """The pseudonymised export in memory, for uploading into a chat."""
    buffer = io.BytesIO()
    count = await export(store, config, ExportOptions(fmt=fmt), buffer)
    return buffer.getvalue(), count


async def records_with_room_names(
    store: Store, since_ms: int | None, until_ms: int | None, room_id: str | None
) -> AsyncIterator[dict[str, Any]]:
    """Stored feedback in id order, with ``timestamp`` and the room name the bot last saw."""
    names: dict[str, str] = {}
    async for record in store.iter_feedback(since_ms, until_ms, room_id):
        room = record["room_id"]
        if room not in names:
            names[room] = await store.get_value(ROOM_NAME_KEY.format(room_id=room)) or ""
        record["timestamp"] = record["created_at"]
        record["room_name"] = names[room]
        yield record


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
