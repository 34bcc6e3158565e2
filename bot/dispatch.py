"""One room's events, in order: membership, listeners, and each command answered exactly once.

Owns what happens to an event once it is the room's turn (under the room lock): noting when the
bot joined and greeting once, handing the event to every feature's listeners, and for a command
the guards before its handler: too old, already handled or in flight, unknown, outside the
sender's scope (``rooms.refused.*``), direct chats only. A homeserver that cannot answer a guard's
question leaves the command pending for :mod:`bot.router` to retry.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from nio import MatrixRoom, MegolmEvent, RoomMemberEvent, RoomMessageText

from bot.context import Context, Incoming
from bot.events import content_of, relation
from bot.registry import Command, Scope
from bot.roles import Roles
from bot.text.parsing import ParsedCommand, parse_command, strip_reply_fallback
from bot.transport import HomeserverUnavailable, SendFailed, txn_id

if TYPE_CHECKING:
    from bot.app import Impulsbot

log = logging.getLogger(__name__)


class Dispatch:
    def __init__(self, app: Impulsbot) -> None:
        self.app = app
        self.roles = Roles(app)
        self.in_flight: set[str] = set()  # commands being answered right now

    def command_of(self, event: Any) -> ParsedCommand | None:
        if not isinstance(event, RoomMessageText) or _is_edit(event):
            return None
        if event.source.get("content", {}).get("msgtype") != "m.text":
            return None  # notices come from bots; answering them would let bots loop
        return parse_command(event.body, self.app.config.bot.prefix)

    async def process_room(self, room_id: str, events: list[Any]) -> None:
        room = self.app.shell.client.rooms.get(room_id)
        if room is None:
            return
        async with self.app.room_lock(room_id):
            joined_at = await self._note_membership(room, events)
            for event in events:
                try:
                    await self._on_event(room, event, joined_at)
                except Exception:
                    # Never let one bad event stop the others; content is not logged.
                    log.exception("handling event %s in %s failed", event.event_id, room_id)

    async def _note_membership(self, room: MatrixRoom, events: list[Any]) -> int:
        """Record when we joined; greet once right after joining."""
        app = self.app
        for event in events:
            if (
                isinstance(event, RoomMemberEvent)
                and event.state_key == app.user_id
                and event.membership == "join"
                and (event.prev_membership != "join")
            ):
                await app.store.remember_room(room.room_id, event.server_timestamp, False)
                if app.config.bot.greeting and await app.store.claim_greeting(room.room_id):
                    app.spawn(self._greet(room.room_id))
        joined_at = await app.store.room_joined_at(room.room_id)
        if joined_at is None:
            # Joined before this store existed: only what happens from now on is ours.
            joined_at = int(app.now().timestamp() * 1000) - 1000
            await app.store.remember_room(room.room_id, joined_at, False)
            await app.store.claim_greeting(room.room_id)
        return joined_at

    async def _greet(self, room_id: str) -> None:
        app = self.app
        message = app.texts("core.greeting", prefix=app.config.bot.prefix)
        try:
            await app.shell.send(
                room_id,
                "m.room.message",
                app.message_content(message, notice=True),
                txn_id("greeting", room_id),
            )
        except SendFailed as exc:
            log.warning("could not greet %s: %s", room_id, exc)

    async def _on_event(self, room: MatrixRoom, event: Any, joined_at: int) -> None:
        app = self.app
        if getattr(event, "sender", None) == app.user_id:
            return
        if getattr(event, "server_timestamp", 0) < joined_at:
            if isinstance(event, RoomMessageText):
                await app.store.command_done(event.event_id)  # from before we joined: not ours
            return
        if isinstance(event, MegolmEvent):
            app.shell.note_undecryptable(room.room_id, event)
            return
        listeners = [(f.name, listener) for f in app.features for listener in f.listeners]
        for name, listener in listeners:
            try:
                await listener(app, room.room_id, event)
            except Exception:
                # One failing feature must not cost the others (or the command) this event.
                log.exception("listener of %s failed on %s", name, event.event_id)
        await self.on_text(room, event)

    async def on_text(self, room: MatrixRoom, event: Any) -> None:
        parsed = self.command_of(event)
        if parsed is None:
            return
        store = self.app.store
        age_s = self.app.now().timestamp() - event.server_timestamp / 1000
        if age_s > self.app.config.matrix.max_command_age_seconds:
            log.info("ignoring command %s in %s: %.0f s old", event.event_id, room.room_id, age_s)
            await store.command_done(event.event_id)
            return
        if event.event_id in self.in_flight or await store.is_handled(event.event_id):
            await store.command_done(event.event_id)
            return
        self.in_flight.add(event.event_id)
        try:
            try:
                await self._run_command(room, event, parsed.name, parsed.args)
            except (HomeserverUnavailable, TimeoutError) as exc:
                # Not handled yet: the command stays pending and is retried with backoff.
                log.warning("command %s in %s postponed: %s", event.event_id, room.room_id, exc)
                await store.command_attempted(event.event_id)
                return
            await store.finish_command(event.event_id, room.room_id)
        finally:
            self.in_flight.discard(event.event_id)

    async def _run_command(self, room: MatrixRoom, event: RoomMessageText, name: str, args: str):
        """Guard first (scope, direct chat), then the handler; guard errors propagate (retry)."""
        app = self.app
        command = app.registry.find(name)
        scope = command.scope_for(args) if command is not None else Scope.EVERYONE
        ctx = Context(
            app=app,
            incoming=_incoming(room.room_id, event),
            command=command or _UNKNOWN,
            name_used=name,
            args=args,
            is_direct=await app.private.is_verified_dm(room.room_id, event.sender),
            is_moderator=await self.roles.is_moderator(room, event.sender),
            is_team=event.sender in app.config.access.team,
            texts=await app.room_texts(room.room_id),
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
        access = self.app.config.access
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
