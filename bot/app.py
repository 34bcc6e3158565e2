"""The bot: wires config, store, features and the Matrix shell together and runs them.

:class:`Impulsbot` is the ``app`` every command and feature is handed. It owns the lifecycle
(start, serve, stop with a grace period), background tasks, the per-room locks, scheduled jobs,
and the helpers for outgoing messages. Sync responses go to :mod:`bot.router`, which queues each
room's events for :mod:`bot.dispatch`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from bot import __version__
from bot.config import Config
from bot.context import Incoming
from bot.feature import Feature, States
from bot.matrix.private import PrivateRooms
from bot.matrix.retry import InviteQueue
from bot.matrix.shell import MatrixShell
from bot.router import Router
from bot.store import Store
from bot.text.i18n import LANGUAGES, Message, Texts
from bot.web import WebServer, start_web
from bot.wiring import FEATURES, registry

log = logging.getLogger(__name__)

HANDLED_RETENTION_S = 7 * 86400
SHUTDOWN_GRACE_S = 30.0

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Impulsbot:
    def __init__(
        self,
        config: Config,
        *,
        clock: Clock = utc_now,
        features: tuple[Feature, ...] = FEATURES,
    ) -> None:
        self.config = config
        self.now = clock
        self.texts = Texts(config.bot.language)
        self.store = Store(config.storage.database)
        self.shell = MatrixShell(config, self.store)
        self.features = features  # what this bot does (bot/wiring.py)
        self.registry = registry(features)
        self.started_at = time.monotonic()
        self.ready = asyncio.Event()
        self._room_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: set[asyncio.Task[Any]] = set()
        self.private = PrivateRooms(self)
        self.router = Router(self)  # sync responses → per-room workers → commands
        # Feature state, one object per feature class (bot/feature.py).
        self.state = States()
        self._invites: InviteQueue | None = None
        self.web: WebServer | None = None  # the team dashboard (bot/web), when configured

    # ------------------------------------------------------------------ lifecycle

    @property
    def user_id(self) -> str:
        return self.config.matrix.user_id

    async def start(self) -> None:
        """Open the store, then load content (may fail loudly) while logging in."""
        await self.store.open()
        await asyncio.gather(self.setup_features(), self.shell.connect())
        self.web = await start_web(self)

    async def setup_features(self) -> None:
        """Every feature's start-up hook (content loading may fail loudly)."""
        setups = [f.setup(self) for f in self.features if f.setup is not None]
        await asyncio.gather(*setups)

    async def run(self) -> None:
        """Start, sync until SIGTERM/SIGINT, then finish in-flight work and close."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)
        try:
            await self.start()
            await self.serve()
        finally:
            await self.close()

    async def serve(self) -> None:
        jobs = [self.spawn(self._run_job(job)) for f in self.features for job in f.jobs]
        jobs.append(self.spawn(self._housekeeping()))
        self.spawn(self.invite_queue().resume(self.config.access.invite_allowed))
        jobs.append(self.spawn(self._after_ready(self.private.run())))
        jobs.append(self.spawn(self._after_ready(self.router.retry_pending_commands())))
        try:
            await self.shell.sync_forever(self.router.on_sync)
        finally:
            for task in jobs:
                task.cancel()

    def request_stop(self) -> None:
        log.info("stopping")
        self.shell.stop()

    async def close(self) -> None:
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            _, late = await asyncio.wait(pending, timeout=SHUTDOWN_GRACE_S)
            # Bounded: whatever still runs is cancelled; unanswered commands stay pending.
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=5)
        if self.web is not None:
            await self.web.stop()
        await self.shell.close()
        await self.store.close()

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        """Background work that outlives the current handler; awaited on shutdown."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def room_lock(self, room_id: str) -> asyncio.Lock:
        """Serialises everything that touches one room: commands, listeners and timers."""
        return self._room_locks[room_id]

    async def _after_ready(self, work: Awaitable[Any]) -> None:
        await self.ready.wait()
        await work

    async def _run_job(self, job: Any) -> None:
        await self.ready.wait()
        while not self.shell.stopping.is_set():
            try:
                await job.run(self, self.now())
            except Exception:
                log.exception("scheduled job %s failed", getattr(job.run, "__qualname__", job))
            await self.shell.sleep_unless_stopped(job.every_seconds)

    async def _housekeeping(self) -> None:
        while not self.shell.stopping.is_set():
            await self.store.forget_handled_before(int(time.time()) - HANDLED_RETENTION_S)
            await self.shell.sleep_unless_stopped(3600)

    def invite_queue(self) -> InviteQueue:
        """Joins retried in the background (bot/retry.py): across federation the first join
        often comes too early. Invites still pending from the last run are resumed in serve()."""
        if self._invites is None:
            self._invites = InviteQueue(
                self.shell.try_join, self.shell.keep_trying, self.spawn, self.store
            )
        return self._invites

    # ------------------------------------------------------------------ outgoing helpers

    def message_content(self, message: Message, *, notice: bool = False) -> dict[str, Any]:
        return {
            "msgtype": "m.notice" if notice else "m.text",
            "body": message.plain,
            "format": "org.matrix.custom.html",
            "formatted_body": message.html,
            "m.mentions": {},  # an echoed "@room" or name never notifies anyone
        }

    def reply_content(self, message: Message, incoming: Incoming) -> dict[str, Any]:
        content = self.message_content(message, notice=True)
        relates: dict[str, Any] = {"m.in_reply_to": {"event_id": incoming.event_id}}
        if incoming.thread_root:
            relates.update(
                {"rel_type": "m.thread", "event_id": incoming.thread_root, "is_falling_back": False}
            )
        content["m.relates_to"] = relates
        return content

    async def send_file(
        self, room_id: str, data: bytes, filename: str, mimetype: str, txn: str
    ) -> str:
        encrypted = self.shell.is_encrypted(room_id)
        location = await self.shell.upload(data, filename, mimetype, encrypt=encrypted)
        content = {
            "msgtype": "m.file",
            "body": filename,
            "filename": filename,
            "info": {"mimetype": mimetype, "size": len(data)},
            **location,
        }
        return await self.shell.send(room_id, "m.room.message", content, txn)

    async def direct_room(self, user_id: str) -> str:
        """The person's verified direct chat (:mod:`bot.matrix.private`), opened on first use."""
        return await self.private.direct_room(user_id)

    async def room_texts(self, room_id: str) -> Texts:
        """The room's language (``!sprache``), else the configured one."""
        lang = await self.store.get_value(f"lang:{room_id}")
        return Texts(lang) if lang in LANGUAGES else self.texts

    def uptime(self) -> float:
        return time.monotonic() - self.started_at

    def version(self) -> str:
        return __version__
