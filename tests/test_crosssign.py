"""Cross-signing building blocks, checked against Synapse's own signing library (signedjson)."""

from __future__ import annotations

import copy
import json
import stat
from pathlib import Path
from typing import Any

import pytest

from bot.matrix.crosssign import (
    CrossSigningError,
    CrossSigningSeeds,
    ServerState,
    SigningKey,
    canonical_json,
    cross_signed_devices,
    device_is_signed,
    device_signature_body,
    device_signing_upload_body,
    ensure_cross_signing,
    load_seeds,
    save_seeds,
    seeds_to_upload,
    signed_by,
    verify_signature,
)

signedjson_sign = pytest.importorskip("signedjson.sign")
signedjson_key = pytest.importorskip("signedjson.key")

USER = "@bot:example.org"
DEVICE = "BOTDEVICE"


def reference_verify(obj: dict[str, Any], user_id: str, key: SigningKey) -> None:
    """Raises unless Synapse's implementation accepts ``key``'s signature on ``obj``."""
    verify_key = signedjson_key.decode_verify_key_base64("ed25519", key.public_key, key.public_key)
    signedjson_sign.verify_signed_json(obj, user_id, verify_key)


def device_keys() -> dict[str, Any]:
    return {
        "user_id": USER,
        "device_id": DEVICE,
        "algorithms": ["m.olm.v1.curve25519-aes-sha2", "m.megolm.v1.aes-sha2"],
        "keys": {f"curve25519:{DEVICE}": "Y3VydmU", f"ed25519:{DEVICE}": "ZWQyNTUxOQ"},
        "signatures": {USER: {f"ed25519:{DEVICE}": "c2lnbmVkIGJ5IGRldmljZQ"}},
        "unsigned": {"device_display_name": "Impulsbot"},
    }


def test_canonical_json_sorts_keys_and_keeps_umlauts() -> None:
    assert canonical_json({"b": 1, "a": {"ü": "ß", "c": [2, 1]}}) == (
        '{"a":{"c":[2,1],"ü":"ß"},"b":1}'.encode()
    )


def test_signature_is_accepted_by_synapse_and_ignores_unsigned() -> None:
    key = SigningKey.generate()
    signed = signed_by(device_keys(), USER, key)
    reference_verify(signed, USER, key)
    # The server adds "unsigned" data later; the signature must still hold.
    signed["unsigned"] = {"device_display_name": "renamed"}
    assert verify_signature(signed, USER, key.key_id, key.public_key)
    # The existing device self-signature is kept next to the new one.
    assert f"ed25519:{DEVICE}" in signed["signatures"][USER]


def test_tampered_object_or_wrong_key_fails_verification() -> None:
    key, other = SigningKey.generate(), SigningKey.generate()
    signed = signed_by(device_keys(), USER, key)
    tampered = copy.deepcopy(signed)
    tampered["keys"][f"curve25519:{DEVICE}"] = "b3RoZXI"
    assert not verify_signature(tampered, USER, key.key_id, key.public_key)
    assert not verify_signature(signed, USER, key.key_id, other.public_key)
    assert not verify_signature(signed, "@someone:else", key.key_id, key.public_key)


def test_key_id_names_the_key_itself() -> None:
    key = SigningKey(bytes(range(32)))
    assert key.key_id == f"ed25519:{key.public_key}"
    assert len(key.public_key) == 43  # 32 bytes, unpadded base64
    assert SigningKey(bytes(range(32))).public_key == key.public_key  # deterministic from seed


def test_upload_body_has_master_vouching_for_both_subkeys() -> None:
    seeds = CrossSigningSeeds.generate(USER)
    body = device_signing_upload_body(seeds)
    assert body["master_key"]["usage"] == ["master"]
    assert body["master_key"]["keys"] == {seeds.master.key_id: seeds.master.public_key}
    for name, usage, key in (
        ("self_signing_key", "self_signing", seeds.self_signing),
        ("user_signing_key", "user_signing", seeds.user_signing),
    ):
        obj = body[name]
        assert obj["usage"] == [usage] and obj["user_id"] == USER
        assert obj["keys"] == {key.key_id: key.public_key}
        reference_verify(obj, USER, seeds.master)
    assert len({seeds.master.seed, seeds.self_signing.seed, seeds.user_signing.seed}) == 3


