"""The only module that talks to Matrix: login, sync loop, encryption housekeeping and sending.

Everything here is about transport. What the bot *does* with events lives in :mod:`bot.app` and the
pure modules; this class only turns their decisions into requests, with retries that never drop or
double a message (every send carries a deterministic transaction ID).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    DiscoveryInfoError,
    ErrorResponse,
    Event,
    JoinResponse,
    LocalProtocolError,
    LoginResponse,
    MatrixRoom,
    MegolmEvent,
    RoomCreateResponse,
    RoomMessagesResponse,
    RoomPreset,
    RoomResolveAliasResponse,
    RoomSendResponse,
    SyncResponse,
    UploadResponse,
    WhoamiResponse,
)
from nio.crypto import OlmDevice
from nio.exceptions import OlmUnverifiedDeviceError, SendRetryError
from nio.store import SqliteStore

from bot.config import Config
from bot.matrix.crosssign import cross_signed_devices, ensure_cross_signing, query_keys
from bot.matrix.outgoing import Target, fit, notice_content
from bot.matrix.retry import Attempt, classify, retrying, transient_status
from bot.store import Store
from bot.text.i18n import LANGUAGES, Message, Texts

log = logging.getLogger(__name__)

SYNC_TIMEOUT_MS = 30_000
MAX_BACKOFF_S = 30.0
SEND_GIVE_UP_S = 120.0  # total deadline of one send, retries included
REQUEST_TIMEOUTS = 3  # nio retries a timed-out request this often, not forever
UNDECRYPTABLE_GRACE_S = 60.0
GAP_PAGE = 100
MAX_GAP_EVENTS = 2000  # older events would be past any sensible max_command_age anyway
MEGOLM = {"algorithm": "m.megolm.v1.aes-sha2"}
CROSS_SIGNING_SEEDS = "cross_signing.json"
CROSS_SIGNED_TTL_S = 300.0

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


class SendFailed(RuntimeError):
    """A message could not be delivered (permanent error, or retries exhausted)."""


class TooLarge(SendFailed):
    """The homeserver refuses the event as too large (HTTP 413, M_TOO_LARGE)."""


class HomeserverUnavailable(RuntimeError):
    """A lookup the bot needs for a decision failed; the decision must wait, not guess."""


class GapNotFilled(RuntimeError):
    """Events a limited sync left out could not be paged in (yet)."""


@dataclass(frozen=True)
class Members:
    """A room's membership as the homeserver knows it (never the lazy-loaded local view)."""

    joined: frozenset[str]
    invited: frozenset[str]


def txn_id(*parts: str) -> str:
    """A deterministic transaction ID: the same logical message always gets the same ID."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return f"ib{digest}"


@dataclass(frozen=True)
class CrossSignedCache:
    """A user's cross-signing state as last queried (for matrix.trust: verified)."""

    at: float
    devices: frozenset[str]
    master: str | None
    signed: dict[str, str]  # device ID → ed25519 key, for devices the owner has signed


@dataclass
class PendingDecryption:
    room_id: str
    event: MegolmEvent
    first_seen: float


