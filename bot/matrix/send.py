"""Sending: events fitted to the size limit, retried under one transaction ID, and uploads.

Owns the send deadline and which failures are worth another try (never dropping or doubling a
message: every retry carries the same deterministic transaction ID), the short notice that
replaces an event the homeserver refuses as too large, file uploads, and raw requests for the
APIs nio lacks. Part of :class:`bot.matrix.shell.MatrixShell`.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
from typing import Any

import aiohttp
from nio import (
    AsyncClient,
    DiscoveryInfoError,
    ErrorResponse,
    LocalProtocolError,
    RoomSendResponse,
    UploadResponse,
)
from nio.exceptions import OlmUnverifiedDeviceError, SendRetryError

from bot.config import Config
from bot.matrix.outgoing import Target, fit, notice_content
from bot.matrix.retry import MAX_BACKOFF_S, describe, http_status
from bot.store import Store
from bot.text.i18n import LANGUAGES, Message, Texts
from bot.transport import HomeserverUnavailable, SendFailed, TooLarge

log = logging.getLogger("bot.matrix.shell")  # as before the split: log filters keep working

SEND_GIVE_UP_S = 120.0  # total deadline of one send, retries included


class Sending:
    """The sending half of the shell."""

    config: Config
    store: Store
    client: AsyncClient

    async def send(self, room_id: str, event_type: str, content: dict[str, Any], txn: str) -> str:
        """Send one event, fitted to the size limit (see ``outgoing``); the first event's ID.

        A message too big for one event goes out as a few (transaction IDs ``txn``, ``txn.1``, …);
        anything that cannot be made to fit, or that the homeserver still refuses as too large,
        becomes a short notice saying so: a command never ends without an answer.
        """
        if room_id not in self.client.rooms:
            await self.wait_for_room(room_id, within=10)
        target = Target(room_id, self.is_encrypted(room_id), self.client.device_id or "")
        try:
            events = (
                [content]
                if target.fits(event_type, content)
                else fit(event_type, content, target, await self._text(room_id, "limits.cut_hint"))
            )
            if events is None:
                raise TooLarge(f"{event_type} in {room_id} exceeds the event size limit")
            ids = [await self._send_one(room_id, event_type, events[0], txn)]
            for number, part in enumerate(events[1:], start=1):
                ids.append(await self._send_one(room_id, event_type, part, f"{txn}.{number}"))
            return ids[0]
        except TooLarge as exc:
            log.warning("%s; answering with a short notice instead", exc)
            text = await self._text(room_id, "limits.too_large")
            notice = notice_content(text, content.get("m.relates_to"))
            return await self._send_one(room_id, "m.room.message", notice, f"{txn}.too-large")

    async def _text(self, room_id: str, key: str) -> Message:
        """A transport-level notice in the room's language (``!sprache``), else the configured."""
        lang = await self.store.get_value(f"lang:{room_id}")
        texts = Texts(lang if lang in LANGUAGES else self.config.bot.language)
        return texts(key, prefix=self.config.bot.prefix)

    async def _send_one(
        self, room_id: str, event_type: str, content: dict[str, Any], txn: str
    ) -> str:
        """Send one event; retries transient failures with the same transaction ID."""
        deadline = time.monotonic() + SEND_GIVE_UP_S
        backoff = 0.5
        while True:
            if room_id not in self.client.rooms:
                await self.wait_for_room(room_id, within=10)
            await self._prepare_encrypted_send(room_id)
            self._apply_trust(room_id)
            try:
                response = await asyncio.wait_for(
                    self.client.room_send(
                        room_id,
                        event_type,
                        content,
                        tx_id=txn,
                        ignore_unverified_devices=self.config.matrix.trust != "verified",
                    ),
                    timeout=max(deadline - time.monotonic(), 0.1),
                )
            except (SendRetryError, OlmUnverifiedDeviceError, LocalProtocolError) as exc:
                response = exc
            except (aiohttp.ClientError, OSError) as exc:  # OSError includes TimeoutError
                if time.monotonic() >= deadline:  # a homeserver that hangs: the deadline is total
                    raise SendFailed(f"sending to {room_id} timed out") from exc
                # nio gives up after REQUEST_TIMEOUTS tries; a homeserver that is down for a
                # while is retried here, under the same transaction ID, until the deadline.
                response = exc
            if isinstance(response, RoomSendResponse):
                return response.event_id
            if http_status(response) == 413:
                raise TooLarge(f"sending to {room_id} failed: {describe(response)}")
            if not _is_transient(response) or time.monotonic() > deadline:
                raise SendFailed(f"sending to {room_id} failed: {describe(response)}")
            log.warning("send to %s failed (%s); retrying", room_id, describe(response))
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_S)

    async def upload(self, data: bytes, filename: str, mimetype: str, encrypt: bool) -> dict:
        """Upload a file; returns the ``url``/``file`` part of an m.file content."""
        response, keys = await self.client.upload(
            lambda *_: io.BytesIO(data),
            content_type=mimetype,
            filename=filename,
            encrypt=encrypt,
            filesize=len(data),
        )
        if not isinstance(response, UploadResponse):
            raise SendFailed(f"upload failed: {describe(response)}")
        if encrypt and keys is not None:
            return {"file": {"url": response.content_uri, **keys}}
        return {"url": response.content_uri}

    async def raw_request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """An authenticated request through the client's own HTTP session (for APIs nio lacks)."""
        data = None if body is None else json.dumps(body)
        headers = {"Authorization": f"Bearer {self.client.access_token}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = await self.client.send(method, path, data, headers)
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise HomeserverUnavailable(f"{method} {path.split('?')[0]}: {exc}") from exc
        try:
            payload = await response.json()
        except Exception:  # non-JSON error pages from proxies
            payload = None
        return response.status, payload


def _is_transient(response: object) -> bool:
    if isinstance(
        response, (SendRetryError, OlmUnverifiedDeviceError, aiohttp.ClientError, OSError)
    ):
        return True
    if isinstance(response, LocalProtocolError):
        return False
    if isinstance(response, ErrorResponse):
        status = http_status(response)
        return status is None or status >= 500 or status == 429
    return isinstance(response, DiscoveryInfoError)
