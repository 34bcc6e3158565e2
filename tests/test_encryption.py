"""End-to-end encryption against a real Synapse: cross-signing, restarts, new devices, trust
modes, late room keys and the key backup CLI."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from nio import (
    AsyncClient,
    LoginResponse,
    MegolmEvent,
    RoomMessageText,
    ToDeviceMessage,
    ToDeviceResponse,
)
from nio.exceptions import EncryptionError
from signedjson.key import decode_verify_key_base64
from signedjson.sign import verify_signed_json

from bot.cli.keys import _bot_client
from bot.config import load_config
from bot.dev.client import DevUser, body_of, replies_to
from bot.dev.server import LocalSynapse, RegisteredUser
from bot.matrix import shell as matrix_module
from bot.matrix.crosssign import ensure_cross_signing
from bot.matrix.shell import CROSS_SIGNING_SEEDS, MatrixShell
from tests.conftest import REPO, BotFactory, RunningBot, UserFactory, room_with_bot
from tests.scenario import ChatFactory

INTEGRATION = pytest.mark.integration  # the bookkeeping tests at the end are plain unit tests

PASSPHRASE_ENV = "IMPULSBOT_TEST_KEY_PASSPHRASE"


async def raw(client: AsyncClient, method: str, path: str, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {client.access_token}"}
    data = None if body is None else json.dumps(body)
    response = await client.send(method, path, data, headers)
    assert response.status == 200, await response.text()
    return await response.json()


def only_key(key_obj: dict[str, Any]) -> tuple[str, str]:
    ((key_id, public),) = key_obj["keys"].items()
    return key_id, public


async def assert_cross_signed(observer: AsyncClient, bot: RunningBot) -> str:
    """Checks, as another user sees it, master → self-signing → device; returns the master key."""
    assert bot.app is not None
    device_id = bot.app.shell.client.device_id
    answer = await raw(
        observer, "POST", "/_matrix/client/v3/keys/query", {"device_keys": {bot.user_id: []}}
    )
    master_id, master = only_key(answer["master_keys"][bot.user_id])
    self_signing = answer["self_signing_keys"][bot.user_id]
    ssk_id, ssk = only_key(self_signing)
    # Synapse's own verification code (signedjson) checks the ed25519 signatures.
    verify_signed_json(
        self_signing, bot.user_id, decode_verify_key_base64("ed25519", master_id[8:], master)
    )
    device = answer["device_keys"][bot.user_id][device_id]
    verify_signed_json(device, bot.user_id, decode_verify_key_base64("ed25519", ssk_id[8:], ssk))
    return master


async def bot_devices(bot: RunningBot) -> list[str]:
    assert bot.app is not None
    status, body = await bot.app.shell.raw_request("GET", "/_matrix/client/v3/devices")
    assert status == 200
    return sorted(d["device_id"] for d in body["devices"])


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@INTEGRATION
async def test_device_is_cross_signed_private_and_stable_across_restarts(
    make_bot: BotFactory, make_user: UserFactory, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await make_bot()
    alice = await make_user("alice")
    assert bot.app is not None
    device_id = bot.app.shell.client.device_id
    master = await assert_cross_signed(alice.client, bot)
    crypto = bot.config.storage.data_dir / "crypto"
    assert mode(crypto) == 0o700
    files = sorted(p.name for p in crypto.iterdir())
    assert {"pickle.key", "crypto.db", CROSS_SIGNING_SEEDS} <= set(files)
    assert {p.name: mode(p) for p in crypto.iterdir()} == dict.fromkeys(files, 0o600)
    devices = await bot_devices(bot)
    assert device_id in devices

    caplog.set_level(logging.INFO, logger="bot.matrix.shell")
    for _ in range(2):
        await bot.restart()
        assert bot.app.shell.client.device_id == device_id
    assert await bot_devices(bot) == devices  # no new device per start
    assert await assert_cross_signed(alice.client, bot) == master  # keys kept, not regenerated
    assert "new keys uploaded" not in caplog.text and "skipped" not in caplog.text

    # Seeds lost (e.g. crypto dir restored from an old backup): new keys, replaced with the
    # password (user-interactive auth), and the device is signed by the new self-signing key.
    await bot.stop()
    (crypto / CROSS_SIGNING_SEEDS).unlink()
    await bot.start()
    assert bot.app.shell.client.device_id == device_id
    assert await assert_cross_signed(alice.client, bot) != master


@INTEGRATION
async def test_restart_and_new_user_device_keep_the_conversation_readable(
    make_chat: ChatFactory, synapse: LocalSynapse, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.matrix.shell")
    bot, alice, room = await make_chat(encrypted=True)
    hilfe = await alice.ask(room, "!hilfe")
    assert hilfe.decrypted and "!ping" in body_of(hilfe)

    await bot.restart()
    pong = await alice.ask(room, "!ping")
    assert pong.decrypted and "Pong" in body_of(pong)

    # Alice logs in on a second device (a new phone): it must read the bot's next answer.
    second = await login_second_device(synapse, alice, tmp_path / "alice-phone")
    try:
        await second.wait_until(lambda: room in second.client.rooms)
        await assert_pong_readable_on(second, alice, room, bot)
    finally:
        await second.close()
    assert f"device set of {alice.user_id} changed" in caplog.text
    assert second.user.device_id in caplog.text


async def assert_pong_readable_on(
    device: DevUser, user: DevUser, room: str, bot: RunningBot
) -> None:
    """``user`` asks ``!ping``; the bot's answer arrives decrypted on their other ``device``."""
    asked = await user.say(room, "!ping")
    answer = await device.wait_for(
        room, lambda e: e.sender == bot.user_id and replies_to(e) == asked
    )
    assert answer.decrypted and "Pong" in body_of(answer)


