"""Rooms: joining, leaving, creating with invites, members and state, and what features may ask.

Owns the room questions features get instead of nio's client (``is_joined``, ``room_name``,
``local_members`` …), room creation that is never retried into a second room while each invite
is retried across federation (:mod:`bot.matrix.retry`), the idempotent direct chat through a
private alias, and membership and state as the homeserver reports them. Part of
:class:`bot.matrix.shell.MatrixShell`.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import quote

from nio import (
    AsyncClient,
    JoinResponse,
    MatrixRoom,
    RoomCreateResponse,
    RoomPreset,
    RoomResolveAliasResponse,
)

from bot.matrix.retry import Attempt, classify, describe, retrying, transient_status
from bot.transport import HomeserverUnavailable, Members, SendFailed

MEGOLM = {"algorithm": "m.megolm.v1.aes-sha2"}


class Rooms:
    """The room half of the shell."""

    client: AsyncClient

    # What features may ask about rooms, so that none reaches into nio's client.

    @property
    def _synced_rooms(self) -> dict[str, MatrixRoom]:
        # Before the first login (the dashboard alone, a check run) there is no client: no rooms.
        client = vars(self).get("client")
        return client.rooms if client is not None else {}

    def is_joined(self, room_id: str) -> bool:
        """Whether the bot's client knows it is in the room (from sync; not for privacy checks)."""
        return room_id in self._synced_rooms

    def joined_room_ids(self) -> list[str]:
        return list(self._synced_rooms)

    def room_name(self, room_id: str) -> str | None:
        """The room's own name or canonical alias; never a computed name made of people's names."""
        room = self._synced_rooms.get(room_id)
        name = room and (room.name or room.canonical_alias)
        return str(name) if name else None

    def local_members(self, room_id: str) -> set[str]:
        """Members from the client's lazy-loaded view: a hint for waiting, never for deciding."""
        room = self._synced_rooms.get(room_id)
        return set(room.users) if room is not None else set()

    def can_redact(self, room_id: str, user_id: str) -> bool:
        """Whether the room's power levels (as synced) let ``user_id`` redact others' events."""
        room = self._synced_rooms.get(room_id)
        return room is not None and bool(room.power_levels.can_user_redact(user_id))

    async def await_invitees(self, room_id: str, invitees: list[str], within: float) -> None:
        """Wait until the client lists everyone invited to a new encrypted room and knows their
        devices; otherwise the room key of the first message misses some of them.

        The room can become known from a sync that shows only part of the invites.
        """
        client = self.client
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within

        def ready() -> bool:
            room = client.rooms.get(room_id)
            if room is None or not set(invitees) <= set(room.users):
                return False
            return all(client.device_store.active_user_devices(user) for user in invitees)

        while not ready() and loop.time() < deadline:
            if client.should_query_keys:
                with contextlib.suppress(Exception):  # a query already in flight is fine
                    await client.keys_query()
            await asyncio.sleep(0.2)

    def is_encrypted(self, room_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        return bool(room and room.encrypted)

    async def join(self, room_id: str) -> bool:
        return (await self.try_join(room_id)).ok

    # --- room creation, invites and joins: retried across federation (issue 20, retry.py)

    async def try_join(self, room_id: str) -> Attempt:
        """One join; a 403 counts as transient (the inviting server may not have stored yet)."""
        response = await self.client.join(room_id)
        if isinstance(response, JoinResponse):
            return Attempt(True)
        return classify(response, forbidden_is_transient=True)

    async def leave(self, room_id: str) -> None:
        with contextlib.suppress(Exception):
            await self.client.room_leave(room_id)

    async def create_direct_room(self, user_id: str, alias_localpart: str) -> str:
        """A direct chat for one person, idempotent through a private alias.

        The alias makes the homeserver the judge: a second create (concurrent, or after a crash
        between creating and recording) fails with M_ROOM_IN_USE and the existing room is used.
        """
        try:
            return await self._create_encrypted_room(
                [user_id],
                is_direct=True,
                preset=RoomPreset.private_chat,
                alias=alias_localpart,
            )
        except SendFailed as exc:
            if "M_ROOM_IN_USE" not in str(exc):
                raise
        server = self.client.user_id.split(":", 1)[1]
        response = await self.client.room_resolve_alias(f"#{alias_localpart}:{server}")
        if not isinstance(response, RoomResolveAliasResponse):
            raise SendFailed(f"could not resolve the direct chat alias: {describe(response)}")
        return response.room_id

    async def state_content(self, room_id: str, event_type: str, key: str = "") -> dict | None:
        """One state event's content from the homeserver; None when absent or unreadable."""
        path = f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/state/{event_type}/{key}"
        status, content = await self.raw_request("GET", path)
        return content if status == 200 and isinstance(content, dict) else None

    async def room_members(self, room_id: str) -> Members:
        """Joined members and pending invitations, asked from the homeserver."""
        room = quote(room_id, safe="")
        status, joined = await self.raw_request(
            "GET", f"/_matrix/client/v3/rooms/{room}/joined_members"
        )
        if status != 200 or not isinstance(joined, dict):
            raise HomeserverUnavailable(f"joined_members of {room_id}: HTTP {status}")
        status, invites = await self.raw_request(
            "GET", f"/_matrix/client/v3/rooms/{room}/members?membership=invite"
        )
        if status != 200 or not isinstance(invites, dict):
            raise HomeserverUnavailable(f"invited members of {room_id}: HTTP {status}")
        chunk = invites.get("chunk")
        return Members(
            joined=frozenset(u for u in (joined.get("joined") or {}) if isinstance(u, str)),
            invited=frozenset(
                e["state_key"]
                for e in (chunk if isinstance(chunk, list) else [])
                if isinstance(e, dict)
                and isinstance(e.get("state_key"), str)
                and (e.get("content") or {}).get("membership") == "invite"
            ),
        )

    async def create_room(self, name: str, invite: list[str], topic: str = "") -> str:
        return await self._create_encrypted_room(invite, name=name, topic=topic)

    async def _create_encrypted_room(self, invite: list[str], **options: Any) -> str:
        """Create, then invite one by one: a remote server that is down fails its own invite
        (retried), never the creation, which must not be retried into a second room."""

        async def create() -> Attempt:
            response = await self.client.room_create(
                initial_state=[{"type": "m.room.encryption", "state_key": "", "content": MEGOLM}],
                **options,
            )
            if isinstance(response, RoomCreateResponse):
                return Attempt(True, value=response.room_id)
            return classify(response)

        what = f"creating a room for {', '.join(invite)}"
        created = await retrying(create, what, self.keep_trying)
        if not created.ok:
            raise SendFailed(f"could not create a room with {invite}: {created.reason}")
        room_id: str = created.value
        self._adopt_created_room(room_id, invite)
        for user_id in invite:
            await retrying(
                lambda user_id=user_id: self._try_invite(room_id, user_id, options),
                f"inviting {user_id} to {room_id}",
                self.keep_trying,
            )
        return room_id

    async def _try_invite(self, room_id: str, user_id: str, options: dict[str, Any]) -> Attempt:
        # The membership state endpoint, unlike /invite, carries is_direct for direct chats.
        content: dict[str, Any] = {"membership": "invite"}
        if options.get("is_direct"):
            content["is_direct"] = True
        room, user = quote(room_id, safe=""), quote(user_id, safe="")
        try:
            status, payload = await self.raw_request(
                "PUT", f"/_matrix/client/v3/rooms/{room}/state/m.room.member/{user}", content
            )
        except HomeserverUnavailable as exc:
            return classify(exc)
        if status == 200:
            return Attempt(True)
        reason = f"HTTP {status} {payload.get('errcode', '') if isinstance(payload, dict) else ''}"
        return Attempt(False, retry=transient_status(status), reason=reason.strip())

    # --- end of issue 20's part

    def _adopt_created_room(self, room_id: str, invited: list[str]) -> None:
        """Know a room we just created without waiting for the next sync.

        Handlers run inside sync processing, so waiting for the sync to show the room would stall
        the bot. Invitees are members for key sharing (as Element does), so they can read what the
        bot posts before they accept the invitation.
        """
        if room_id in self.client.rooms:
            return
        room = MatrixRoom(room_id, self.client.user_id, encrypted=True)
        room.add_member(self.client.user_id, None, None)
        for user_id in invited:
            room.add_member(user_id, None, None, invited=True)
        self.client.rooms[room_id] = room
        self.client.encrypted_rooms.add(room_id)
        if self.client.olm is not None:
            self.client.olm.update_tracked_users(room)