def test_device_signature_body_signs_the_device_as_the_server_stores_it() -> None:
    seeds = CrossSigningSeeds.generate(USER)
    body = device_signature_body(device_keys(), USER, seeds.self_signing)
    signed = body[USER][DEVICE]
    assert "unsigned" not in signed
    assert set(signed["signatures"][USER]) == {seeds.self_signing.key_id}
    reference_verify(signed, USER, seeds.self_signing)
    # The server merges our signature into its copy: that copy then counts as signed.
    stored = device_keys()
    stored["signatures"][USER].update(signed["signatures"][USER])
    assert device_is_signed(stored, USER, seeds.self_signing.public_key)
    assert not device_is_signed(device_keys(), USER, seeds.self_signing.public_key)


def test_seed_file_round_trip_is_private(tmp_path: Path) -> None:
    seeds = CrossSigningSeeds.generate(USER)
    path = tmp_path / "cross_signing.json"
    save_seeds(path, seeds)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_seeds(path, USER) == seeds
    assert load_seeds(path, "@other:example.org") is None  # a reused data dir of another bot
    assert load_seeds(tmp_path / "missing.json", USER) is None
    assert list(tmp_path.iterdir()) == [path]  # no temp files left behind


def test_unreadable_seed_file_is_never_silently_replaced(tmp_path: Path) -> None:
    path = tmp_path / "cross_signing.json"
    path.write_text("{not json")
    with pytest.raises(CrossSigningError):
        load_seeds(path, USER)
    path.write_text(json.dumps({"version": 1, "user_id": USER, "master": "AAAA"}))
    with pytest.raises(CrossSigningError):
        load_seeds(path, USER)


def test_which_seeds_are_used_and_when_they_are_uploaded() -> None:
    stored = CrossSigningSeeds.generate(USER)
    on_server = ServerState(stored.master.public_key, stored.self_signing.public_key, {})
    assert seeds_to_upload(on_server, stored, USER) == (stored, False)
    # An earlier upload failed: the stored keys are uploaded, not replaced.
    assert seeds_to_upload(ServerState(None, None, {}), stored, USER) == (stored, True)
    # Keys on the server that we cannot sign with (lost seeds, or someone replaced them).
    foreign = ServerState(SigningKey.generate().public_key, SigningKey.generate().public_key, {})
    for seeds in (stored, None):
        fresh, upload = seeds_to_upload(foreign, seeds, USER)
        assert upload and fresh != stored and fresh.user_id == USER


def test_server_state_reads_keys_query_answer() -> None:
    seeds = CrossSigningSeeds.generate(USER)
    body = device_signing_upload_body(seeds)
    answer = {
        "device_keys": {USER: {DEVICE: device_keys()}},
        "master_keys": {USER: body["master_key"]},
        "self_signing_keys": {USER: body["self_signing_key"]},
    }
    state = ServerState.parse(answer, USER, DEVICE)
    assert state.matches(seeds)
    assert state.device_keys == device_keys()
    assert ServerState.parse({}, USER, DEVICE) == ServerState(None, None, None)


