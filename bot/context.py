"""What a command handler gets: who asked where, the arguments, and ways to answer."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.matrix.private import Part
from bot.registry import Command, Scope
from bot.text.i18n import Message, Texts
from bot.transport import txn_id

if TYPE_CHECKING:
    from bot.app import Impulsbot


@dataclass(frozen=True)
class Incoming:
    """The command message as the bot saw it (already decrypted, reply fallback stripped)."""

    room_id: str
    event_id: str
    sender: str
    body: str
    timestamp_ms: int
    thread_root: str | None = None  # set when the command was sent inside a thread
    replied_to: str | None = None  # event the command replies to (m.in_reply_to)


@dataclass
class Context:
    app: Impulsbot
    incoming: Incoming
    command: Command
    name_used: str  # the spelling the user typed, e.g. "poll" or "umfrage"
    args: str
    is_direct: bool  # a verified direct chat with the sender (homeserver members checked)
    is_moderator: bool  # may change this room: power >= 50 here, v12 creator, access.moderators
    is_team: bool
    texts: Texts
    scope: Scope = Scope.EVERYONE  # what this invocation (command or sub-command) does
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    # ---------------------------------------------------------------- shortcuts

    @property
    def t(self) -> Texts:
        return self.texts

    @property
    def prefix(self) -> str:
        return self.app.config.bot.prefix

    @property
    def room_id(self) -> str:
        return self.incoming.room_id

    @property
    def sender(self) -> str:
        return self.incoming.sender

    @property
    def now(self) -> datetime:
        return self.app.now()

    def text(self, key: str, **params: Any) -> Message:
        """A locale text; ``{prefix}`` is always available."""
        return self.t(key, prefix=self.prefix, **params)

    def next_txn(self, purpose: str) -> str:
        """Deterministic per command and call order: a re-run after a crash reuses the IDs."""
        return txn_id(purpose, self.incoming.event_id, str(next(self._counter)))

    # ---------------------------------------------------------------- answering

    async def reply(self, message: Message) -> str:
        """An ``m.notice`` reply to the command (in its thread, if it came from one)."""
        content = self.app.reply_content(message, self.incoming)
        return await self.app.shell.send(
            self.room_id, "m.room.message", content, self.next_txn("reply")
        )

    async def reply_text(self, key: str, **params: Any) -> str:
        return await self.reply(self.text(key, **params))

    async def react(self, key: str) -> str:
        content = {
            "m.relates_to": {
                "rel_type": "m.annotation",
                "event_id": self.incoming.event_id,
                "key": key,
            }
        }
        txn = self.next_txn("react")
        return await self.app.shell.send(self.room_id, "m.reaction", content, txn)

    async def send_event(self, event_type: str, content: dict[str, Any]) -> str:
        """Any event into this room (e.g. a poll start), with a deterministic transaction ID."""
        return await self.app.shell.send(self.room_id, event_type, content, self.next_txn("event"))

    async def send_message(self, message: Message, *, notice: bool = False) -> str:
        """A new top-level message in this room (not a reply)."""
        content = self.app.message_content(message, notice=notice)
        return await self.app.shell.send(
            self.room_id, "m.room.message", content, self.next_txn("message")
        )

    async def send_direct(self, message: Message) -> str:
        """Private: a message to the sender in their verified direct chat.

        Returns the event ID, or "" when it waits until the person has joined the direct chat
        (it is then delivered from the store, also after a restart).
        """
        content = self.app.message_content(message, notice=True)
        return await self.app.private.deliver(
            self.sender, [Part.message(content)], self.next_txn("dm")
        )

    async def send_private_file(self, data: bytes, filename: str, mimetype: str) -> str:
        """Private: a file for the sender, only into their verified direct chat (as send_direct)."""
        part = Part.file(data, filename, mimetype)
        return await self.app.private.deliver(self.sender, [part], self.next_txn("file"))

    async def answer_privately(self, message: Message) -> str:
        """Private content as an answer: a reply in the direct chat, or sent there with a short
        note in the room where it was asked."""
        if self.is_direct:
            content = self.app.reply_content(message, self.incoming)
            part = Part.message(content)
            return await self.app.private.deliver(self.sender, [part], self.next_txn("dm"))
        sent = await self.send_direct(message)
        await self.reply(self.text("rooms.sent_to_dm" if sent else "rooms.dm_pending"))
        return sent

    async def send_file(self, data: bytes, filename: str, mimetype: str) -> str:
        """Upload a file into this room (shared content only; private files: send_private_file)."""
        return await self.app.send_file(
            self.room_id, data, filename, mimetype, self.next_txn("file")
        )
