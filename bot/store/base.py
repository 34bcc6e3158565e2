"""Connection handling and numbered schema migrations (``migrations/NNNN_name.sql``)."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
BUSY_TIMEOUT_MS = 10_000


def migrations() -> list[tuple[int, str, str]]:
    """All shipped migrations as (number, name, sql), ordered by number."""
    folder = resources.files("bot.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if len(numbers) != len(set(numbers)):
        raise RuntimeError(f"two migrations share a number: {numbers}")
    return found


def create_private_file(path: Path) -> None:
    """Create the database file (and its folder) readable only by the bot's user."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


class StoreBase:
    """Owns the aiosqlite connection. Feature mixins add their queries on top."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db: aiosqlite.Connection | None = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("store is not open")
        return self._db

    async def open(self) -> None:
        if str(self.path) != ":memory:":
            create_private_file(self.path)
        self._db = await aiosqlite.connect(str(self.path), isolation_level=None)
        self._db.row_factory = aiosqlite.Row
        await self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await self._db.execute("PRAGMA journal_mode = WAL")
        await self._db.execute("PRAGMA synchronous = NORMAL")
        await self._db.execute("PRAGMA foreign_keys = ON")
        await self.migrate()

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def __aenter__(self) -> StoreBase:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def migrate(self) -> list[str]:
        await self.db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " number INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL DEFAULT (datetime('now')))"
        )
        applied = {row[0] for row in await self.fetchall("SELECT number FROM schema_migrations")}
        done = []
        for number, name, sql in migrations():
            if number in applied:
                continue
            # executescript commits on its own; wrapping it keeps each migration atomic.
            await self.db.executescript(
                f"BEGIN;\n{sql}\n;INSERT INTO schema_migrations (number, name) "
                f"VALUES ({number}, '{name}');\nCOMMIT;"
            )
            log.info("applied migration %s", name)
            done.append(name)
        return done

    async def personal_data(self, user_id: str) -> dict[str, Any]:
        """Everything stored about one person (``!meine-daten``), gathered from every feature.

        Each feature mixin contributes a method ``personal_data_<feature>(user_id) -> dict``.
        """
        result: dict[str, Any] = {}
        for name in sorted(dir(self)):
            if name.startswith("personal_data_"):
                result.update(await getattr(self, name)(user_id))
        return result

    async def forget_user(self, user_id: str) -> dict[str, int]:
        """Delete everything linked to one person (``!vergessen``); returns counts per kind.

        Each feature mixin contributes ``forget_user_<feature>(user_id) -> dict[str, int]``.
        """
        counts: dict[str, int] = {}
        async with self.transaction():
            for name in sorted(dir(self)):
                if name.startswith("forget_user_"):
                    for kind, count in (await getattr(self, name)(user_id)).items():
                        counts[kind] = counts.get(kind, 0) + count
        return counts

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        await self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            await self.db.execute("ROLLBACK")
            raise
        else:
            await self.db.execute("COMMIT")

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Cursor:
        return await self.db.execute(sql, tuple(params))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        async with self.db.execute(sql, tuple(params)) as cursor:
            return await cursor.fetchone()

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        async with self.db.execute(sql, tuple(params)) as cursor:
            return list(await cursor.fetchall())
