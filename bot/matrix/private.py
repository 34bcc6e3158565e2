"""Private delivery and member truth: where content about one person may go, and who is in a room.

This module owns three things:

* **Members as the homeserver knows them.** ``/joined_members`` plus pending invitations, cached
  per room and dropped on every member event of that room. nio's local member list is lazy-loaded
  (after a restart with a stored sync token it holds only recent senders) and is never used for a
  decision.
* **One verified direct chat per person.** Either the bot created it for that person, or the
  person opened it as a direct chat (invitation with ``is_direct``, join rule ``invite``).
  Creating is idempotent: a per-person lock in the process and a private room alias on the
  homeserver (a second create, or one after a crash before recording, finds the first room).
* **The one way private content is sent**: :meth:`PrivateRooms.deliver`. Right before each send it
  asks the homeserver whether the room holds exactly the bot and that person with no pending
  invitations. Otherwise the content waits in the store (surviving restarts) until it does.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.store.private import PENDING_DELIVERY_DAYS, PendingDelivery
from bot.transport import HomeserverUnavailable, Members, SendFailed, txn_id

if TYPE_CHECKING:
    from bot.app import Impulsbot

log = logging.getLogger(__name__)

PENDING_KEEP_S = PENDING_DELIVERY_DAYS * 86400  # private content waits this long for its DM
RETRY_EVERY_S = 2.0
DM_ALIAS_SECRET = "private.dm_alias_secret"


@dataclass(frozen=True)
class Part:
    """One piece of private content: a message content or a file."""

    kind: str  # "message" | "file"
    payload: bytes
    filename: str | None = None
    mimetype: str | None = None

    @classmethod
    def message(cls, content: dict[str, Any]) -> Part:
        return cls("message", json.dumps(content).encode())

    @classmethod
    def file(cls, data: bytes, filename: str, mimetype: str) -> Part:
        return cls("file", data, filename, mimetype)


class PrivateRooms:
    def __init__(self, app: Impulsbot) -> None:
        self.app = app
        self._members: dict[str, Members] = {}
        self._generations: defaultdict[str, int] = defaultdict(int)  # member events seen per room
        self._chats: dict[str, str | None] = {}  # user → recorded direct chat (store mirror)
        self._dm_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._flush_lock = asyncio.Lock()
        self.changed = asyncio.Event()  # member events arrived: pending deliveries may be ready

    # ---------------------------------------------------------------- members

    async def members(self, room_id: str, *, fresh: bool = False) -> Members:
        """Homeserver truth; raises HomeserverUnavailable rather than guessing."""
        cached = self._members.get(room_id)
        if cached is not None and not fresh:
            return cached
        generation = self._generations[room_id]
        members = await self.app.shell.room_members(room_id)
        # A member event that arrived while this was being fetched makes the answer stale: it
        # is returned to this caller (as fetched) but not kept for the next one.
        if self._generations[room_id] == generation:
            self._members[room_id] = members
        return members

    def invalidate(self, room_id: str) -> None:
        """A member event arrived in the room."""
        self._members.pop(room_id, None)
        self._generations[room_id] += 1
        self.changed.set()

    async def joined_count(self, room_id: str) -> int | None:
        """Joined people without the bot; None when the homeserver cannot say."""
        try:
            members = await self.members(room_id)
        except HomeserverUnavailable:
            return None
        return len(members.joined - {self.app.user_id})

    async def is_joined(self, room_id: str, user_id: str) -> bool:
        return user_id in (await self.members(room_id)).joined

    # ---------------------------------------------------------------- verified direct chats

    async def is_verified_dm(self, room_id: str, user_id: str, *, fresh: bool = False) -> bool:
        """The person's recorded direct chat, holding exactly the bot and them, no invitations."""
        if await self._chat_of(user_id) != room_id:
            return False
        members = await self.members(room_id, fresh=fresh)
        if not fresh and not self._only_us(members, user_id):
            # The cache may predate the person's join; a "no" is re-asked, a "yes" never weakens
            # anything (every delivery checks fresh members again before it sends).
            members = await self.members(room_id, fresh=True)
        return self._only_us(members, user_id)

    def _only_us(self, members: Members, user_id: str) -> bool:
        return members.joined == {self.app.user_id, user_id} and not members.invited

    async def _chat_of(self, user_id: str) -> str | None:
        if user_id not in self._chats:
            chat = await self.app.store.direct_chat(user_id)
            self._chats[user_id] = chat[0] if chat else None
        return self._chats[user_id]

    async def _record(self, user_id: str, room_id: str, origin: str) -> None:
        await self.app.store.record_direct_chat(user_id, room_id, origin)
        self._chats[user_id] = room_id

    def forget_user(self, user_id: str) -> None:
        """After ``!vergessen``: the store no longer knows the chat."""
        self._chats.pop(user_id, None)

    async def note_direct_invite(self, room_id: str, inviter: str, invite_state: list[Any]) -> None:
        """After joining: record a room the inviter opened as a direct chat with the bot.

        Call it once the bot has joined (the join rule is only readable by members).
        """
        invite = next(
            (
                e
                for e in invite_state
                if getattr(e, "state_key", None) == self.app.user_id
                and getattr(e, "sender", None) == inviter
                and getattr(e, "membership", None) == "invite"
            ),
            None,
        )
        if invite is None or (getattr(invite, "content", None) or {}).get("is_direct") is not True:
            return
        rules = await self.app.shell.state_content(room_id, "m.room.join_rules")
        if (rules or {}).get("join_rule") != "invite":
            return
        await self._record(inviter, room_id, "invited")
        self.invalidate(room_id)
        log.info("%s opened %s as a direct chat", inviter, room_id)

    async def direct_room(self, user_id: str) -> str:
        """The person's direct chat, created on first use (exactly one, even under races)."""
        async with self._dm_locks[user_id]:
            chat = await self.app.store.direct_chat(user_id)
            if chat is not None and await self._usable(chat[0], user_id):
                return chat[0]
            # A new generation when the old chat is gone or no longer private (someone else in).
            generation = await self._generation(user_id, bump=chat is not None)
            alias = await self._alias(user_id, generation)
            room_id = await self.app.shell.create_direct_room(user_id, alias)
            await self._record(user_id, room_id, "created")
            self.invalidate(room_id)
            return room_id

    async def _usable(self, room_id: str, user_id: str) -> bool:
        members = await self.members(room_id, fresh=True)
        allowed = {self.app.user_id, user_id}
        return (
            self.app.user_id in members.joined
            and members.joined <= allowed
            and members.invited <= {user_id}
            and (members.joined | members.invited) == allowed
        )

    async def _generation(self, user_id: str, *, bump: bool) -> int:
        key = f"private.dm_generation:{user_id}"
        current = int(await self.app.store.get_value(key) or 0)
        if bump:
            current += 1
            await self.app.store.set_value(key, str(current))
        return current

    async def _alias(self, user_id: str, generation: int) -> str:
        """A private alias localpart: unguessable, it reveals nothing about whom the DM is with."""
        secret = await self.app.store.get_value(DM_ALIAS_SECRET)
        if secret is None:
            secret = secrets.token_hex(16)
            await self.app.store.set_value(DM_ALIAS_SECRET, secret)
            secret = await self.app.store.get_value(DM_ALIAS_SECRET) or secret
        digest = hmac.new(secret.encode(), f"{user_id}\x1f{generation}".encode(), hashlib.sha256)
        return f"impulsbot-dm-{digest.hexdigest()[:32]}"

    # ---------------------------------------------------------------- the one way to send

    async def deliver(self, user_id: str, parts: list[Part], txn: str) -> str:
        """Send private content to the person's verified direct chat, or queue it until ready.

        Returns the last event ID when sent now, "" when it waits (it is then sent as soon as the
        person has joined the direct chat, also after a restart).
        """
        now = int(time.time())
        for number, part in enumerate(parts):
            await self.app.store.queue_delivery(
                PendingDelivery(
                    txn_id(txn, str(number)),
                    user_id,
                    part.kind,
                    part.payload,
                    part.filename,
                    part.mimetype,
                    now,
                )
            )
        room_id = await self.direct_room(user_id)
        sent = await self._flush_user(user_id, room_id)
        return sent or ""

    async def flush_all(self) -> None:
        """Finish pending deliveries whose direct chat is ready (after joins, after restarts)."""
        async with self._flush_lock:
            users = {p.user_id for p in await self.app.store.pending_deliveries()}
            for user_id in users:
                try:
                    chat = await self.app.store.direct_chat(user_id)
                    room_id = chat[0] if chat else await self.direct_room(user_id)
                    await self._flush_user(user_id, room_id)
                except (HomeserverUnavailable, SendFailed) as exc:
                    log.warning("private delivery still pending: %s", exc)

    async def _flush_user(self, user_id: str, room_id: str) -> str | None:
        async with self._dm_locks[f"send:{user_id}"]:
            pending = await self.app.store.pending_deliveries(user_id)
            if not pending:
                return None
            if not await self._ready(room_id, user_id):
                return self._expire(pending)
            last = None
            for item in pending:
                # Checked before every part: a member may have been invited in between.
                if not await self.is_verified_dm(room_id, user_id, fresh=True):
                    return None
                last = await self._send(room_id, item)
                await self.app.store.delivery_done(item.txn)
            return last

    def _expire(self, pending: list[PendingDelivery]) -> None:
        cutoff = int(time.time()) - PENDING_KEEP_S
        for item in pending:
            if item.created_at < cutoff:
                log.warning("private delivery %s not deliverable for a day; dropped", item.txn)
                self.app.spawn(self.app.store.delivery_done(item.txn))

    async def _ready(self, room_id: str, user_id: str) -> bool:
        if not await self.is_verified_dm(room_id, user_id, fresh=True):
            return False
        shell = self.app.shell
        if not shell.is_encrypted(room_id) or shell.client.olm is None:
            return True
        # The room key can only reach the person once their devices are known.
        return any(True for _ in shell.client.device_store.active_user_devices(user_id))

    async def _send(self, room_id: str, item: PendingDelivery) -> str:
        if item.kind == "file":
            assert item.filename is not None and item.mimetype is not None
            return await self.app.send_file(
                room_id, bytes(item.payload), item.filename, item.mimetype, item.txn
            )
        content = json.loads(bytes(item.payload))
        return await self.app.shell.send(room_id, "m.room.message", content, item.txn)

    async def run(self) -> None:
        """Background: retry pending deliveries when members change, and every few seconds."""
        shell = self.app.shell
        stop = asyncio.ensure_future(shell.stopping.wait())
        try:
            while not shell.stopping.is_set():
                self.changed.clear()
                try:
                    await self.flush_all()
                except Exception:
                    log.exception("pending private deliveries failed")
                waiter = asyncio.ensure_future(self.changed.wait())
                await asyncio.wait(
                    [waiter, stop], timeout=RETRY_EVERY_S, return_when=asyncio.FIRST_COMPLETED
                )
                waiter.cancel()
        finally:
            stop.cancel()
