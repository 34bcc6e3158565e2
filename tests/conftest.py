"""Shared fixtures: one real Synapse per test session, bots and users on it."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from bot.app import Impulsbot
from bot.config import Config, load_config
from bot.dev.client import DevUser
from bot.dev.server import LocalSynapse
from tests.scenario import (
    Chat,
    ChatFactory,
    Group,
    GroupFactory,
    MemberFactory,
    from_bot,
    group_room,
    invite,
)

REPO = Path(__file__).resolve().parent.parent
# Every feature's integration tests run once in a plain and once in an encrypted room.
PLAIN_AND_ENCRYPTED = pytest.mark.parametrize(
    "encrypted", [False, True], ids=["plain", "encrypted"]
)
_names = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_names)}{secrets.token_hex(2)}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``make test``), the two federating Synapses and the browser each start
    on one worker only, not on every worker that happens to get one of their tests."""
    for item in items:
        for expensive in ("federation", "browser"):
            if item.get_closest_marker(expensive) is not None:
                item.add_marker(pytest.mark.xdist_group(expensive))


@pytest_asyncio.fixture(scope="session")
async def synapse(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalSynapse]:
    server = LocalSynapse(tmp_path_factory.mktemp("synapse"))
    await server.start()
    yield server
    await server.stop()


class RunningBot:
    """A bot instance in this event loop; can be stopped and started again on the same store."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.app: Impulsbot | None = None
        self._task: asyncio.Task[Any] | None = None

    @property
    def user_id(self) -> str:
        return self.config.matrix.user_id

    async def start(self) -> Impulsbot:
        self.app = Impulsbot(self.config)
        await self.app.start()
        self._task = asyncio.ensure_future(self.app.serve())
        await asyncio.wait_for(self.app.ready.wait(), 30)
        return self.app

    async def stop(self) -> None:
        if self.app is None:
            return
        self.app.request_stop()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._task, 30)
        await self.app.close()
        self.app = None

    async def restart(self) -> Impulsbot:
        await self.stop()
        return await self.start()


BotFactory = Callable[..., Awaitable[RunningBot]]
UserFactory = Callable[..., Awaitable[DevUser]]


def write_config(
    folder: Path, synapse: LocalSynapse, user_id: str, password: str, **sections: dict[str, Any]
) -> Path:
    data: dict[str, Any] = {
        "matrix": {"homeserver": synapse.url, "user_id": user_id, "password": password},
        "storage": {"database": str(folder / "data" / "impulsbot.db")},
        "content": {"directory": str(REPO / "content")},
        "access": {"invite_allowlist": [synapse.server_name]},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


@pytest_asyncio.fixture
async def make_bot(synapse: LocalSynapse, tmp_path: Path) -> AsyncIterator[BotFactory]:
    bots: list[RunningBot] = []

    async def factory(**sections: dict[str, Any]) -> RunningBot:
        localpart = unique("bot")
        password = secrets.token_urlsafe(12)
        await synapse.register(localpart, password)
        folder = tmp_path / localpart
        folder.mkdir()
        config = load_config(
            write_config(folder, synapse, synapse.user_id(localpart), password, **sections)
        )
        bot = RunningBot(config)
        bots.append(bot)
        await bot.start()
        return bot

    yield factory
    for bot in bots:
        await bot.stop()


@contextlib.asynccontextmanager
async def people_on(
    server: LocalSynapse, folder: Path, default_name: str = "user"
) -> AsyncIterator[UserFactory]:
    """A factory of new people registered on ``server`` (client stores below ``folder``); their
    clients close when the block ends."""
    users: list[DevUser] = []

    async def factory(name: str = default_name) -> DevUser:
        localpart = unique(name)
        registered = await server.register(localpart, secrets.token_urlsafe(12))
        user = DevUser(server.url, registered, folder / f"client-{localpart}")
        users.append(user)
        await user.start()
        return user

    try:
        yield factory
    finally:
        for user in users:
            await user.close()


@pytest_asyncio.fixture
async def make_user(synapse: LocalSynapse, tmp_path: Path) -> AsyncIterator[UserFactory]:
    async with people_on(synapse, tmp_path) as factory:
        yield factory


async def room_with_bot(
    user: DevUser, bot: RunningBot, encrypted: bool, *, direct: bool = True
) -> str:
    """A room created by ``user`` with the bot in it, after the bot's greeting.

    By default opened the way Element opens a direct chat (``is_direct``, preset
    ``trusted_private_chat``: both at power level 100); ``direct=False`` makes it an ordinary
    private room, which the bot never treats as a direct chat.
    """
    room_id = await user.create_room(
        invite=[bot.user_id],
        encrypted=encrypted,
        direct=direct,
        preset="trusted_private_chat" if direct else "private_chat",
    )
    await user.wait_for(room_id, from_bot(bot, "Impulsbot"))
    return room_id


# --- scenarios (tests/scenario.py): a bot, people and their room ---------------------------------


@pytest_asyncio.fixture
async def make_chat(make_bot: BotFactory, make_user: UserFactory) -> ChatFactory:
    """``await make_chat(encrypted, name="alice", role=None, direct=True, **config_sections)``:
    a new person, a new bot (configured with the sections; with ``role="team"`` or
    ``"moderators"`` the person is on that access list) and their room with it."""

    async def factory(
        encrypted: bool = False,
        *,
        name: str = "alice",
        role: str | None = None,
        direct: bool = True,
        **sections: Any,
    ) -> Chat:
        user = await make_user(name)
        if role is not None:
            sections["access"] = {**sections.get("access", {}), role: [user.user_id]}
        bot = await make_bot(**sections)
        return Chat(bot, user, await room_with_bot(user, bot, encrypted, direct=direct))

    return factory


@pytest_asyncio.fixture
async def make_member(make_user: UserFactory) -> MemberFactory:
    """``await make_member(host, room, "bob")``: a new person the host invites into the room."""

    async def factory(host: DevUser, room: str, name: str = "guest") -> DevUser:
        guest = await make_user(name)
        await invite(host, room, guest)
        return guest

    return factory


@pytest_asyncio.fixture
async def make_group(make_bot: BotFactory, make_user: UserFactory) -> GroupFactory:
    """``bot, (alice, bob), room = await make_group("alice", "bob", encrypted=…, **sections)``:
    a new bot and a room the first person opened with the others and the bot, all joined."""

    async def factory(*names: str, encrypted: bool = False, **sections: Any) -> Group:
        bot = await make_bot(**sections)
        people = [await make_user(name) for name in names]
        return Group(bot, people, await group_room(people[0], people[1:], bot, encrypted))

    return factory
