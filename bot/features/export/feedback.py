"""``impulsbot export feedback``: all feedback, reactions, replies and wishes as a table.

The same code serves the chat command ``!export feedback`` (always pseudonymised). By default the
pseudonyms are made with a fresh random key for this one export (two exports cannot be joined
into a per-person history) and times are cut to the date; ``--stable-pseudonyms`` and
``--with-times`` are explicit choices of the operator.

The file is written by a child process (``python -m bot.features.export.feedback``) that reads the
database read-only and streams its rows into the writer: a million rows need no more memory than
ten, and the bot's event loop never waits for the writer (a writer thread would hold the GIL for
most of a big XLSX export). The job, including the pseudonym key, goes to the child on its
standard input, never on its command line.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import secrets
import shutil
import sqlite3
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Final
from zoneinfo import ZoneInfo

from bot.config import Config
from bot.features.export.options import ExportFailed, ExportOptions
from bot.features.export.table import ExportError, export_window, write_feedback_export
from bot.privacy import (
    IDENTIFIED_EXPORT_FORBIDDEN,
    PseudonymKeyError,
    default_key_file,
    may_export_identified,
    resolve_pseudonym_key,
)
from bot.store import Store
from bot.store.base import StoreBase
from bot.store.feedback import FEEDBACK_FIELDS
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
ROOM_NAME_KEY: Final = "roomname:{room_id}"
CHILD_MODULE: Final = "bot.features.export.feedback"
CHILD_NICENESS: Final = 10  # the bot's own work goes first on a busy machine
ROWS_PER_QUERY: Final = 5000
PROJECT_ROOT: Final = Path(__file__).resolve().parents[2]


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
    result = await _run_in_child(job, out)
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


# --- the child process ---------------------------------------------------------------------


async def _run_in_child(job: dict[str, Any], out: BinaryIO) -> dict[str, Any]:
    """Run ``job`` in ``python -m bot.features.export.feedback``, copy its file into ``out``; the
    child's answer is ``{"count": n}`` or ``{"error": message, "key": …, "params": {...}}``."""
    fd, path = tempfile.mkstemp(prefix="impulsbot-export-")  # 0600: only the bot reads it
    os.close(fd)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    process: asyncio.subprocess.Process | None = None
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            CHILD_MODULE,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        request = json.dumps({**job, "output": path}).encode()
        answer, errors = await process.communicate(request)
        if process.returncode != 0:
            log.error("export process failed (%s): %s", process.returncode, errors.decode()[-2000:])
            raise ExportFailed("export process failed; see the bot's log")
        result: dict[str, Any] = json.loads(answer)
        if result.get("error") is None:
            await asyncio.to_thread(_copy_file, path, out)
        return result
    finally:
        if process is not None and process.returncode is None:
            process.kill()  # cancelled: the export is not wanted any more
            await process.wait()
        os.unlink(path)


def _copy_file(path: str, out: BinaryIO) -> None:
    with open(path, "rb") as source:
        shutil.copyfileobj(source, out)


def _stored_records(
    db: sqlite3.Connection, since_ms: int | None, until_ms: int | None, room_id: str | None
) -> Iterator[dict[str, Any]]:
    """Stored feedback in id order, with ``timestamp`` and the room name the bot last saw."""
    names: dict[str, str] = {}
    clauses, params = StoreBase.window_clauses(since_ms, until_ms, room_id)
    where = " AND ".join([*clauses, "id > ?"])
    last_id = -(2**63)  # anonymous rows have negative ids
    while True:
        rows = db.execute(
            f"SELECT {FEEDBACK_FIELDS} FROM feedback WHERE {where} ORDER BY id LIMIT ?",
            (*params, last_id, ROWS_PER_QUERY),
        ).fetchall()
        if not rows:
            return
        for row in rows:
            record = dict(row)
            room = record["room_id"]
            if room not in names:
                name = db.execute(
                    "SELECT value FROM kv WHERE key = ?", (ROOM_NAME_KEY.format(room_id=room),)
                ).fetchone()
                names[room] = name[0] if name else ""
            record["timestamp"] = record["created_at"]
            record["room_name"] = names[room]
            yield record
        last_id = rows[-1]["id"]


def write_job(job: dict[str, Any]) -> int:
    """The child's work: read the database read-only, write the file named in ``job``."""
    uri = Path(job["database"]).resolve().as_uri() + "?mode=ro"
    db = sqlite3.connect(uri, uri=True)
    try:
        db.row_factory = sqlite3.Row
        records = _stored_records(db, job["since_ms"], job["until_ms"], job["room_id"])
        with open(job["output"], "wb") as out:
            return write_feedback_export(
                records,
                job["fmt"],
                out,
                key=bytes.fromhex(job["key"]),
                identified=job["identified"],
                tz=ZoneInfo(job["timezone"]),
                lang=job["lang"],
                with_times=job["with_times"],
            )
    finally:
        db.close()


def _child_main() -> None:
    with contextlib.suppress(OSError):
        os.nice(CHILD_NICENESS)
    job = json.loads(sys.stdin.buffer.read())
    try:
        result: dict[str, Any] = {"count": write_job(job)}
    except ExportError as exc:
        result = {"error": str(exc), "key": exc.key, "params": exc.params}
    sys.stdout.write(json.dumps(result, default=str))


if __name__ == "__main__":
    _child_main()
