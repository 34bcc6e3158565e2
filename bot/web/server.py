"""The dashboard's aiohttp server inside the bot: start/stop, the security middlewares (strict
Content-Security-Policy and headers, session, role check, CSRF) and which role sees which page.

The server shares the bot's event loop, store and loaded content, so a catalogue saved here is
what ``!angebot`` searches a moment later.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING

from aiohttp import web

from bot.web import auth
from bot.web.render import redirect, render

if TYPE_CHECKING:
    from bot.app import Impulsbot

log = logging.getLogger(__name__)

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",  # the login token must never leave in a Referer
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Open without a session.
PUBLIC = ("/anmelden", "/static/", "/sprache")
# First path segment → roles that may open it; pages not listed are team-only.
MODERATOR_PAGES = frozenset({"impulse", "katalog", "vorschau", "abmelden"})
# (path, text key, roles)
NAV = (
    ("/", "nav.overview", ("team",)),
    ("/rueckmeldungen", "nav.feedback", ("team",)),
    ("/impulse", "nav.impulses", ("team", "moderator")),
    ("/umfragen", "nav.polls", ("team",)),
    ("/luecken", "nav.gaps", ("team",)),
    ("/katalog", "nav.catalogue", ("team", "moderator")),
    ("/datenschutz", "nav.privacy", ("team",)),
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def may_open(role: str | None, path: str) -> bool:
    if role == "team":
        return True
    return role == "moderator" and path.strip("/").split("/", 1)[0] in MODERATOR_PAGES


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPNotFound:
        response = render(
            request, "message.html", 404, title_key="error.title", message_key="error.not_found"
        )
    response.headers.update(HEADERS)
    if request.app[auth.SERVER].secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    return response


@web.middleware
async def sessions(request: web.Request, handler: Handler) -> web.StreamResponse:
    server: WebServer = request.app[auth.SERVER]
    if request.path.startswith(PUBLIC):
        return await handler(request)
    found = await auth.session_of(server.bot, request.cookies.get(auth.COOKIE))
    role = auth.role_of(server.bot.config, found[0]) if found else None
    if found is None or role is None:
        # Nothing about the data, not even counts, without a session.
        return render(
            request, "message.html", 401, title_key="error.title", message_key="error.no_session"
        )
    user_id, session_id = found
    secret = await server.bot.store.web_secret()
    csrf = auth.csrf_token(secret, session_id)
    request[auth.VISITOR] = auth.Visitor(user_id, role, session_id, csrf)
    if not may_open(role, request.path):
        if request.path == "/" and role == "moderator":
            return redirect("/katalog")
        return render(
            request, "message.html", 403, title_key="error.title", message_key="error.forbidden"
        )
    if request.method not in ("GET", "HEAD"):
        form = await request.post()
        if not auth.csrf_ok(secret, session_id, form.get("csrf")):
            return render(
                request, "message.html", 403, title_key="error.title", message_key="error.csrf"
            )
    return await handler(request)


class WebServer:
    """One aiohttp application on ``web.listen``; ``base_url`` is what login links point to."""

    def __init__(self, bot: Impulsbot) -> None:
        assert bot.config.web is not None
        self.bot = bot
        self.config = bot.config.web
        self.login_limiter = auth.RateLimiter()
        self._runner: web.AppRunner | None = None
        self._port = self.config.port

    def application(self) -> web.Application:
        from bot.web import login, pages_content, pages_team

        app = web.Application(middlewares=[security_headers, sessions], client_max_size=2**20)
        app[auth.SERVER] = self
        for module in (login, pages_team, pages_content):
            app.add_routes(module.ROUTES)
        static = resources.files("bot.web") / "static"
        app.router.add_static("/static/", str(static), append_version=True)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.application(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        if self._runner.addresses:  # port 0 in the config: the port the system chose
            self._port = self._runner.addresses[0][1]
        log.info("dashboard listening on %s, public address %s", self.listen, self.base_url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def listen(self) -> str:
        return f"{self.config.host}:{self._port}"

    @property
    def base_url(self) -> str:
        return self.config.public_url or f"http://{self.listen}"

    @property
    def secure(self) -> bool:
        return self.base_url.startswith("https://")

    def nav_for(self, role: str | None) -> list[tuple[str, str]]:
        return [(path, key) for path, key, roles in NAV if role in roles]


async def start_web(bot: Impulsbot) -> WebServer | None:
    """Start the dashboard when the config has a ``web:`` section; None otherwise."""
    if bot.config.web is None:
        return None
    server = WebServer(bot)
    await server.start()
    return server