async def login_second_device(synapse: LocalSynapse, user: DevUser, folder: Path) -> DevUser:
    probe = AsyncClient(synapse.url, user.user_id)
    try:
        response = await probe.login(user.user.password, device_name="Zweitgerät")
    finally:
        await probe.close()
    assert isinstance(response, LoginResponse), response
    registered = RegisteredUser(
        user.user_id, user.user.password, response.access_token, response.device_id
    )
    device = DevUser(synapse.url, registered, folder)
    await device.start()
    return device


@INTEGRATION
async def test_trust_verified_withholds_room_keys_from_unverified_devices(
    make_bot: BotFactory, make_user: UserFactory
) -> None:
    bot = await make_bot(matrix={"trust": "verified"})
    alice = await make_user("alice")
    room = await alice.create_room(invite=[bot.user_id], encrypted=True)
    await alice.wait_for(room, lambda e: e.sender == bot.user_id and isinstance(e, MegolmEvent))
    # Alice's own client shares her keys with the bot, so the command still arrives ...
    asked = await alice.say(room, "!ping")
    assert bot.app is not None
    await alice.wait_until(lambda: len(from_bot_encrypted(alice, room, bot)) >= 2)
    await asyncio.sleep(1)
    # ... but the answer (like the greeting) is encrypted with a key her device never gets.
    assert alice.replies(room, asked) == []
    assert all(isinstance(e, MegolmEvent) for e in alice.find(room, lambda e: is_bot(e, bot)))
    for event in from_bot_encrypted(alice, room, bot):
        with pytest.raises(Exception):  # noqa: B017 - nio raises EncryptionError subclasses
            alice.client.decrypt_event(event)
    device = bot.app.shell.client.device_store[alice.user_id][alice.user.device_id]
    assert device.blacklisted and not device.verified

    # The operator switches back to tofu: the old "no key" decisions must not stick.
    bot.config.matrix.trust = "tofu"
    await bot.restart()
    answer = await alice.ask(room, "!ping")
    assert answer.decrypted and "Pong" in body_of(answer)
    device = bot.app.shell.client.device_store[alice.user_id][alice.user.device_id]
    assert device.verified and not device.blacklisted


@INTEGRATION
async def test_trust_verified_gives_keys_to_devices_their_owner_cross_signed(
    make_bot: BotFactory, make_user: UserFactory, synapse: LocalSynapse, tmp_path: Path
) -> None:
    bot = await make_bot(matrix={"trust": "verified"})
    alice = await make_user("alice")
    seeds = tmp_path / "alice-cross-signing.json"
    # Alice verified her laptop (as Element does: her self-signing key signs the device).
    await ensure_cross_signing(
        requester(alice.client), alice.user_id, alice.user.device_id, None, seeds
    )
    phone = await login_second_device(synapse, alice, tmp_path / "alice-phone")
    try:
        room = await room_with_bot(alice, bot, encrypted=True)  # greeting readable: verified
        await phone.wait_until(lambda: room in phone.client.rooms)
        first = await alice.ask(room, "!ping")
        assert first.decrypted and "Pong" in body_of(first)
        on_phone = await phone.wait_for(room, lambda e: e.event_id == first.event_id)
        assert isinstance(on_phone, MegolmEvent)  # the unverified phone got no key

        # She verifies the phone too: the bot's next answer reaches it.
        await ensure_cross_signing(
            requester(phone.client), alice.user_id, phone.user.device_id, None, seeds
        )
        await assert_pong_readable_on(phone, alice, room, bot)
    finally:
        await phone.close()


