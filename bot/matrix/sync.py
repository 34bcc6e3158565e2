"""The sync loop: long-polling, the persisted sync token, gap filling and waiting for rooms.

Owns when the sync token moves (only after the batch was processed, never past a gap that could
not be filled), the sync filter, the E2E housekeeping after each sync, and stopping. Part of
:class:`bot.matrix.shell.MatrixShell`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from nio import AsyncClient, LocalProtocolError, RoomMessagesResponse, SyncResponse

from bot.config import Config
from bot.matrix.retry import MAX_BACKOFF_S, describe
from bot.store import Store

log = logging.getLogger("bot.matrix.shell")  # as before the split: log filters keep working

SYNC_TIMEOUT_MS = 30_000
GAP_PAGE = 100
MAX_GAP_EVENTS = 2000  # older events would be past any sensible max_command_age anyway

# Only what the bot needs: keeps start-up fast with hundreds of rooms.
SYNC_FILTER: dict[str, Any] = {
    "presence": {"not_types": ["*"]},
    "account_data": {"types": ["m.direct"]},
    "room": {
        "state": {"lazy_load_members": True},
        "timeline": {"limit": 50, "lazy_load_members": True},
        "ephemeral": {"not_types": ["*"]},
        "account_data": {"not_types": ["*"]},
    },
}


class GapNotFilled(RuntimeError):
    """Events a limited sync left out could not be paged in (yet)."""


class Sync:
    """The sync half of the shell."""

    config: Config
    store: Store
    client: AsyncClient
    stopping: asyncio.Event
    since: str | None
    _room_events: dict[str, asyncio.Event]
    _poll: asyncio.Future[Any] | None
    _gap_failed: bool
    _gap_failing_since: float | None

    async def sync_forever(self, on_sync: Callable[[SyncResponse], Awaitable[None]]) -> None:
        """Long-poll until stopped; ``on_sync`` runs before the token is persisted."""
        since = await self.store.get_value("matrix.sync_token")
        filter_id = await self._upload_filter(SYNC_FILTER["room"])
        # The very first sync ever needs no history (nothing from before it is answered), and
        # loading 50 events for each of hundreds of rooms dominates start-up.
        first_filter = (
            filter_id
            if since
            else await self._upload_filter(
                {**SYNC_FILTER["room"], "timeline": {**SYNC_FILTER["room"]["timeline"], "limit": 1}}
            )
        )
        backoff = 1.0
        first = True
        started = time.monotonic()
        while not self.stopping.is_set():
            # The first sync returns at once (no long-poll wait at start-up) and carries the full
            # state of every joined room: nio keeps no rooms across restarts, and scheduled posts
            # must reach quiet rooms too.
            self._poll = asyncio.ensure_future(
                self.client.sync(
                    timeout=0 if first else SYNC_TIMEOUT_MS,
                    sync_filter=first_filter if first else filter_id,
                    since=since,
                    full_state=first,
                )
            )
            try:
                response = await self._poll
            except asyncio.CancelledError:
                if self.stopping.is_set():
                    return
                raise
            except (aiohttp.ClientError, OSError) as exc:
                # nio gives up after REQUEST_TIMEOUTS tries: a homeserver that is down (a restart,
                # an outage) is waited for here, never the end of the bot.
                response = exc
            if not isinstance(response, SyncResponse):
                log.warning("sync failed (%s); retrying in %.0f s", describe(response), backoff)
                if getattr(response, "status_code", None) == "M_UNKNOWN_TOKEN":
                    await self.store.delete_value("matrix.access_token")
                    await self._password_login(self.client.device_id)
                await self.sleep_unless_stopped(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            backoff = 1.0
            if first:
                log.info(
                    "first sync: %d joined rooms in %.2f s",
                    len(response.rooms.join),
                    time.monotonic() - started,
                )
            first = False
            await crypto_housekeeping(self.client)
            self._forget_cross_signing(response.device_list.changed)
            self.since = since
            self._gap_failed = False
            await on_sync(response)
            if self._gap_failed and not self._gap_given_up():
                # Keeping the token makes the next sync return the same gap: retried, not lost.
                log.warning("sync gap not filled; retrying from the same position")
                await self.sleep_unless_stopped(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            self._gap_failing_since = None
            since = response.next_batch
            await self.store.set_value("matrix.sync_token", since)
            for room_id in response.rooms.join:
                waiting = self._room_events.pop(room_id, None)
                if waiting is not None:
                    waiting.set()

    async def fill_gap(self, room_id: str, prev_batch: str | None) -> list[Any]:
        """Events a limited ("gappy") sync left out, oldest first.

        When more than the filter's timeline limit arrived in a room since the last sync (busy
        rooms, a slow batch, a restart), the sync returns only the newest events; the rest must
        be paged in from ``prev_batch`` back to the previous sync token, or commands are lost.
        """
        if not prev_batch or not self.since:
            return []  # an initial sync: history before the bot's token is not ours to answer
        events: list[Any] = []
        start = prev_batch
        while len(events) < MAX_GAP_EVENTS:
            try:
                response = await self.client.room_messages(
                    room_id, start=start, end=self.since, limit=GAP_PAGE
                )
            except (aiohttp.ClientError, OSError) as exc:  # homeserver gone while paging
                response = exc
            if not isinstance(response, RoomMessagesResponse):
                # Raised, not skipped: the caller keeps the sync token so the gap is retried.
                raise GapNotFilled(f"{room_id}: {describe(response)}")
            events.extend(response.chunk)
            if not response.chunk or not response.end or response.end == start:
                break
            start = response.end
        events.reverse()
        return events

    def note_gap_failed(self) -> None:
        """Called by the sync processing: do not move the sync token past this batch."""
        self._gap_failed = True
        if self._gap_failing_since is None:
            self._gap_failing_since = time.monotonic()

    def _gap_given_up(self) -> bool:
        """Events missing for longer than max_command_age would be ignored anyway."""
        started = self._gap_failing_since or time.monotonic()
        if time.monotonic() - started <= self.config.matrix.max_command_age_seconds:
            return False
        log.error("sync gap could not be filled within max_command_age; moving on")
        return True

    def stop(self) -> None:
        """Stop syncing; a long-poll in progress is abandoned, processing is not."""
        self.stopping.set()
        if self._poll is not None and not self._poll.done():
            self._poll.cancel()

    async def _upload_filter(self, room: dict[str, Any]) -> str | dict[str, Any]:
        response = await self.client.upload_filter(
            user_id=self.client.user_id,
            presence=SYNC_FILTER["presence"],
            account_data=SYNC_FILTER["account_data"],
            room=room,
        )
        filter_id = getattr(response, "filter_id", None)
        return filter_id if filter_id else {**SYNC_FILTER, "room": room}

    async def sleep_unless_stopped(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)

    async def keep_trying(self, seconds: float) -> bool:
        await self.sleep_unless_stopped(seconds)
        return not self.stopping.is_set()

    async def wait_for_room(self, room_id: str, within: float = 30.0) -> bool:
        """Wait until a sync has shown us the room (sending into it before that fails)."""
        if room_id in self.client.rooms:
            return True
        event = self._room_events.setdefault(room_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), within)
        return room_id in self.client.rooms


async def crypto_housekeeping(client: AsyncClient) -> None:
    """What every E2E client does after a sync: send queued to-device messages, keep keys fresh."""
    # A homeserver that drops away here is retried after the next sync.
    with contextlib.suppress(LocalProtocolError, aiohttp.ClientError, OSError):
        await client.send_to_device_messages()
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())