@dataclass
class MatrixShell:
    config: Config
    store: Store
    client: AsyncClient = field(init=False)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _pending: dict[str, PendingDecryption] = field(default_factory=dict)
    _cross_signed: dict[str, CrossSignedCache] = field(default_factory=dict)
    _room_events: dict[str, asyncio.Event] = field(default_factory=dict)
    _poll: asyncio.Future[Any] | None = None
    _gap_failed: bool = False
    _gap_failing_since: float | None = None
    since: str | None = None  # the token the sync being processed started from

    # ----------------------------------------------------------------- lifecycle

    @property
    def crypto_dir(self) -> Path:
        return self.config.storage.data_dir / "crypto"

    def _pickle_key(self) -> str:
        path = self.crypto_dir / "pickle.key"
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as stream:
                stream.write(secrets.token_urlsafe(32))
        return path.read_text().strip()

    async def connect(self) -> None:
        """Create the client and log in, reusing the stored device and token when possible."""
        self.make_client()
        await self._login()
        for crypto_file in self.crypto_dir.glob("*.db*"):
            os.chmod(crypto_file, 0o600)
        await self._reset_trust_if_policy_changed()
        await self._cross_sign_own_device()

    def make_client(self) -> AsyncClient:
        """The nio client on the protected crypto store; no network (``impulsbot keys`` too)."""
        self.crypto_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.crypto_dir, 0o700)
        client_config = AsyncClientConfig(
            max_limit_exceeded=None,  # honour every 429's retry_after_ms, never drop
            max_timeouts=REQUEST_TIMEOUTS,
            max_timeout_retry_wait_time=MAX_BACKOFF_S,
            backoff_factor=0.5,
            request_timeout=60,
            encryption_enabled=True,
            store=SqliteStore,
            store_name="crypto.db",
            store_sync_tokens=False,  # we persist the token ourselves, after processing
            pickle_key=self._pickle_key(),
        )
        matrix = self.config.matrix
        self.client = AsyncClient(
            matrix.homeserver, matrix.user_id, store_path=str(self.crypto_dir), config=client_config
        )
        return self.client

    async def _cross_sign_own_device(self) -> None:
        """Sign this device with the account's self-signing key (created on first start).

        A failure is logged, not raised: the bot works without it, clients only show its device
        as unverified.
        """
        password = self.config.matrix.password
        try:
            outcome = await ensure_cross_signing(
                self.raw_request,
                self.client.user_id,
                self.client.device_id,
                None if password is None else password.get_secret_value(),
                self.crypto_dir / CROSS_SIGNING_SEEDS,
            )
        except Exception as exc:  # network, server or file trouble: never block start-up
            log.warning("cross-signing of device %s skipped: %s", self.client.device_id, exc)
            return
        log.info(
            "cross-signing: master key %s%s%s",
            outcome.master_key,
            " (new keys uploaded)" if outcome.keys_uploaded else "",
            ", device signed" if outcome.device_signed else "",
        )

    async def _login(self) -> None:
        matrix = self.config.matrix
        stored_token = await self.store.get_value("matrix.access_token")
        stored_device = await self.store.get_value("matrix.device_id")
        if matrix.access_token is not None:
            self.client.access_token = matrix.access_token.get_secret_value()
            who = await self.client.whoami()
            if not isinstance(who, WhoamiResponse) or not who.device_id:
                raise SendFailed(f"access token rejected by the homeserver: {who}")
            self.client.restore_login(matrix.user_id, who.device_id, self.client.access_token)
            # Remembered so that ``impulsbot keys`` can open this device's store offline.
            await self.store.set_value("matrix.device_id", who.device_id)
        elif stored_token and stored_device:
            self.client.restore_login(matrix.user_id, stored_device, stored_token)
        else:
            await self._password_login(stored_device)
        log.info("logged in as %s, device %s", self.client.user_id, self.client.device_id)
        if self.client.should_upload_keys:
            await self.client.keys_upload()

    async def _password_login(self, device_id: str | None) -> None:
        matrix = self.config.matrix
        if matrix.password is None:
            raise SendFailed("no password configured and no stored session")
        if device_id:
            self.client.device_id = device_id
        response = await self.client.login(
            matrix.password.get_secret_value(), device_name=matrix.device_name
        )
        if not isinstance(response, LoginResponse):
            raise SendFailed(f"login failed: {getattr(response, 'message', response)}")
        await self.store.set_value("matrix.access_token", response.access_token)
        await self.store.set_value("matrix.device_id", response.device_id)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.close()

    # ----------------------------------------------------------------- sync

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
                log.warning("sync failed (%s); retrying in %.0f s", _describe(response), backoff)
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
            for user_id in response.device_list.changed:
                self._cross_signed.pop(user_id, None)  # new devices or new signatures
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
                raise GapNotFilled(f"{room_id}: {_describe(response)}")
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

    async def wait_for_room(self, room_id: str, within: float = 30.0) -> bool:
        """Wait until a sync has shown us the room (sending into it before that fails)."""
        if room_id in self.client.rooms:
            return True
        event = self._room_events.setdefault(room_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), within)
        return room_id in self.client.rooms

    # ----------------------------------------------------------------- encryption

    async def _prepare_encrypted_send(self, room_id: str) -> None:
        """Know every member and their current devices before deciding who gets the room key.

        nio fetches the member list inside room_send, which is too late for the trust policy:
        after a restart (lazy-loaded members) the first answer would skip the policy.
        """
        room = self.client.rooms.get(room_id)
        if room is None or not room.encrypted or self.client.olm is None:
            return
        with contextlib.suppress(LocalProtocolError):
            if not room.members_synced:
                await self.client.joined_members(room_id)
            if self.client.should_query_keys:
                await self.client.keys_query()
        if self.config.matrix.trust == "verified":
            await self._refresh_cross_signing(list(room.users))

    async def _refresh_cross_signing(self, user_ids: list[str]) -> None:
        """Which devices their owners have verified (cross-signed), for trust: verified."""
        now = time.monotonic()
        stale = []
        for user_id in user_ids:
            devices = frozenset(d.id for d in self.client.device_store.active_user_devices(user_id))
            cached = self._cross_signed.get(user_id)
            if cached is None or cached.devices != devices or now - cached.at > CROSS_SIGNED_TTL_S:
                stale.append((user_id, devices))
        if not stale:
            return
        try:
            answer = await query_keys(self.raw_request, [user_id for user_id, _ in stale])
        except Exception as exc:  # keep the last known state; unknown devices stay without keys
            log.warning("could not check cross-signing of room members: %s", exc)
            return
        for user_id, devices in stale:
            master, signed = cross_signed_devices(answer, user_id)
            previous = self._cross_signed.get(user_id)
            if previous is not None and previous.master not in (None, master):
                log.warning("cross-signing identity (master key) of %s changed", user_id)
            self._cross_signed[user_id] = CrossSignedCache(now, devices, master, signed)

    def _apply_trust(self, room_id: str) -> None:
        """Decide per device whether it gets room keys, as configured by matrix.trust.

        The decisions are persisted in the crypto store, so "first sight" survives restarts: a
        user with decided devices who shows up with an undecided one has a changed device set.
        """
        policy = self.config.matrix.trust
        room = self.client.rooms.get(room_id)
        if room is None or not room.encrypted or self.client.olm is None:
            return
        newly_trusted = False
        for user_id in room.users:
            devices = list(self.client.device_store.active_user_devices(user_id))
            new = sorted(d.id for d in devices if not _decided(d))
            if new and len(new) < len(devices):
                log.warning("device set of %s changed: new device(s) %s", user_id, ", ".join(new))
            for device in devices:
                newly_trusted |= self._trust_device(device, policy)
        if newly_trusted:
            # The current room key was withheld from that device: start a new one it gets.
            self.client.invalidate_outbound_session(room_id)

    def _trust_device(self, device: OlmDevice, policy: str) -> bool:
        """Apply the policy to one device; True if it gets room keys now and did not before."""
        if policy == "verified":
            return self._trust_if_cross_signed(device)
        if device.verified or device.blacklisted:
            return False
        if policy == "tofu":
            self.client.verify_device(device)
        # "all": leave as is; sends pass ignore_unverified_devices=True
        return False

    def _trust_if_cross_signed(self, device: OlmDevice) -> bool:
        cached = self._cross_signed.get(device.user_id)
        signed = cached is not None and cached.signed.get(device.id) == device.ed25519
        if signed and not device.verified:
            if device.blacklisted:
                self.client.unblacklist_device(device)
            self.client.verify_device(device)
            return True
        if not signed and not device.blacklisted:
            if device.verified:
                self.client.unverify_device(device)
            self.client.blacklist_device(device)
        return False

    async def _reset_trust_if_policy_changed(self) -> None:
        """Decisions made under another matrix.trust no longer hold (e.g. tofu → verified)."""
        policy = self.config.matrix.trust
        previous = await self.store.get_value("matrix.trust_policy")
        if previous is not None and previous != policy and self.client.olm is not None:
            for device in list(self.client.device_store):
                if device.verified:
                    self.client.unverify_device(device)
                if device.blacklisted:
                    self.client.unblacklist_device(device)
                if device.ignored:
                    self.client.unignore_device(device)
            log.warning(
                "matrix.trust changed from %s to %s: device decisions reset", previous, policy
            )
        if previous != policy:
            await self.store.set_value("matrix.trust_policy", policy)

    def note_undecryptable(self, room_id: str, event: MegolmEvent) -> None:
        if event.event_id in self._pending:
            return
        log.info("event %s in %s not decryptable yet; requesting keys", event.event_id, room_id)
        self._pending[event.event_id] = PendingDecryption(room_id, event, time.monotonic())
        asyncio.get_running_loop().create_task(self._request_key(event))

    async def _request_key(self, event: MegolmEvent) -> None:
        with contextlib.suppress(LocalProtocolError, Exception):
            await self.client.request_room_key(event)

    def retry_decryption(self) -> list[tuple[str, Any]]:
        """Events whose keys have arrived since, decrypted; gives up after a minute."""
        ready: list[tuple[str, Any]] = []
        now = time.monotonic()
        for event_id, pending in list(self._pending.items()):
            try:
                decrypted = self.client.decrypt_event(pending.event)
            except Exception:  # nio raises several kinds; all mean "not yet"
                decrypted = None
            if decrypted is not None and not isinstance(decrypted, MegolmEvent):
                ready.append((pending.room_id, decrypted))
                del self._pending[event_id]
            elif now - pending.first_seen > UNDECRYPTABLE_GRACE_S:
                log.warning(
                    "could not decrypt event %s in %s from %s within a minute; giving up",
                    event_id,
                    pending.room_id,
                    pending.event.sender,
                )
                del self._pending[event_id]
        return ready

    # ----------------------------------------------------------------- sending

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
            if _status(response) == 413:
                raise TooLarge(f"sending to {room_id} failed: {_describe(response)}")
            if not _is_transient(response) or time.monotonic() > deadline:
                raise SendFailed(f"sending to {room_id} failed: {_describe(response)}")
            log.warning("send to %s failed (%s); retrying", room_id, _describe(response))
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
            raise SendFailed(f"upload failed: {_describe(response)}")
        if encrypt and keys is not None:
            return {"file": {"url": response.content_uri, **keys}}
        return {"url": response.content_uri}

    # What features may ask about rooms, so that none reaches into nio's client.

    def is_joined(self, room_id: str) -> bool:
        """Whether the bot's client knows it is in the room (from sync; not for privacy checks)."""
        return room_id in self.client.rooms

    def joined_room_ids(self) -> list[str]:
        return list(self.client.rooms)

    def room_name(self, room_id: str) -> str | None:
        """The room's own name or canonical alias; never a computed name made of people's names."""
        room = self.client.rooms.get(room_id)
        name = room and (room.name or room.canonical_alias)
        return str(name) if name else None

    def local_members(self, room_id: str) -> set[str]:
        """Members from the client's lazy-loaded view: a hint for waiting, never for deciding."""
        room = self.client.rooms.get(room_id)
        return set(room.users) if room is not None else set()

    def can_redact(self, room_id: str, user_id: str) -> bool:
        """Whether the room's power levels (as synced) let ``user_id`` redact others' events."""
        room = self.client.rooms.get(room_id)
        return room is not None and bool(room.power_levels.can_user_redact(user_id))

    async def await_invitees(self, room_id: str, invitees: list[str], within: float) -> None:
        """Wait until the client lists everyone invited to a new encrypted room and knows their
        devices; otherwise the room key of the first message misses some of them.

        The room can become known from a sync that shows only part of the invites.
        """
        client = self.client
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within

        def ready() -> bool:
            room = client.rooms.get(room_id)
            if room is None or not set(invitees) <= set(room.users):
                return False
            return all(client.device_store.active_user_devices(user) for user in invitees)

        while not ready() and loop.time() < deadline:
            if client.should_query_keys:
                with contextlib.suppress(Exception):  # a query already in flight is fine
                    await client.keys_query()
            await asyncio.sleep(0.2)

    def decrypt_raw(self, room_id: str, raw: dict[str, Any]) -> dict[str, Any] | None:
        """A fetched encrypted event's cleartext source, or ``None`` when it cannot be read yet."""
        try:
            encrypted = Event.parse_encrypted_event({**raw, "room_id": room_id})
            if not isinstance(encrypted, MegolmEvent):
                return None
            encrypted.room_id = room_id
            decrypted = self.client.decrypt_event(encrypted)
        except Exception:  # missing keys, broken events: the sync path will retry those
            return None
        source = getattr(decrypted, "source", None)
        return source if isinstance(source, dict) and "type" in source else None

    def is_encrypted(self, room_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        return bool(room and room.encrypted)

    async def join(self, room_id: str) -> bool:
        return (await self.try_join(room_id)).ok

    # --- room creation, invites and joins: retried across federation (issue 20, bot/retry.py)

    async def try_join(self, room_id: str) -> Attempt:
        """One join; a 403 counts as transient (the inviting server may not have stored yet)."""
        response = await self.client.join(room_id)
        if isinstance(response, JoinResponse):
            return Attempt(True)
        return classify(response, forbidden_is_transient=True)

    async def keep_trying(self, seconds: float) -> bool:
        await self.sleep_unless_stopped(seconds)
        return not self.stopping.is_set()

    async def leave(self, room_id: str) -> None:
        with contextlib.suppress(Exception):
            await self.client.room_leave(room_id)

    async def create_direct_room(self, user_id: str, alias_localpart: str) -> str:
        """A direct chat for one person, idempotent through a private alias.

        The alias makes the homeserver the judge: a second create (concurrent, or after a crash
        between creating and recording) fails with M_ROOM_IN_USE and the existing room is used.
        """
        try:
            return await self._create_encrypted_room(
                [user_id],
                is_direct=True,
                preset=RoomPreset.private_chat,
                alias=alias_localpart,
            )
        except SendFailed as exc:
            if "M_ROOM_IN_USE" not in str(exc):
                raise
        server = self.client.user_id.split(":", 1)[1]
        response = await self.client.room_resolve_alias(f"#{alias_localpart}:{server}")
        if not isinstance(response, RoomResolveAliasResponse):
            raise SendFailed(f"could not resolve the direct chat alias: {_describe(response)}")
        return response.room_id

    async def state_content(self, room_id: str, event_type: str, key: str = "") -> dict | None:
        """One state event's content from the homeserver; None when absent or unreadable."""
        path = f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/state/{event_type}/{key}"
        status, content = await self.raw_request("GET", path)
        return content if status == 200 and isinstance(content, dict) else None

    async def room_members(self, room_id: str) -> Members:
        """Joined members and pending invitations, asked from the homeserver."""
        room = quote(room_id, safe="")
        status, joined = await self.raw_request(
            "GET", f"/_matrix/client/v3/rooms/{room}/joined_members"
        )
        if status != 200 or not isinstance(joined, dict):
            raise HomeserverUnavailable(f"joined_members of {room_id}: HTTP {status}")
        status, invites = await self.raw_request(
            "GET", f"/_matrix/client/v3/rooms/{room}/members?membership=invite"
        )
        if status != 200 or not isinstance(invites, dict):
            raise HomeserverUnavailable(f"invited members of {room_id}: HTTP {status}")
        chunk = invites.get("chunk")
        return Members(
            joined=frozenset(u for u in (joined.get("joined") or {}) if isinstance(u, str)),
            invited=frozenset(
                e["state_key"]
                for e in (chunk if isinstance(chunk, list) else [])
                if isinstance(e, dict)
                and isinstance(e.get("state_key"), str)
                and (e.get("content") or {}).get("membership") == "invite"
            ),
        )

    async def create_room(self, name: str, invite: list[str], topic: str = "") -> str:
        return await self._create_encrypted_room(invite, name=name, topic=topic)

    async def _create_encrypted_room(self, invite: list[str], **options: Any) -> str:
        """Create, then invite one by one: a remote server that is down fails its own invite
        (retried), never the creation, which must not be retried into a second room."""

        async def create() -> Attempt:
            response = await self.client.room_create(
                initial_state=[{"type": "m.room.encryption", "state_key": "", "content": MEGOLM}],
                **options,
            )
            if isinstance(response, RoomCreateResponse):
                return Attempt(True, value=response.room_id)
            return classify(response)

        what = f"creating a room for {', '.join(invite)}"
        created = await retrying(create, what, self.keep_trying)
        if not created.ok:
            raise SendFailed(f"could not create a room with {invite}: {created.reason}")
        room_id: str = created.value
        self._adopt_created_room(room_id, invite)
        for user_id in invite:
            await retrying(
                lambda user_id=user_id: self._try_invite(room_id, user_id, options),
                f"inviting {user_id} to {room_id}",
                self.keep_trying,
            )
        return room_id

    async def _try_invite(self, room_id: str, user_id: str, options: dict[str, Any]) -> Attempt:
        # The membership state endpoint, unlike /invite, carries is_direct for direct chats.
        content: dict[str, Any] = {"membership": "invite"}
        if options.get("is_direct"):
            content["is_direct"] = True
        room, user = quote(room_id, safe=""), quote(user_id, safe="")
        try:
            status, payload = await self.raw_request(
                "PUT", f"/_matrix/client/v3/rooms/{room}/state/m.room.member/{user}", content
            )
        except HomeserverUnavailable as exc:
            return classify(exc)
        if status == 200:
            return Attempt(True)
        reason = f"HTTP {status} {payload.get('errcode', '') if isinstance(payload, dict) else ''}"
        return Attempt(False, retry=transient_status(status), reason=reason.strip())

    # --- end of issue 20's part

    def _adopt_created_room(self, room_id: str, invited: list[str]) -> None:
        """Know a room we just created without waiting for the next sync.

        Handlers run inside sync processing, so waiting for the sync to show the room would stall
        the bot. Invitees are members for key sharing (as Element does), so they can read what the
        bot posts before they accept the invitation.
        """
        if room_id in self.client.rooms:
            return
        room = MatrixRoom(room_id, self.client.user_id, encrypted=True)
        room.add_member(self.client.user_id, None, None)
        for user_id in invited:
            room.add_member(user_id, None, None, invited=True)
        self.client.rooms[room_id] = room
        self.client.encrypted_rooms.add(room_id)
        if self.client.olm is not None:
            self.client.olm.update_tracked_users(room)

    async def raw_request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """An authenticated request through the client's own HTTP session (for APIs nio lacks)."""
        import json

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


def _decided(device: OlmDevice) -> bool:
    """Whether a trust decision was already made for this device (under any policy)."""
    return bool(device.verified or device.blacklisted or device.ignored)


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


def _status(response: object) -> int | None:
    return getattr(getattr(response, "transport_response", None), "status", None)


def _is_transient(response: object) -> bool:
    if isinstance(
        response, (SendRetryError, OlmUnverifiedDeviceError, aiohttp.ClientError, OSError)
    ):
        return True
    if isinstance(response, LocalProtocolError):
        return False
    if isinstance(response, ErrorResponse):
        status = getattr(getattr(response, "transport_response", None), "status", None)
        return status is None or status >= 500 or status == 429
    return isinstance(response, DiscoveryInfoError)


def _describe(response: object) -> str:
    if isinstance(response, ErrorResponse):
        status = getattr(getattr(response, "transport_response", None), "status", "?")
        return f"HTTP {status} {response.status_code or ''} {response.message or ''}".strip()
    return type(response).__name__ + (f": {response}" if isinstance(response, Exception) else "")
