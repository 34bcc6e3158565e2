"""The process that writes the feedback export file (``python -m`` this module).

It reads the database read-only and streams its rows into the writer: a million rows need no more
memory than ten, and the bot's event loop never waits for the writer (a writer thread would hold
the GIL for most of a big XLSX export). The job, including the pseudonym key, goes to the child on
its standard input, never on its command line; the answer comes back as JSON on standard output.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Final
from zoneinfo import ZoneInfo

from bot.features.export.feedback_rows import write_feedback_export
from bot.features.export.options import ExportError, ExportFailed
from bot.features.feedback.rooms import ROOM_NAME_KEY
from bot.store.feedback import export_rows

log = logging.getLogger(__name__)

CHILD_MODULE: Final = "bot.features.export.feedback_child"
CHILD_NICENESS: Final = 10  # the bot's own work goes first on a busy machine
PROJECT_ROOT: Final = Path(__file__).resolve().parents[3]


async def run_in_child(job: dict[str, Any], out: BinaryIO) -> dict[str, Any]:
    """Run ``job`` in the child process and copy its file into ``out``; the child's answer is
    ``{"count": n}`` or ``{"error": message, "key": …, "params": {...}}``."""
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


def write_job(job: dict[str, Any]) -> int:
    """The child's work: read the database read-only, write the file named in ``job``."""
    uri = Path(job["database"]).resolve().as_uri() + "?mode=ro"
    db = sqlite3.connect(uri, uri=True)
    try:
        db.row_factory = sqlite3.Row
        records = export_rows(
            db, job["since_ms"], job["until_ms"], job["room_id"], room_name_key=ROOM_NAME_KEY
        )
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
