"""Who may use the dashboard and how they get in: one-time login links, signed session cookies,
CSRF tokens, roles and the login rate limit.

A login link carries a random token; the database keeps only its SHA-256 hash, bound to one
Matrix ID, valid ten minutes and usable once. Opening the link shows a button: the token is spent
by a POST from the dashboard's own page, so link previews cannot spend it and the session cookie
(SameSite=Strict) is set in a same-site request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from aiohttp import web

if TYPE_CHECKING:
    from bot.app import Impulsbot
    from bot.config import Config

Role = Literal["team", "moderator"]

TOKEN_TTL_S = 600
SESSION_TTL_S = 8 * 3600
COOKIE = "impulsbot_session"
LOGIN_ATTEMPTS = 10  # per client address …
LOGIN_WINDOW_S = 300  # … in this many seconds


@dataclass(frozen=True)
class Visitor:
    """The signed-in person of one request."""

    user: str
    role: Role
    session: str
    csrf: str


_RequestKey: Any = getattr(web, "RequestKey", None)  # aiohttp >= 3.13; plain keys before
VISITOR: Any = _RequestKey("visitor", Visitor) if _RequestKey else "visitor"
SERVER: Any = web.AppKey("server")


def visitor(request: web.Request) -> Visitor:
    """The visitor of a page behind the session middleware (always signed in there)."""
    return request[VISITOR]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def role_of(config: Config, user_id: str) -> Role | None:
    """Roles come from the config on every request: removing someone takes effect at once."""
    if user_id in config.access.team:
        return "team"
    if user_id in config.access.moderators:
        return "moderator"
    return None


def _now_ms(app: Impulsbot) -> int:
    return int(app.now().timestamp() * 1000)


async def issue_login_link(app: Impulsbot, base_url: str, user_id: str) -> str:
    token = secrets.token_urlsafe(32)
    await app.store.add_login_token(token_hash(token), user_id, _now_ms(app), TOKEN_TTL_S * 1000)
    return f"{base_url}/anmelden?token={token}"


async def redeem_login_token(app: Impulsbot, token: str) -> tuple[str, str] | None:
    """Spend a login token; returns (user_id, cookie value) of the new session, or None."""
    now = _now_ms(app)
    user_id = await app.store.consume_login_token(token_hash(token), now)
    if user_id is None or role_of(app.config, user_id) is None:
        await app.store.audit(user_id, "login_failed", now)
        return None
    session_id = secrets.token_urlsafe(32)
    await app.store.create_session(token_hash(session_id), user_id, now, SESSION_TTL_S * 1000)
    await app.store.audit(user_id, "login", now)
    return user_id, sign(await app.store.web_secret(), session_id)


def sign(secret: bytes, value: str) -> str:
    mac = hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{value}.{mac}"


def unsign(secret: bytes, signed: str) -> str | None:
    value = signed.rpartition(".")[0]
    if not value or not hmac.compare_digest(sign(secret, value), signed):
        return None
    return value


async def session_of(app: Impulsbot, cookie: str | None) -> tuple[str, str] | None:
    """(user_id, session_id) of a valid signed cookie, else None."""
    if not cookie:
        return None
    session_id = unsign(await app.store.web_secret(), cookie)
    if session_id is None:
        return None
    user_id = await app.store.session_user(token_hash(session_id), _now_ms(app))
    return (user_id, session_id) if user_id else None


async def end_session(app: Impulsbot, user_id: str, session_id: str) -> None:
    await app.store.end_session(token_hash(session_id))
    await app.store.audit(user_id, "logout", _now_ms(app))


def csrf_token(secret: bytes, bound_to: str) -> str:
    """Bound to the session (or, on the login page, to the login token)."""
    return hmac.new(secret, b"csrf:" + bound_to.encode("utf-8"), hashlib.sha256).hexdigest()


def csrf_ok(secret: bytes, bound_to: str, given: object) -> bool:
    return isinstance(given, str) and hmac.compare_digest(csrf_token(secret, bound_to), given)


class RateLimiter:
    """At most ``limit`` attempts per key in a sliding window (in memory: a restart forgets)."""

    def __init__(self, limit: int = LOGIN_ATTEMPTS, window_s: float = LOGIN_WINDOW_S) -> None:
        self.limit = limit
        self.window_s = window_s
        self._attempts: defaultdict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        attempts = self._attempts[key]
        while attempts and attempts[0] <= now - self.window_s:
            attempts.popleft()
        if len(attempts) >= self.limit:
            return False
        attempts.append(now)
        if len(self._attempts) > 10_000:  # bounded memory under a flood of addresses
            self._attempts.pop(next(iter(self._attempts)))
        return True
