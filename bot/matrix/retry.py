"""Retrying membership operations that another homeserver may not be ready for yet.

Owns the backoff policy (1, 2, 4, … s, giving up after a few minutes), the classification of
homeserver answers into "done", "try again" and "give up", and the queue of invites the bot is
still trying to accept. Across federation these fail for a while for ordinary reasons: the inviting
server has not stored its invite yet (``403 You are not invited to this room``, a known Synapse
race), or the remote server is briefly down or slow (5xx, timeouts).

Pending invites survive a restart in the store (migration 0020): a sync from a stored token does
not show an old invite again. Also the words for a failed answer in the log (:func:`describe`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
from nio import ErrorResponse

from bot.store.invites import PENDING_INVITE_DAYS

log = logging.getLogger(__name__)

FIRST_DELAY_S = 1.0
MAX_DELAY_S = 32.0
GIVE_UP_AFTER_S = 240.0
KEEP_S = PENDING_INVITE_DAYS * 86400  # older pending invites are not tried again at start
MAX_BACKOFF_S = 30.0  # longest wait between two tries of a sync or a send


@dataclass(frozen=True)
class Attempt:
    """The outcome of one try: ``ok``, or why not and whether trying again can help."""

    ok: bool
    retry: bool = False
    reason: str = ""
    value: Any = None


def delays(
    first: float = FIRST_DELAY_S, cap: float = MAX_DELAY_S, give_up_after: float = GIVE_UP_AFTER_S
) -> Iterator[float]:
    """Waits between tries: doubling from ``first`` up to ``cap``, ``give_up_after`` in all."""
    delay, total = first, 0.0
    while total + delay <= give_up_after:
        yield delay
        total += delay
        delay = min(delay * 2, cap)


def classify(response: object, *, forbidden_is_transient: bool = False) -> Attempt:
    """Whether a failed homeserver answer is worth another try.

    Transient: rate limits (429), server trouble (5xx, also from a remote server the homeserver
    had to ask), timeouts and dropped connections (no HTTP status). A 403 is transient only for
    joins, where it is the invite race; for everything else it is a refusal that lasts.
    """
    if isinstance(response, BaseException):
        return Attempt(False, retry=True, reason=f"{type(response).__name__}: {response}")
    if not isinstance(response, ErrorResponse):
        return Attempt(False, retry=False, reason=type(response).__name__)
    status = http_status(response)
    reason = f"HTTP {status or '?'} {response.status_code or ''} {response.message or ''}".strip()
    return Attempt(False, retry=transient_status(status, forbidden_is_transient), reason=reason)


def transient_status(status: int | None, forbidden_is_transient: bool = False) -> bool:
    return (
        status is None
        or status >= 500
        or status == 429
        or (status == 403 and forbidden_is_transient)
    )


def http_status(response: object) -> int | None:
    return getattr(getattr(response, "transport_response", None), "status", None)


def describe(response: object) -> str:
    """A failed answer or exception in words for the log (status, errcode, message)."""
    if isinstance(response, ErrorResponse):
        status = getattr(getattr(response, "transport_response", None), "status", "?")
        return f"HTTP {status} {response.status_code or ''} {response.message or ''}".strip()
    return type(response).__name__ + (f": {response}" if isinstance(response, Exception) else "")


Sleep = Callable[[float], Awaitable[bool]]  # False: stop trying (the bot is shutting down)


async def retrying(
    attempt: Callable[[], Awaitable[Attempt]],
    what: str,
    sleep: Sleep,
    waits: Iterator[float] | None = None,
) -> Attempt:
    """Run ``attempt`` until it succeeds, fails for good, or the backoff is used up.

    Every failure is logged with ``what`` (room, and who asked); giving up is a warning.
    """
    waits = delays() if waits is None else waits
    began = time.monotonic()
    while True:
        try:
            result = await attempt()
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            result = classify(exc)
        if result.ok:
            return result
        if not result.retry:
            log.warning("%s failed for good: %s", what, result.reason)
            return result
        wait = next(waits, None)
        if wait is None:
            log.warning(
                "%s: giving up after %.0f s; last error: %s",
                what,
                time.monotonic() - began,
                result.reason,
            )
            return result
        log.warning("%s failed (%s); next try in %.0f s", what, result.reason, wait)
        if not await sleep(wait):
            return result


class InviteStore(Protocol):
    async def remember_invite(self, room_id: str, inviter: str) -> None: ...
    async def forget_invite(self, room_id: str) -> None: ...
    async def pending_invites(self, since_unix: int) -> list[tuple[str, str]]: ...


class InviteQueue:
    """The invites being accepted right now, one background task per room.

    An invite seen again while its task runs does not start a second one; the sync loop never
    waits for a join. Each invite is stored until its join succeeds or is refused for good, so
    one still pending at shutdown (or given up on) is tried again by :meth:`resume` at start.
    """

    def __init__(
        self,
        join: Callable[[str], Awaitable[Attempt]],
        sleep: Sleep,
        spawn: Callable[[Awaitable[Any]], asyncio.Task[Any]],
        store: InviteStore,
        waits: Callable[[], Iterator[float]] = delays,
    ) -> None:
        self._join = join
        self._sleep = sleep
        self._spawn = spawn
        self._store = store
        self._waits = waits
        self.active: dict[str, asyncio.Task[Any]] = {}

    def accept(
        self,
        room_id: str,
        inviter: str,
        on_joined: Callable[[], Awaitable[None]] | None = None,
    ) -> asyncio.Task[Any]:
        """``on_joined`` runs once the bot is in the room (what can only be read as a member)."""
        running = self.active.get(room_id)
        if running is not None and not running.done():
            return running
        task = self._spawn(self._accept(room_id, inviter, on_joined))
        self.active[room_id] = task
        return task

    async def resume(self, allowed: Callable[[str], bool]) -> None:
        """Try again the invites a previous run did not manage to accept (at most a week old),
        as far as the allow-list (which may have changed since) still admits their inviter."""
        for room_id, inviter in await self._store.pending_invites(int(time.time()) - KEEP_S):
            if not allowed(inviter):
                await self._store.forget_invite(room_id)
                continue
            log.info("trying again to join %s (invited by %s)", room_id, inviter)
            self.accept(room_id, inviter)

    async def _accept(
        self,
        room_id: str,
        inviter: str,
        on_joined: Callable[[], Awaitable[None]] | None = None,
    ) -> bool:
        try:
            await self._store.remember_invite(room_id, inviter)
            what = f"joining {room_id} (invited by {inviter})"
            result = await retrying(lambda: self._join(room_id), what, self._sleep, self._waits())
            if result.ok:
                log.info("joined %s (invited by %s)", room_id, inviter)
            if result.ok or not result.retry:
                await self._store.forget_invite(room_id)
            if result.ok and on_joined is not None:
                await on_joined()
            return result.ok
        finally:
            self.active.pop(room_id, None)
