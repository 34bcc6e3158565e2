"""Two Synapses federating on loopback, started only for the tests in this folder.

The bot's server ("home") is named ``localhost:P`` and reached by the other one ("remote",
``127.0.0.1:Q``) through a small TLS proxy (:class:`SlowFederation`) that can hold back its answers
to federated invites: that is how "the inviting server answers slowly" is made reproducible. While
the proxy holds the answer, the home server has stored the invite and shown it to the bot, but the
remote one has not stored it yet, so a join at once is refused with 403.

``make_bot`` and ``make_user`` (tests/conftest.py) work on the home server because ``synapse``
is overridden here; ``make_remote_user`` makes people on the other one.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from yarl import URL

from bot.dev.server import LocalSynapse, federating_pair, free_port
from tests.conftest import BotFactory, RunningBot, UserFactory, people_on
from tests.faultproxy import HOP_BY_HOP, FaultProxy

FEDERATED_INVITE = re.compile(r"/_matrix/federation/v\d+/invite/")


class SlowFederation(FaultProxy):
    """TLS in front of a federation listener; answers to federated invites wait ``delay`` s."""

    def __init__(self, upstream: str, port: int, cert: Path, key: Path) -> None:
        super().__init__(upstream, faults=[None], matches=lambda m, p: False)
        self.port = port
        self.delay = 0.0
        self.delayed = 0
        self._cert, self._key = cert, key

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False))
        app = web.Application(client_max_size=100 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self._cert, self._key)
        await web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=context).start()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        # Forwarded byte for byte: the request signature covers the path as the sender encoded it.
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with self._session.request(
            request.method,
            URL(self.upstream + request.raw_path, encoded=True),
            headers=headers,
            data=await request.read() or None,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=120),
        ) as response:
            body = await response.read()
            status = response.status
            headers = {k: v for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP}
        if self.delay and FEDERATED_INVITE.match(request.path):
            self.delayed += 1
            await asyncio.sleep(self.delay)
        return web.Response(status=status, body=body, headers=headers)


@dataclass
class Federation:
    home: LocalSynapse  # the bot's server
    remote: LocalSynapse
    proxy: SlowFederation


@pytest_asyncio.fixture(scope="session")
async def federation(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Federation]:
    public = free_port()
    home, remote = federating_pair(tmp_path_factory.mktemp("federation"), public)
    home.write_config()  # makes the certificate the proxy presents too
    proxy = SlowFederation(
        f"https://127.0.0.1:{home.federation_port}",
        public,
        home.folder / "federation.crt",
        home.folder / "federation.key",
    )
    await proxy.start()
    await asyncio.gather(home.start(), remote.start())
    yield Federation(home, remote, proxy)
    await asyncio.gather(home.stop(), remote.stop())
    await proxy.stop()


@pytest_asyncio.fixture(scope="session")
async def synapse(federation: Federation) -> LocalSynapse:
    return federation.home


@pytest_asyncio.fixture
async def make_remote_user(federation: Federation, tmp_path: Path) -> AsyncIterator[UserFactory]:
    async with people_on(federation.remote, tmp_path / "remote", "remote") as factory:
        yield factory


@pytest_asyncio.fixture
async def slow_invites(federation: Federation) -> AsyncIterator[SlowFederation]:
    """The remote server's invites to the home server are answered 1.5 s late."""
    federation.proxy.delay = 1.5
    federation.proxy.delayed = 0
    yield federation.proxy
    federation.proxy.delay = 0.0


@pytest_asyncio.fixture
async def make_open_bot(make_bot: BotFactory, federation: Federation) -> BotFactory:
    """Bots that accept invites from both servers (an ``access`` section is added to that)."""

    async def factory(**sections: Any) -> RunningBot:
        access = {**both_servers(federation), **sections.pop("access", {})}
        return await make_bot(access=access, **sections)

    return factory


def both_servers(federation: Federation) -> dict[str, list[str]]:
    """The bot's access section: invites from both servers (names with ports) are welcome."""
    return {"invite_allowlist": [federation.home.server_name, federation.remote.server_name]}
