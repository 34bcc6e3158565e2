"""The bot: wires config, store, content and commands to the Matrix shell and runs them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from nio import (
    InviteMemberEvent,
    MatrixRoom,
    MegolmEvent,
    RoomMemberEvent,
    RoomMessageText,
    SyncResponse,
)

from bot import __version__
from bot.config import Config
from bot.context import Context, Incoming
from bot.events import content_of, relation
from bot.feature import States
from bot.matrix.private import PrivateRooms
from bot.matrix.retry import InviteQueue
from bot.matrix.shell import GapNotFilled, HomeserverUnavailable, MatrixShell, SendFailed, txn_id
from bot.registry import Command, Registry, Scope
from bot.store import Store
from bot.text.i18n import LANGUAGES, Message, Texts
from bot.text.parsing import parse_command, strip_reply_fallback
from bot.web import WebServer, start_web
from bot.wiring import FEATURES, registry

log = logging.getLogger(__name__)

MODERATOR_POWER = 50
PRE_V12_ROOM_VERSIONS = {str(v) for v in range(1, 12)}
HANDLED_RETENTION_S = 7 * 86400
SHUTDOWN_GRACE_S = 30.0
LOCK_WAIT_S = 60.0  # a command waiting longer for its room stays pending and is retried
RETRY_EVERY_S = 2.0
MAX_RETRY_BACKOFF_S = 60.0

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Impulsbot:
    def __init__(self, config: Config, *, clock: Clock = utc_now) -> None:
        self.config = config
        self.now = clock
        self.texts = Texts(config.bot.language)
        self.store = Store(config.storage.database)
        self.shell = MatrixShell(config, self.store)
        self.registry: Registry = registry()
        self.started_at = time.monotonic()
        self.ready = asyncio.Event()
        self._in_flight: set[str] = set()
        self._room_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._room_creators: dict[str, set[str]] = {}
        self.private = PrivateRooms(self)
        # Per-room backlog and worker: a slow room never holds up other rooms or the next sync.
        self._backlog: defaultdict[str, list[Any]] = defaultdict(list)
        self._workers: dict[str, asyncio.Task[Any]] = {}
        self._retry_at: dict[str, float] = {}
        self._commands_persisted = 0  # lets the retry loop skip its query while none can wait
        # Feature state, one object per feature class (bot/feature.py).
        self.state = States()
        self.features: dict[str, Any] = {}  # being replaced by ``state``, feature by feature
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
        setups = [f.setup(self) for f in FEATURES if f.setup is not None]
        setups += [c.setup(self) for c in self.registry if c.setup is not None]
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
        jobs = [self.spawn(self._run_job(job)) for f in FEATURES for job in f.jobs]
        jobs += [self.spawn(self._run_job(job)) for c in self.registry for job in c.jobs]
        jobs.append(self.spawn(self._housekeeping()))
        self.spawn(self.invite_queue().resume(self.config.access.invite_allowed))
        jobs.append(self.spawn(self._after_ready(self.private.run())))
        jobs.append(self.spawn(self._after_ready(self._retry_pending_commands())))
        try:
            await self.shell.sync_forever(self.on_sync)
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

    # ------------------------------------------------------------------ sync handling

    async def on_sync(self, response: SyncResponse) -> None:
        """Hand each room's events to its worker; returns once commands are durably pending.

        The sync token is stored after this returns, so every command is first written to the
        store: a crash or restart later finds it there, not lost between token and handler.
        """
        for room_id, info in response.rooms.invite.items():
            await self._on_invite(room_id, info.invite_state)
        for room_id in response.rooms.leave:
            self.private.invalidate(room_id)
            await self.store.forget_room(room_id)
        began = time.monotonic()
        joined = response.rooms.join
        batches = {room: self._timeline_events(room, info) for room, info in joined.items()}
        gappy = [room_id for room_id, info in joined.items() if info.timeline.limited]
        if gappy:  # rare: most syncs need no task per room
            older = await asyncio.gather(
                *(self._fill_gap(room_id, joined[room_id].timeline.prev_batch) for room_id in gappy)
            )
            for room_id, events in zip(gappy, older, strict=True):
                batches[room_id] = events + batches[room_id]
        for room_id, event in self.shell.retry_decryption():
            batches.setdefault(room_id, []).append(event)
        for room_id, events in batches.items():
            if events:
                await self._persist_commands(room_id, events)
                self._backlog[room_id].extend(events)
                self._wake(room_id)
        if not self.ready.is_set():
            log.info(
                "ready %.2f s after start (first batch processed in %.2f s)",
                self.uptime(),
                time.monotonic() - began,
            )
        self.ready.set()

    def _timeline_events(self, room_id: str, info: Any) -> list[Any]:
        events = list(info.timeline.events)
        if any(isinstance(e, RoomMemberEvent) for e in [*info.state, *events]):
            self.private.invalidate(room_id)  # cached homeserver members are stale now
        return events

    async def _fill_gap(self, room_id: str, prev_batch: str | None) -> list[Any]:
        try:
            return await self.shell.fill_gap(room_id, prev_batch)
        except GapNotFilled as exc:
            # The sync token stays where it was: the same gap comes back and is retried.
            log.warning("could not fill a sync gap: %s", exc)
            self.shell.note_gap_failed()
            return []

    def _wake(self, room_id: str) -> None:
        worker = self._workers.get(room_id)
        if worker is None or worker.done():
            self._workers[room_id] = self.spawn(self._drain(room_id))

    async def _drain(self, room_id: str) -> None:
        """One room's events in order; other rooms and the sync loop run on meanwhile."""
        while self._backlog.get(room_id):
            events = self._backlog.pop(room_id)
            try:
                await self._process_room(room_id, events)
            except Exception:
                log.exception("processing events in %s failed", room_id)

    async def _persist_commands(self, room_id: str, events: list[Any]) -> None:
        for event in events:
            if self._command_of(event) is None or event.sender == self.user_id:
                continue
            # Already handled ones (a re-delivered batch) are dropped again by the worker.
            self._commands_persisted += 1
            await self.store.add_pending_command(
                event.event_id,
                room_id,
                event.sender,
                json.dumps(event.source),
                event.server_timestamp,
            )

    def _command_of(self, event: Any) -> Any:
        if not isinstance(event, RoomMessageText) or _is_edit(event):
            return None
        if event.source.get("content", {}).get("msgtype") != "m.text":
            return None  # notices come from bots; answering them would let bots loop
        return parse_command(event.body, self.config.bot.prefix)

    async def _on_invite(self, room_id: str, invite_state: list[Any]) -> None:
        inviter = next(
            (
                e.sender
                for e in invite_state
                if isinstance(e, InviteMemberEvent)
                and e.state_key == self.user_id
                and e.membership == "invite"
            ),
            None,
        )
        if inviter and self.config.access.invite_allowed(inviter):
            log.info("accepting invite to %s from %s", room_id, inviter)
            self.invite_queue().accept(
                room_id,
                inviter,
                # A room the inviter opened as a direct chat is recorded once the bot is in it.
                lambda: self.private.note_direct_invite(room_id, inviter, invite_state),
            )
        else:
            log.warning("rejecting invite to %s from %s (not allowed)", room_id, inviter)
            await self.shell.leave(room_id)

    def invite_queue(self) -> InviteQueue:
        """Joins retried in the background (bot/retry.py): across federation the first join
        often comes too early. Invites still pending from the last run are resumed in serve()."""
        queue = self.features.get("invites")
        if queue is None:
            queue = InviteQueue(self.shell.try_join, self.shell.keep_trying, self.spawn, self.store)
            self.features["invites"] = queue
        return queue

    async def _process_room(self, room_id: str, events: list[Any]) -> None:
        room = self.shell.client.rooms.get(room_id)
        if room is None:
            return
        async with self.room_lock(room_id):
            joined_at = await self._note_membership(room, events)
            for event in events:
                try:
                    await self._on_event(room, event, joined_at)
                except Exception:
                    # Never let one bad event stop the others; content is not logged.
                    log.exception("handling event %s in %s failed", event.event_id, room_id)

    async def _note_membership(self, room: MatrixRoom, events: list[Any]) -> int:
        """Record when we joined; greet once right after joining."""
        for event in events:
            if (
                isinstance(event, RoomMemberEvent)
                and event.state_key == self.user_id
                and event.membership == "join"
                and (event.prev_membership != "join")
            ):
                await self.store.remember_room(room.room_id, event.server_timestamp, False)
                if self.config.bot.greeting and await self.store.claim_greeting(room.room_id):
                    self.spawn(self._greet(room.room_id))
        joined_at = await self.store.room_joined_at(room.room_id)
        if joined_at is None:
            # Joined before this store existed: only what happens from now on is ours.
            joined_at = int(self.now().timestamp() * 1000) - 1000
            await self.store.remember_room(room.room_id, joined_at, False)
            await self.store.claim_greeting(room.room_id)
        return joined_at

    async def _greet(self, room_id: str) -> None:
        message = self.texts("core.greeting", prefix=self.config.bot.prefix)
        try:
            await self.shell.send(
                room_id,
                "m.room.message",
                self.message_content(message, notice=True),
                txn_id("greeting", room_id),
            )
        except SendFailed as exc:
            log.warning("could not greet %s: %s", room_id, exc)

    async def _on_event(self, room: MatrixRoom, event: Any, joined_at: int) -> None:
        if getattr(event, "sender", None) == self.user_id:
            return
        if getattr(event, "server_timestamp", 0) < joined_at:
            if isinstance(event, RoomMessageText):
                await self.store.command_done(event.event_id)  # from before we joined: not ours
            return
        if isinstance(event, MegolmEvent):
            self.shell.note_undecryptable(room.room_id, event)
            return
        listeners = [(f.name, listener) for f in FEATURES for listener in f.listeners]
        listeners += [(c.name, c.listener) for c in self.registry if c.listener is not None]
        for name, listener in listeners:
            try:
                await listener(self, room.room_id, event)
            except Exception:
                # One failing feature must not cost the others (or the command) this event.
                log.exception("listener of %s failed on %s", name, event.event_id)
        await self._on_text(room, event)

    async def _on_text(self, room: MatrixRoom, event: Any) -> None:
        parsed = self._command_of(event)
        if parsed is None:
            return
        age_s = self.now().timestamp() - event.server_timestamp / 1000
        if age_s > self.config.matrix.max_command_age_seconds:
            log.info("ignoring command %s in %s: %.0f s old", event.event_id, room.room_id, age_s)
            await self.store.command_done(event.event_id)
            return
        if event.event_id in self._in_flight or await self.store.is_handled(event.event_id):
            await self.store.command_done(event.event_id)
            return
        self._in_flight.add(event.event_id)
        try:
            try:
                await self._run_command(room, event, parsed.name, parsed.args)
            except (HomeserverUnavailable, TimeoutError) as exc:
                # Not handled yet: the command stays pending and is retried with backoff.
                log.warning("command %s in %s postponed: %s", event.event_id, room.room_id, exc)
                await self.store.command_attempted(event.event_id)
                return
            await self.store.finish_command(event.event_id, room.room_id)
            self._retry_at.pop(event.event_id, None)
        finally:
            self._in_flight.discard(event.event_id)

    async def _run_command(self, room: MatrixRoom, event: RoomMessageText, name: str, args: str):
        """Guard first (scope, direct chat), then the handler; guard errors propagate (retry)."""
        incoming = _incoming(room.room_id, event)
        command = self.registry.find(name)
        scope = command.scope_for(args) if command is not None else Scope.EVERYONE
        ctx = Context(
            app=self,
            incoming=incoming,
            command=command or _UNKNOWN,
            name_used=name,
            args=args,
            is_direct=await self.private.is_verified_dm(room.room_id, event.sender),
            is_moderator=await self._is_moderator(room, event.sender),
            is_team=event.sender in self.config.access.team,
            texts=await self.room_texts(room.room_id),
            scope=scope or Scope.EVERYONE,
        )
        refusal = None if command is None else self._refusal(ctx, scope)
        try:
            if command is None:
                await ctx.reply(ctx.text("core.unknown_command", name=name))
            elif refusal is not None:
                spelled = f"{name} {args.split()[0]}" if scope is not command.scope else name
                await ctx.reply(ctx.text(refusal, name=spelled))
            elif command.direct_only and not ctx.is_direct:
                await ctx.reply(ctx.text("core.direct_only", name=name))
            else:
                await command.handler(ctx)
        except (SendFailed, HomeserverUnavailable) as exc:
            log.warning("could not answer %s in %s: %s", event.event_id, room.room_id, exc)
        except Exception:
            log.exception("command %s failed (event %s)", name, event.event_id)
            with contextlib.suppress(SendFailed):
                await ctx.reply(ctx.text("core.internal_error"))

    def _refusal(self, ctx: Context, scope: Scope | None) -> str | None:
        """The refusal text key, or None when the sender may do what this scope covers."""
        access = self.config.access
        if scope is None:
            return "rooms.refused.unscoped"  # fail closed: an undeclared command does nothing
        if scope is Scope.ROOM and not ctx.is_moderator:
            return "rooms.refused.room"
        if scope is Scope.ORGANISATION and not (
            ctx.sender in access.moderators or ctx.sender in access.team
        ):
            return "rooms.refused.organisation"
        if scope is Scope.TEAM and ctx.sender not in access.team:
            return "rooms.refused.team"
        return None

    async def _retry_pending_commands(self) -> None:
        """Commands not answered yet (errors before handling, restarts): retried with backoff."""
        # Only this loop's own process adds pending commands: once the table was found empty,
        # it stays empty until the next command is persisted, and needs no query till then.
        empty_at = -1
        while not self.shell.stopping.is_set():
            persisted = self._commands_persisted
            pending_commands = [] if persisted == empty_at else await self.store.pending_commands()
            if not pending_commands:
                empty_at = persisted
            for pending in pending_commands:
                if pending.event_id in self._in_flight:
                    continue
                age_s = self.now().timestamp() - pending.ts / 1000
                if age_s > self.config.matrix.max_command_age_seconds:
                    log.warning(
                        "command %s in %s not answered within max_command_age (%d attempts)",
                        pending.event_id,
                        pending.room_id,
                        pending.attempts,
                    )
                    await self.store.command_done(pending.event_id)
                    continue
                due = self._retry_at.setdefault(pending.event_id, time.monotonic())
                if time.monotonic() < due or pending.room_id in self._workers_busy():
                    continue
                backoff = min(RETRY_EVERY_S * 2**pending.attempts, MAX_RETRY_BACKOFF_S)
                self._retry_at[pending.event_id] = time.monotonic() + backoff
                self.spawn(self._retry_command(pending.room_id, pending.source))
            await self.shell.sleep_unless_stopped(RETRY_EVERY_S)

    def _workers_busy(self) -> set[str]:
        return {room_id for room_id, task in self._workers.items() if not task.done()}

    async def _retry_command(self, room_id: str, source: str) -> None:
        room = self.shell.client.rooms.get(room_id)
        event = RoomMessageText.from_dict(json.loads(source))
        joined_at = await self.store.room_joined_at(room_id)
        if room is None or not isinstance(event, RoomMessageText) or joined_at is None:
            return
        if event.server_timestamp < joined_at:
            await self.store.command_done(event.event_id)
            return
        try:
            await asyncio.wait_for(self.room_lock(room_id).acquire(), LOCK_WAIT_S)
        except TimeoutError:
            return  # stays pending
        try:
            await self._on_text(room, event)
        finally:
            self.room_lock(room_id).release()

    async def _is_moderator(self, room: MatrixRoom, user_id: str) -> bool:
        if user_id in self.config.access.moderators:
            return True
        if room.power_levels.get_user_level(user_id) >= MODERATOR_POWER:
            return True
        # From room version 12 on, creators outrank every power level and are not listed.
        return room.room_version not in PRE_V12_ROOM_VERSIONS and user_id in await self._creators(
            room.room_id
        )

    async def _creators(self, room_id: str) -> set[str]:
        cached = self._room_creators.get(room_id)
        if cached is None:
            status, create = await self.shell.raw_request(
                "GET", f"/_matrix/client/v3/rooms/{room_id}/state/m.room.create/"
            )
            if status != 200 or not isinstance(create, dict):
                return set()
            extra = create.get("additional_creators") or []
            cached = {create.get("creator", ""), *[u for u in extra if isinstance(u, str)]}
            # The create content of v12 rooms has no "creator"; the event's sender is the creator.
            cached |= await self._create_sender(room_id)
            self._room_creators[room_id] = cached
        return cached

    async def _create_sender(self, room_id: str) -> set[str]:
        status, state = await self.shell.raw_request(
            "GET", f"/_matrix/client/v3/rooms/{room_id}/state/m.room.create/?format=event"
        )
        if status == 200 and isinstance(state, dict) and isinstance(state.get("sender"), str):
            return {state["sender"]}
        return set()

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


async def _noop(ctx: Context) -> None:  # placeholder handler for unknown commands
    return None


_UNKNOWN = Command(name="unknown", german="unbekannt", handler=_noop, scope=Scope.EVERYONE)


def _is_edit(event: Any) -> bool:
    content = content_of(event)
    return "m.new_content" in content or relation(content).is_edit


def _incoming(room_id: str, event: RoomMessageText) -> Incoming:
    rel = relation(content_of(event))
    return Incoming(
        room_id=room_id,
        event_id=event.event_id,
        sender=event.sender,
        body=strip_reply_fallback(event.body),
        timestamp_ms=event.server_timestamp,
        thread_root=rel.thread_root,
        replied_to=None if rel.falling_back else rel.reply_to,
    )
