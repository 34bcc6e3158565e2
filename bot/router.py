"""From sync to rooms: every command durable before the sync token moves, each room in order.

Owns the hand-off of a sync response: invitations (accepted from allowed inviters, else left),
left rooms forgotten, events a gappy sync left out paged in, events whose keys arrived, commands
written to the store as pending, and one worker per room with a backlog, so a slow room never
holds up the others or the next sync. Also the loop that retries pending commands (errors before
handling, restarts) with backoff until ``max_command_age``. What happens to each event is
:mod:`bot.dispatch`'s part.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from nio import InviteMemberEvent, RoomMemberEvent, RoomMessageText, SyncResponse

from bot.dispatch import Dispatch
from bot.matrix.sync import GapNotFilled

if TYPE_CHECKING:
    from bot.app import Impulsbot

log = logging.getLogger(__name__)

LOCK_WAIT_S = 60.0  # a command waiting longer for its room stays pending and is retried
RETRY_EVERY_S = 2.0
MAX_RETRY_BACKOFF_S = 60.0


class Router:
    def __init__(self, app: Impulsbot) -> None:
        self.app = app
        self.dispatch = Dispatch(app)
        self._backlog: defaultdict[str, list[Any]] = defaultdict(list)
        self._workers: dict[str, asyncio.Task[Any]] = {}
        self._retry_at: dict[str, float] = {}
        self._commands_persisted = 0  # lets the retry loop skip its query while none can wait

    async def on_sync(self, response: SyncResponse) -> None:
        """Hand each room's events to its worker; returns once commands are durably pending.

        The sync token is stored after this returns, so every command is first written to the
        store: a crash or restart later finds it there, not lost between token and handler.
        """
        app = self.app
        for room_id, info in response.rooms.invite.items():
            await self._on_invite(room_id, info.invite_state)
        for room_id in response.rooms.leave:
            app.private.invalidate(room_id)
            await app.store.forget_room(room_id)
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
        for room_id, event in app.shell.retry_decryption():
            batches.setdefault(room_id, []).append(event)
        for room_id, events in batches.items():
            if events:
                await self._persist_commands(room_id, events)
                self._backlog[room_id].extend(events)
                self._wake(room_id)
        if not app.ready.is_set():
            log.info(
                "ready %.2f s after start (first batch processed in %.2f s)",
                app.uptime(),
                time.monotonic() - began,
            )
        app.ready.set()

    def _timeline_events(self, room_id: str, info: Any) -> list[Any]:
        events = list(info.timeline.events)
        if any(isinstance(e, RoomMemberEvent) for e in [*info.state, *events]):
            self.app.private.invalidate(room_id)  # cached homeserver members are stale now
        return events

    async def _fill_gap(self, room_id: str, prev_batch: str | None) -> list[Any]:
        try:
            return await self.app.shell.fill_gap(room_id, prev_batch)
        except GapNotFilled as exc:
            # The sync token stays where it was: the same gap comes back and is retried.
            log.warning("could not fill a sync gap: %s", exc)
            self.app.shell.note_gap_failed()
            return []

    async def _on_invite(self, room_id: str, invite_state: list[Any]) -> None:
        app = self.app
        inviter = next(
            (
                e.sender
                for e in invite_state
                if isinstance(e, InviteMemberEvent)
                and e.state_key == app.user_id
                and e.membership == "invite"
            ),
            None,
        )
        if inviter and app.config.access.invite_allowed(inviter):
            log.info("accepting invite to %s from %s", room_id, inviter)
            app.invite_queue().accept(
                room_id,
                inviter,
                # A room the inviter opened as a direct chat is recorded once the bot is in it.
                lambda: app.private.note_direct_invite(room_id, inviter, invite_state),
            )
        else:
            log.warning("rejecting invite to %s from %s (not allowed)", room_id, inviter)
            await app.shell.leave(room_id)

    def _wake(self, room_id: str) -> None:
        worker = self._workers.get(room_id)
        if worker is None or worker.done():
            self._workers[room_id] = self.app.spawn(self._drain(room_id))

    async def _drain(self, room_id: str) -> None:
        """One room's events in order; other rooms and the sync loop run on meanwhile."""
        while self._backlog.get(room_id):
            events = self._backlog.pop(room_id)
            try:
                await self.dispatch.process_room(room_id, events)
            except Exception:
                log.exception("processing events in %s failed", room_id)

    async def _persist_commands(self, room_id: str, events: list[Any]) -> None:
        for event in events:
            if self.dispatch.command_of(event) is None or event.sender == self.app.user_id:
                continue
            # Already handled ones (a re-delivered batch) are dropped again by the worker.
            self._commands_persisted += 1
            await self.app.store.add_pending_command(
                event.event_id,
                room_id,
                event.sender,
                json.dumps(event.source),
                event.server_timestamp,
            )

    async def retry_pending_commands(self) -> None:
        """Commands not answered yet (errors before handling, restarts): retried with backoff."""
        app = self.app
        # Only this loop's own process adds pending commands: once the table was found empty,
        # it stays empty until the next command is persisted, and needs no query till then.
        empty_at = -1
        while not app.shell.stopping.is_set():
            persisted = self._commands_persisted
            pending_commands = [] if persisted == empty_at else await app.store.pending_commands()
            if not pending_commands:
                empty_at = persisted
            # Answered (or dropped) commands need no retry time any more.
            pending_ids = {pending.event_id for pending in pending_commands}
            self._retry_at = {k: v for k, v in self._retry_at.items() if k in pending_ids}
            for pending in pending_commands:
                if pending.event_id in self.dispatch.in_flight:
                    continue
                age_s = app.now().timestamp() - pending.ts / 1000
                if age_s > app.config.matrix.max_command_age_seconds:
                    log.warning(
                        "command %s in %s not answered within max_command_age (%d attempts)",
                        pending.event_id,
                        pending.room_id,
                        pending.attempts,
                    )
                    await app.store.command_done(pending.event_id)
                    continue
                due = self._retry_at.setdefault(pending.event_id, time.monotonic())
                if time.monotonic() < due or pending.room_id in self._workers_busy():
                    continue
                backoff = min(RETRY_EVERY_S * 2**pending.attempts, MAX_RETRY_BACKOFF_S)
                self._retry_at[pending.event_id] = time.monotonic() + backoff
                app.spawn(self._retry_command(pending.room_id, pending.source))
            await app.shell.sleep_unless_stopped(RETRY_EVERY_S)

    def _workers_busy(self) -> set[str]:
        return {room_id for room_id, task in self._workers.items() if not task.done()}

    async def _retry_command(self, room_id: str, source: str) -> None:
        app = self.app
        room = app.shell.client.rooms.get(room_id)
        event = RoomMessageText.from_dict(json.loads(source))
        joined_at = await app.store.room_joined_at(room_id)
        if room is None or not isinstance(event, RoomMessageText) or joined_at is None:
            return
        if event.server_timestamp < joined_at:
            await app.store.command_done(event.event_id)
            return
        try:
            await asyncio.wait_for(app.room_lock(room_id).acquire(), LOCK_WAIT_S)
        except TimeoutError:
            return  # stays pending
        try:
            await self.dispatch.on_text(room, event)
        finally:
            app.room_lock(room_id).release()
