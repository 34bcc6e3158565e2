"""Connection handling and numbered schema migrations (``migrations/NNNN_name.sql``)."""

from __future__ import annotations

import asyncio
import logging
import os
import re
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import aiosqlite

from bot.personal_data import LEGAL_BASIS_TASK, NOBODY, Category, Erase, Export

if TYPE_CHECKING:
    from bot.personal_data import Expiry, Purge

log = logging.getLogger(__name__)
T = TypeVar("T")

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


def technical(**fields: Any) -> Category:
    """A category of data the bot keeps only to do its job: legal basis its public task, passed
    to nobody (``bot/personal_data.py``)."""
    return Category(legal_basis=LEGAL_BASIS_TASK, recipients=NOBODY, **fields)


def user_linked(export: Export, erase: Erase, *, kind: Any = Category, **fields: Any) -> Category:
    """A category linked directly to people: ``!meine-daten`` shows it through ``export``,
    ``!vergessen`` erases it through ``erase``. ``kind=technical`` for data kept only to do the
    job."""
    return kind(link="direct", export=export, erase=erase, **fields)


def purge_before(
    table: str, column: str, unit: Literal["s", "ms"], *, days: int | None = None, where: str = ""
) -> Purge:
    """A retention purge (``Category.purge``): the rows of ``table`` whose ``column`` (unix
    seconds or milliseconds, per ``unit``) lies before the cutoff go, ``days`` ago or
    ``privacy.retention_days`` when None. ``where`` narrows it (``"status = 'ended' AND "``)."""

    async def purge(store: Any, expiry: Expiry) -> int:
        seconds = expiry.cutoff(days).timestamp()
        before = int(seconds) if unit == "s" else int(seconds * 1000)
        return await store.delete_before(table, column, before, where=where)

    return purge


class StoreBase:
    """Owns the aiosqlite connection. Feature mixins add their queries on top."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._db: aiosqlite.Connection | None = None
        self._tx_lock = asyncio.Lock()
        self._tx_owner: asyncio.Task[Any] | None = None
        self._savepoints = 0

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

    @staticmethod
    def window_clauses(
        since_ms: int | None, until_ms: int | None, room_id: str | None
    ) -> tuple[list[str], list[Any]]:
        """WHERE clauses for the exports' common filters (created_at window, one room)."""
        clauses: list[str] = []
        params: list[Any] = []
        for clause, value in (
            ("created_at >= ?", since_ms),
            ("created_at < ?", until_ms),
            ("room_id = ?", room_id),
        ):
            if value is not None:
                clauses.append(clause)
                params.append(value)
        return clauses, params

    async def personal_data(self, user_id: str) -> dict[str, Any]:
        """Everything stored about one person (``!meine-daten``), from the declared categories
        (``bot/personal_data.py``) — never from method names."""
        from bot.personal_data import collect  # it imports the store modules

        return await collect(self, user_id)  # type: ignore[arg-type]

    async def forget_user(self, user_id: str) -> dict[str, int]:
        """Delete everything linked to one person (``!vergessen``); returns counts per kind."""
        from bot.personal_data import erase

        return await erase(self, user_id)  # type: ignore[arg-type]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One atomic unit of work on the shared connection.

        All coroutines share one connection, so a transaction must keep the others out: otherwise
        their statements would land inside it (and vanish with its rollback), and a second BEGIN
        would fail. Statements from other tasks wait until it ends; nesting in the same task uses
        a savepoint.
        """
        task = asyncio.current_task()
        if self._tx_owner is task:
            self._savepoints += 1
            name = f"sp{self._savepoints}"
            await self.db.execute(f"SAVEPOINT {name}")
            try:
                yield self.db
            except BaseException:
                await self.db.execute(f"ROLLBACK TO {name}")
                await self.db.execute(f"RELEASE {name}")
                raise
            else:
                await self.db.execute(f"RELEASE {name}")
            finally:
                self._savepoints -= 1
            return
        async with self._tx_lock:
            self._tx_owner = task
            try:
                await self.db.execute("BEGIN IMMEDIATE")
                try:
                    yield self.db
                except BaseException:
                    await self.db.execute("ROLLBACK")
                    raise
                else:
                    await self.db.execute("COMMIT")
            finally:
                self._tx_owner = None

    async def _outside_foreign_transaction(self) -> None:
        """Wait while another task's transaction is open (see :meth:`transaction`)."""
        while self._tx_lock.locked() and self._tx_owner is not asyncio.current_task():
            async with self._tx_lock:
                pass  # released again at once: our statement is queued before anyone else's

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Cursor:
        await self._outside_foreign_transaction()
        return await self.db.execute(sql, tuple(params))

    async def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> aiosqlite.Cursor:
        await self._outside_foreign_transaction()
        return await self.db.executemany(sql, [tuple(r) for r in rows])

    async def delete_before(self, table: str, column: str, before: Any, *, where: str = "") -> int:
        """Retention in one statement: rows of ``table`` whose ``column`` is below ``before``
        (and which match ``where``, ending in AND) go; returns how many."""
        cursor = await self.execute(f"DELETE FROM {table} WHERE {where}{column} < ?", (before,))
        return cursor.rowcount

    async def fetch_each(
        self, convert: Callable[[aiosqlite.Row], T], sql: str, params: Iterable[Any] = ()
    ) -> list[T]:
        """:meth:`fetchall`, each row turned into a record by ``convert``."""
        return [convert(row) for row in await self.fetchall(sql, params)]

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        # One trip to the database thread (execute, fetch and close as three cost three).
        await self._outside_foreign_transaction()
        return list(await self.db.execute_fetchall(sql, tuple(params)))
