"""A plain matrix-nio user client for the demo, the tests and the benchmarks.

It plays the human: creates (encrypted) rooms, invites the bot, sends messages and waits for what
comes back, decrypting like any Element client would.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinResponse,
    MegolmEvent,
    RoomCreateResponse,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
)
from nio.store import SqliteStore

from bot.dev.server import RegisteredUser
from bot.events import content_of, relation
from bot.matrix.rooms import MEGOLM
from bot.matrix.sync import crypto_housekeeping

Predicate = Callable[[Any], bool]


class DevUser:
    def __init__(self, homeserver: str, user: RegisteredUser, store_dir: Path) -> None:
        self.user = user
        store_dir.mkdir(parents=True, exist_ok=True)
        config = AsyncClientConfig(
            encryption_enabled=True, store=SqliteStore, store_sync_tokens=True, max_timeouts=None
        )
        self.client = AsyncClient(
            homeserver, user.user_id, store_path=str(store_dir), config=config
        )
        self.events: list[tuple[str, Any]] = []  # (room_id, event) in arrival order
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._synced = asyncio.Event()
        self.auto_join = True  # accept invitations at once (as a user clicking "join")

    @property
    def user_id(self) -> str:
        return self.user.user_id

    async def start(self) -> None:
        self.client.restore_login(self.user.user_id, self.user.device_id, self.user.access_token)
        self.client.load_store()
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        self._task = asyncio.ensure_future(self._sync_loop())
        await asyncio.wait_for(self._synced.wait(), 30)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.client.close()

    async def _sync_loop(self) -> None:
        client = self.client
        while True:
            response = await client.sync(timeout=10_000, full_state=not self._synced.is_set())
            if not isinstance(response, SyncResponse):
                await asyncio.sleep(0.5)
                continue
            with contextlib.suppress(Exception):  # a test user shrugs off transport hiccups
                await crypto_housekeeping(client)
            for room_id in response.rooms.invite:
                if self.auto_join:
                    await client.join(room_id)
            async with self._changed:
                for room_id, info in response.rooms.join.items():
                    for event in info.timeline.events:
                        self.events.append((room_id, event))
                self._synced.set()
                self._changed.notify_all()

    # ------------------------------------------------------------------ actions

    async def create_room(
        self,
        invite: list[str],
        encrypted: bool = True,
        name: str = "Testraum",
        direct: bool = False,
        preset: str | None = None,
    ) -> str:
        """``preset`` as in the spec: "private_chat", "trusted_private_chat" (Element's DM:
        invitees get the creator's power level 100) or "public_chat"."""
        state = (
            [{"type": "m.room.encryption", "state_key": "", "content": MEGOLM}] if encrypted else []
        )
        response = await self.client.room_create(
            name=name,
            invite=invite,
            initial_state=state,
            is_direct=direct,
            preset=RoomPreset(preset) if preset else None,
        )
        assert isinstance(response, RoomCreateResponse), response
        await self.wait_until(lambda: response.room_id in self.client.rooms)
        return response.room_id

    async def join(self, room_id: str) -> None:
        response = await self.client.join(room_id)
        assert isinstance(response, JoinResponse), response
        await self.wait_until(lambda: room_id in self.client.rooms)

    async def send(self, room_id: str, event_type: str, content: dict[str, Any]) -> str:
        response = await self.client.room_send(
            room_id, event_type, content, ignore_unverified_devices=True
        )
        assert isinstance(response, RoomSendResponse), response
        return response.event_id

    async def say(
        self, room_id: str, body: str, reply_to: str | None = None, thread: str | None = None
    ) -> str:
        content: dict[str, Any] = {"msgtype": "m.text", "body": body}
        if thread:
            content["m.relates_to"] = {
                "rel_type": "m.thread",
                "event_id": thread,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": reply_to or thread},
            }
        elif reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
        return await self.send(room_id, "m.room.message", content)

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        relates = {"rel_type": "m.annotation", "event_id": event_id, "key": key}
        return await self.send(room_id, "m.reaction", {"m.relates_to": relates})

    # ------------------------------------------------------------------ waiting

    async def wait_until(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("condition not met in time")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)

    def find(self, room_id: str, predicate: Predicate, since: int = 0) -> list[Any]:
        return [e for r, e in self.events[since:] if r == room_id and predicate(e)]

    async def wait_for(
        self, room_id: str, predicate: Predicate, timeout: float = 30.0, since: int = 0
    ) -> Any:
        await self.wait_until(lambda: bool(self.find(room_id, predicate, since)), timeout)
        return self.find(room_id, predicate, since)[0]

    async def wait_reply(self, room_id: str, event_id: str, timeout: float = 30.0) -> Any:
        """The first event that replies to ``event_id`` (the bot's answer)."""
        return await self.wait_for(room_id, lambda e: replies_to(e) == event_id, timeout)

    async def ask(self, room_id: str, body: str, timeout: float = 30.0, **kwargs: Any) -> Any:
        event_id = await self.say(room_id, body, **kwargs)
        return await self.wait_reply(room_id, event_id, timeout)

    def replies(self, room_id: str, event_id: str) -> list[Any]:
        return self.find(room_id, lambda e: replies_to(e) == event_id)


def replies_to(event: Any) -> str | None:
    if isinstance(event, MegolmEvent):
        return None
    return relation(content_of(event)).reply_to


def body_of(event: Any) -> str:
    body = content_of(event).get("body")
    return body if isinstance(body, str) else ""


def html_of(event: Any) -> str:
    html = content_of(event).get("formatted_body")
    return html if isinstance(html, str) else ""
