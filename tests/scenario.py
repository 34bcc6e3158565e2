"""Scenario helpers for the integration tests: a bot, the people talking to it and their rooms.

The fixtures that make them (``make_chat``, ``make_group``, ``make_member``) live in
``tests/conftest.py``; a test reads as a scenario::

    bot, alice, room = await make_chat(encrypted)
    bob = await make_member(alice, room, "bob")
    reply = await alice.ask(room, "!ping")
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NamedTuple

from bot.dev.client import DevUser, body_of

if TYPE_CHECKING:
    from tests.conftest import RunningBot


def from_bot(bot: RunningBot, text: str = "") -> Callable[[Any], bool]:
    """Matches the bot's messages (with ``text`` in their body, when given)."""
    return lambda event: (
        event.sender == bot.user_id and bool(body := body_of(event)) and (text in body)
    )


async def group_room(
    owner: DevUser, others: list[DevUser], bot: RunningBot, encrypted: bool
) -> str:
    """An ordinary room (not a DM) with ``owner``, ``others`` and the bot, everyone joined."""
    room = await owner.create_room(
        invite=[bot.user_id, *(o.user_id for o in others)],
        encrypted=encrypted,
        preset="private_chat",
    )
    await owner.wait_for(room, from_bot(bot, "Impulsbot"))

    def everyone_joined() -> bool:
        members = owner.client.rooms[room]
        return all(
            o.user_id in members.users and o.user_id not in members.invited_users for o in others
        )

    await owner.wait_until(everyone_joined)
    return room


class Chat(NamedTuple):
    """A running bot, a person and the room they opened with it (greeting already seen);
    unpacks as ``bot, alice, room = await make_chat(encrypted)``."""

    bot: RunningBot
    user: DevUser
    room: str

    async def ask(self, body: str, **kwargs: Any) -> Any:
        """The bot's reply to ``body`` sent by the person in the room."""
        return await self.user.ask(self.room, body, **kwargs)


ChatFactory = Callable[..., Awaitable[Chat]]
MemberFactory = Callable[..., Awaitable[DevUser]]


async def invite(host: DevUser, room: str, *guests: DevUser) -> None:
    """``host`` invites the guests, who join, one after the other; returns once the host has
    seen them join."""
    for guest in guests:
        await host.client.room_invite(room, guest.user_id)
        await guest.join(room)
        await host.wait_until(lambda g=guest: g.user_id in host.client.rooms[room].users)


class Group(NamedTuple):
    """A running bot and an ordinary room (not a DM) its people share with it."""

    bot: RunningBot
    people: list[DevUser]
    room: str


GroupFactory = Callable[..., Awaitable[Group]]
