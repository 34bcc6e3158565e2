"""A loopback HTTP proxy that forwards to a homeserver and injects faults on chosen requests.

The bot's ``matrix.homeserver`` points at the proxy. Faults are chosen by a deterministic schedule
so a failing test can be re-run with the same sequence:

- ``429``: answered by the proxy with ``M_LIMIT_EXCEEDED`` and ``retry_after_ms`` (not forwarded);
- ``502``: answered by the proxy with an HTML error page, as nginx does (not forwarded);
- ``502-after``: forwarded to the homeserver (so the event *is* created) and the real answer is
  replaced by a 502 — the nastiest case for duplicates, since the client must retry an
  operation that already succeeded.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter
from collections.abc import Callable, Sequence

import aiohttp
from aiohttp import web

from bot.dev.server import free_port

SEND_PATH = re.compile(r"/_matrix/client/(?:r0|v3)/rooms/[^/]+/send/")
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "host",
}
BAD_GATEWAY_PAGE = b"<html><body><h1>502 Bad Gateway</h1></body></html>"

Matcher = Callable[[str, str], bool]


def is_send(method: str, path: str) -> bool:
    return method == "PUT" and bool(SEND_PATH.match(path))


class FaultProxy:
    """``async with FaultProxy(upstream, faults=["429", None, "502"]) as proxy: proxy.url``.

    ``faults`` is cycled over the requests ``matches`` selects (by default: event sends);
    ``None`` in the cycle forwards the request untouched.
    """

    max_body = 100 * 1024 * 1024  # bytes of one request body

    def __init__(
        self,
        upstream: str,
        faults: Sequence[str | None],
        matches: Matcher = is_send,
        retry_after_ms: int = 200,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._faults = itertools.cycle(faults)
        self._matches = matches
        self.retry_after_ms = retry_after_ms
        self.injected: Counter[str] = Counter()
        self.forwarded = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        app = web.Application(client_max_size=self.max_body)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        # Long-polls in flight are abandoned on stop, as a real proxy restart would.
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        await site.start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def __aenter__(self) -> FaultProxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        fault = next(self._faults) if self._matches(request.method, request.path) else None
        if fault == "429":
            self.injected["429"] += 1
            body = {
                "errcode": "M_LIMIT_EXCEEDED",
                "error": "Too Many Requests",
                "retry_after_ms": self.retry_after_ms,
            }
            return web.Response(
                status=429, body=json.dumps(body).encode(), content_type="application/json"
            )
        if fault == "502":
            self.injected["502"] += 1
            return web.Response(status=502, body=BAD_GATEWAY_PAGE, content_type="text/html")
        status, headers, body = await self._forward(request)
        if fault == "502-after":
            self.injected["502-after"] += 1
            return web.Response(status=502, body=BAD_GATEWAY_PAGE, content_type="text/html")
        self.forwarded += 1
        return web.Response(status=status, body=body, headers=headers)

    async def _forward(self, request: web.Request) -> tuple[int, dict[str, str], bytes]:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        data = await request.read()
        async with self._session.request(
            request.method,
            self.upstream + request.rel_url.path_qs,
            headers=headers,
            data=data or None,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=120),
        ) as response:
            body = await response.read()
            out = {k: v for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP}
            return response.status, out, body