class FakeServer:
    """Just enough of Synapse's key endpoints to exercise the start-up routine."""

    def __init__(self, password: str = "geheim") -> None:
        self.password = password
        self.device = device_keys()
        self.master: dict[str, Any] | None = None
        self.self_signing: dict[str, Any] | None = None
        self.calls: list[str] = []
        self.reject_signatures = False

    async def request(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        self.calls.append(path.rsplit("/", 1)[-1])
        if path.endswith("/keys/query"):
            answer: dict[str, Any] = {"device_keys": {USER: {DEVICE: self.device}}}
            if self.master:
                answer["master_keys"] = {USER: self.master}
                answer["self_signing_keys"] = {USER: self.self_signing}
            return 200, answer
        if path.endswith("/device_signing/upload"):
            auth = body.get("auth")
            if self.master is not None and (not auth or auth.get("password") != self.password):
                return 401, {"session": "s1", "flows": [{"stages": ["m.login.password"]}]}
            self.master, self.self_signing = body["master_key"], body["self_signing_key"]
            return 200, {}
        if path.endswith("/signatures/upload"):
            if self.reject_signatures:
                return 200, {"failures": {USER: {DEVICE: {"errcode": "M_INVALID_SIGNATURE"}}}}
            new = body[USER][DEVICE]["signatures"][USER]
            self.device["signatures"][USER].update(new)
            return 200, {"failures": {}}
        raise AssertionError(path)


async def test_first_start_uploads_then_restarts_change_nothing(tmp_path: Path) -> None:
    server, path = FakeServer(), tmp_path / "cs.json"
    first = await ensure_cross_signing(server.request, USER, DEVICE, None, path)
    assert first.keys_uploaded and first.device_signed
    assert device_is_signed(server.device, USER, first.self_signing_key)
    server.calls.clear()
    again = await ensure_cross_signing(server.request, USER, DEVICE, None, path)
    assert (again.keys_uploaded, again.device_signed) == (False, False)
    assert again.master_key == first.master_key
    assert server.calls == ["query"]


async def test_lost_seeds_replace_keys_with_password(tmp_path: Path) -> None:
    server, path = FakeServer(), tmp_path / "cs.json"
    first = await ensure_cross_signing(server.request, USER, DEVICE, "geheim", path)
    path.unlink()
    with pytest.raises(CrossSigningError, match=r"matrix\.password"):
        await ensure_cross_signing(server.request, USER, DEVICE, None, path)
    second = await ensure_cross_signing(server.request, USER, DEVICE, "geheim", path)
    assert second.keys_uploaded and second.master_key != first.master_key
    assert device_is_signed(server.device, USER, second.self_signing_key)


async def test_rejected_device_signature_is_reported(tmp_path: Path) -> None:
    server = FakeServer()
    server.reject_signatures = True
    with pytest.raises(CrossSigningError, match="rejected"):
        await ensure_cross_signing(server.request, USER, DEVICE, None, tmp_path / "cs.json")


def keys_query_answer(seeds: CrossSigningSeeds, devices: dict[str, dict[str, Any]]) -> dict:
    body = device_signing_upload_body(seeds)
    return {
        "device_keys": {USER: devices},
        "master_keys": {USER: body["master_key"]},
        "self_signing_keys": {USER: body["self_signing_key"]},
    }


def a_device(device_id: str) -> dict[str, Any]:
    keys = device_keys()
    keys["device_id"] = device_id
    keys["keys"] = {f"ed25519:{device_id}": f"key-of-{device_id}"}
    return keys


def test_only_devices_signed_through_the_whole_chain_count() -> None:
    seeds = CrossSigningSeeds.generate(USER)
    stranger = CrossSigningSeeds.generate(USER)
    devices = {
        "LAPTOP": signed_by(a_device("LAPTOP"), USER, seeds.self_signing),
        "PHONE": a_device("PHONE"),  # not verified by its owner
        "FORGED": signed_by(a_device("FORGED"), USER, stranger.self_signing),
        "SWAPPED": signed_by(a_device("OTHER"), USER, seeds.self_signing),  # wrong ID in body
    }
    master, signed = cross_signed_devices(keys_query_answer(seeds, devices), USER)
    assert master == seeds.master.public_key
    assert signed == {"LAPTOP": "key-of-LAPTOP"}


def test_self_signing_key_not_vouched_for_by_master_trusts_nothing() -> None:
    seeds = CrossSigningSeeds.generate(USER)
    devices = {"LAPTOP": signed_by(a_device("LAPTOP"), USER, seeds.self_signing)}
    answer = keys_query_answer(seeds, devices)
    answer["self_signing_keys"][USER]["signatures"] = {}
    assert cross_signed_devices(answer, USER) == (seeds.master.public_key, {})
    answer = keys_query_answer(seeds, devices)
    answer["self_signing_keys"][USER]["usage"] = ["user_signing"]
    assert cross_signed_devices(answer, USER)[1] == {}
    assert cross_signed_devices({"device_keys": {USER: devices}}, USER) == (None, {})
