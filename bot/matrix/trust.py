"""End-to-end keys: which devices get the bot's room keys, and getting the keys the bot lacks.

Owns the ``matrix.trust`` policy per device (``tofu``, ``all``, ``verified`` = cross-signed by
its owner, checked against a short-lived cache), its reset when the policy changes, and events
that arrived before their room key: requested, retried after each sync, given up after a minute.
Part of :class:`bot.matrix.shell.MatrixShell`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from nio import AsyncClient, Event, LocalProtocolError, MegolmEvent
from nio.crypto import OlmDevice

from bot.config import Config
from bot.matrix.crosssign import cross_signed_devices, query_keys
from bot.store import Store

log = logging.getLogger("bot.matrix.shell")  # as before the split: log filters keep working

UNDECRYPTABLE_GRACE_S = 60.0
CROSS_SIGNED_TTL_S = 300.0


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


class Trust:
    """The key half of the shell."""

    config: Config
    store: Store
    client: AsyncClient
    _pending: dict[str, PendingDecryption]
    _cross_signed: dict[str, CrossSignedCache]

    # ----------------------------------------------------------------- who gets our keys

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

    def _forget_cross_signing(self, user_ids: Iterable[str]) -> None:
        for user_id in user_ids:
            self._cross_signed.pop(user_id, None)  # new devices or new signatures

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

    # ----------------------------------------------------------------- keys we lack

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


def _decided(device: OlmDevice) -> bool:
    """Whether a trust decision was already made for this device (under any policy)."""
    return bool(device.verified or device.blacklisted or device.ignored)