def requester(client: AsyncClient) -> Any:
    async def request(method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {client.access_token}"}
        data = None if body is None else json.dumps(body)
        response = await client.send(method, path, data, headers)
        return response.status, await response.json()

    return request


def is_bot(event: Any, bot: RunningBot) -> bool:
    return getattr(event, "sender", None) == bot.user_id and not hasattr(event, "membership")


def from_bot_encrypted(user: DevUser, room: str, bot: RunningBot) -> list[Any]:
    return user.find(room, lambda e: is_bot(e, bot) and isinstance(e, MegolmEvent))


@INTEGRATION
async def test_command_without_room_key_is_answered_once_the_key_arrives(
    make_chat: ChatFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.matrix.shell")
    bot, alice, room = await make_chat(encrypted=True)
    assert bot.app is not None
    bot_device = alice.client.device_store[bot.user_id][bot.app.shell.client.device_id]
    # Alice's client withholds the room key from the bot (as with a lost key share) ...
    alice.client.blacklist_device(bot_device)
    await alice.client.share_group_session(room, ignore_unverified_devices=True)
    session = alice.client.olm.outbound_group_sessions[room]
    session_key = session.session_key  # the key from message index 0 on
    asked = await alice.say(room, "!ping geheimer Inhalt")
    for _ in range(50):
        if asked in bot.app.shell._pending:
            break
        await asyncio.sleep(0.1)
    assert asked in bot.app.shell._pending
    assert alice.replies(room, asked) == []
    # ... and delivers it later: an ordinary m.room_key over the Olm channel.
    await send_room_key(alice, bot_device, room, session.id, session_key)
    answer = await alice.wait_reply(room, asked)
    assert "Pong" in body_of(answer)
    assert asked not in bot.app.shell._pending
    assert "not decryptable yet" in caplog.text and "geheimer" not in caplog.text
    await asyncio.sleep(1)
    assert len(alice.replies(room, asked)) == 1


async def send_room_key(
    user: DevUser, device: Any, room_id: str, session_id: str, session_key: str
) -> None:
    olm = user.client.olm
    channel = olm.session_store.get(device.curve25519)
    if channel is None:
        await user.client.keys_claim({device.user_id: [device.id]})
        channel = olm.session_store.get(device.curve25519)
    content = {
        "algorithm": "m.megolm.v1.aes-sha2",
        "room_id": room_id,
        "session_id": session_id,
        "session_key": session_key,
    }
    payload = olm._olm_encrypt(channel, device, "m.room_key", content)
    message = ToDeviceMessage("m.room.encrypted", device.user_id, device.id, payload)
    response = await user.client.to_device(message)
    assert isinstance(response, ToDeviceResponse), response


@INTEGRATION
async def test_keys_export_import_lets_a_fresh_store_read_old_messages(
    make_chat: ChatFactory, tmp_path: Path
) -> None:
    bot, alice, room = await make_chat(encrypted=True)
    old = await alice.say(room, "!ping vor dem Umzug")
    await alice.wait_reply(room, old)
    assert bot.app is not None

    config_path = bot.config.storage.data_dir.parent / "config.yaml"
    backup = tmp_path / "backup" / "room-keys.txt"
    passphrase = {PASSPHRASE_ENV: "korrekt Pferd Batterie", "WRONG": "falsch falsch falsch"}
    # A separate process, as an operator runs it, while the bot keeps running.
    args = ["--config", str(config_path), "--file", str(backup), "--passphrase-env"]
    code, err = await impulsbot(["keys", "export", *args, PASSPHRASE_ENV], passphrase)
    assert code == 0 and "Sitzungsschlüssel" in err
    assert mode(backup) == 0o600
    assert backup.read_text().startswith("-----BEGIN MEGOLM SESSION DATA-----")
    assert "korrekt" not in err

    # A redeploy: same account, empty data directory.
    fresh = tmp_path / "redeploy"
    fresh.mkdir()
    data = yaml.safe_load(config_path.read_text())
    data["storage"]["database"] = str(fresh / "data" / "impulsbot.db")
    fresh_config = fresh / "config.yaml"
    fresh_config.write_text(yaml.safe_dump(data))
    fresh_args = ["--config", str(fresh_config), "--file", str(backup), "--passphrase-env"]
    code, err = await impulsbot(["keys", "import", *fresh_args, "WRONG"], passphrase)
    assert code == 2 and "falsche Passphrase" in err
    code, err = await impulsbot(["keys", "import", *fresh_args, PASSPHRASE_ENV], passphrase)
    assert code == 0, err

    encrypted = await raw(alice.client, "GET", f"/_matrix/client/v3/rooms/{room}/event/{old}")
    old_device = bot.app.shell.client.device_id
    await bot.stop()  # nio's SQLite store binds its tables globally: one store per process
    async with _bot_client(load_config(fresh_config), allow_login=False) as client:
        assert client.device_id != old_device
        decrypted = client.decrypt_event(MegolmEvent.from_dict(encrypted))
    assert body_of(decrypted) == "!ping vor dem Umzug"


async def impulsbot(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *argv,
        cwd=REPO,
        env={**os.environ, **env},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, err.decode()


# ----------------------------------------------------------------------------- bookkeeping


class FakeCryptoClient:
    """Stands in for nio: decryption fails until ``key_arrived`` is set."""

    def __init__(self) -> None:
        self.key_arrived = False
        self.key_requests: list[str] = []

    async def request_room_key(self, event: MegolmEvent) -> None:
        self.key_requests.append(event.event_id)

    def decrypt_event(self, event: MegolmEvent) -> Any:
        if not self.key_arrived:
            raise EncryptionError("no session found")
        return RoomMessageText.from_dict(
            {
                "type": "m.room.message",
                "event_id": event.event_id,
                "sender": event.sender,
                "origin_server_ts": event.server_timestamp,
                "content": {"msgtype": "m.text", "body": "!ping geheim"},
            }
        )


def megolm_event(event_id: str) -> MegolmEvent:
    return MegolmEvent.from_dict(
        {
            "type": "m.room.encrypted",
            "event_id": event_id,
            "sender": "@erika:example.org",
            "origin_server_ts": 1_700_000_000_000,
            "content": {
                "algorithm": "m.megolm.v1.aes-sha2",
                "ciphertext": "AwgAEnACgAkLmt6qF84IK++J7UDH2Za1YVchHyprqTqsg",
                "device_id": "ERIKAPHONE",
                "sender_key": "IlRMeOPX2e0MurIyfWEucYBRVOEEUMrOHqn/8mLqMjA",
                "session_id": "X3lUlvLELLYxeTx4yOVu6UDpasGEVO0Jbu+QFnm0cKQ",
            },
        }
    )


def shell_with(client: FakeCryptoClient) -> MatrixShell:
    shell = MatrixShell(config=None, store=None)  # type: ignore[arg-type]  # unused here
    shell.client = client  # type: ignore[assignment]
    return shell


async def test_pending_event_is_retried_once_and_requested_once() -> None:
    client = FakeCryptoClient()
    shell = shell_with(client)
    event = megolm_event("$late")
    shell.note_undecryptable("!raum:example.org", event)
    shell.note_undecryptable("!raum:example.org", event)  # seen again in a later sync
    await asyncio.sleep(0)
    assert client.key_requests == ["$late"]
    assert shell.retry_decryption() == []
    client.key_arrived = True
    ((room_id, decrypted),) = shell.retry_decryption()
    assert room_id == "!raum:example.org" and body_of(decrypted) == "!ping geheim"
    assert shell.retry_decryption() == []  # handed out exactly once


async def test_pending_event_is_given_up_after_a_minute_without_content(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    now = [1000.0]
    monkeypatch.setattr(matrix_module.time, "monotonic", lambda: now[0])
    shell = shell_with(FakeCryptoClient())
    shell.note_undecryptable("!raum:example.org", megolm_event("$lost"))
    await asyncio.sleep(0)
    now[0] += 59
    assert shell.retry_decryption() == [] and "$lost" in shell._pending
    now[0] += 2
    with caplog.at_level(logging.WARNING, logger="bot.matrix.shell"):
        assert shell.retry_decryption() == []
    assert "$lost" not in shell._pending
    (record,) = [r for r in caplog.records if "giving up" in r.getMessage()]
    message = record.getMessage()
    assert "!raum:example.org" in message and "@erika:example.org" in message
    assert "AwgAEnAC" not in message
