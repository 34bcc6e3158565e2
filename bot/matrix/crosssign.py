"""Cross-signing of the bot's own device: keys, signatures and the start-up routine.

Matrix clients show a device as trustworthy when its owner's *self-signing* key has signed it and
the owner's *master* key has signed that self-signing key. matrix-nio has no API for this, so the
bot does it itself: ed25519 via pycryptodome (a matrix-nio dependency), signatures over canonical
JSON, and two raw client-server requests sent through an injected ``request`` callable (the
shell's own HTTP session). Everything but :func:`ensure_cross_signing` is pure.

The private seeds live in a 0600 file in the crypto directory: with the self-signing seed a new
device can be signed after a redeploy without the account password.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from Crypto.Signature import eddsa

ED25519 = "ed25519"
SEED_BYTES = 32
SEEDS_VERSION = 1
KEYS_QUERY = "/_matrix/client/v3/keys/query"
DEVICE_SIGNING_UPLOAD = "/_matrix/client/v3/keys/device_signing/upload"
SIGNATURES_UPLOAD = "/_matrix/client/v3/keys/signatures/upload"

Request = Callable[[str, str, Any], Awaitable[tuple[int, Any]]]


class CrossSigningError(RuntimeError):
    """Cross-signing could not be set up; the bot still works, only unverified."""


# ----------------------------------------------------------------------------- encoding


def canonical_json(value: Any) -> bytes:
    """Matrix canonical JSON: sorted keys, no insignificant whitespace, UTF-8 (not \\u escapes)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def unpadded_b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def decode_unpadded_b64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def signable(obj: dict[str, Any]) -> dict[str, Any]:
    """What a signature covers: the object without ``signatures`` and ``unsigned``."""
    return {k: v for k, v in obj.items() if k not in ("signatures", "unsigned")}


# ----------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class SigningKey:
    """An ed25519 key pair, kept as its 32-byte seed (the private part)."""

    seed: bytes

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(os.urandom(SEED_BYTES))

    @property
    def public_key(self) -> str:
        public = eddsa.import_private_key(self.seed).public_key()
        return unpadded_b64(public.export_key(format="raw"))

    @property
    def key_id(self) -> str:
        # A cross-signing key is named after itself (devices are named after their device ID).
        return f"{ED25519}:{self.public_key}"

    def sign(self, obj: dict[str, Any]) -> str:
        signer = eddsa.new(eddsa.import_private_key(self.seed), "rfc8032")
        return unpadded_b64(signer.sign(canonical_json(signable(obj))))


def signed_by(obj: dict[str, Any], user_id: str, key: SigningKey) -> dict[str, Any]:
    """A copy of ``obj`` carrying ``key``'s signature in addition to the ones it has."""
    signature = key.sign(obj)
    signatures = {u: dict(s) for u, s in (obj.get("signatures") or {}).items()}
    signatures.setdefault(user_id, {})[key.key_id] = signature
    return {**obj, "signatures": signatures}


def verify_signature(obj: dict[str, Any], user_id: str, key_id: str, public_key: str) -> bool:
    """Whether ``obj`` carries a valid signature by ``public_key`` under ``user_id``/``key_id``."""
    signature = ((obj.get("signatures") or {}).get(user_id) or {}).get(key_id)
    if not isinstance(signature, str):
        return False
    try:
        verifier = eddsa.new(eddsa.import_public_key(decode_unpadded_b64(public_key)), "rfc8032")
        verifier.verify(canonical_json(signable(obj)), decode_unpadded_b64(signature))
    except (ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class CrossSigningSeeds:
    user_id: str
    master: SigningKey
    self_signing: SigningKey
    user_signing: SigningKey

    @classmethod
    def generate(cls, user_id: str) -> CrossSigningSeeds:
        return cls(user_id, SigningKey.generate(), SigningKey.generate(), SigningKey.generate())

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": SEEDS_VERSION,
                "user_id": self.user_id,
                "master": unpadded_b64(self.master.seed),
                "self_signing": unpadded_b64(self.self_signing.seed),
                "user_signing": unpadded_b64(self.user_signing.seed),
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> CrossSigningSeeds:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != SEEDS_VERSION:
            raise ValueError("unknown cross-signing seed file format")
        keys = [
            SigningKey(decode_unpadded_b64(data[name]))
            for name in ("master", "self_signing", "user_signing")
        ]
        if any(len(k.seed) != SEED_BYTES for k in keys):
            raise ValueError("cross-signing seed has the wrong length")
        return cls(str(data["user_id"]), *keys)


def load_seeds(path: Path, user_id: str) -> CrossSigningSeeds | None:
    """The stored seeds of ``user_id``; None if there are none (or they are another user's)."""
    if not path.exists():
        return None
    try:
        seeds = CrossSigningSeeds.from_json(path.read_text(encoding="utf-8"))
    except (ValueError, KeyError, TypeError) as exc:
        # Never overwrite what we cannot read: it may be the only copy of the private keys.
        raise CrossSigningError(f"cannot read {path}: {exc}") from exc
    return seeds if seeds.user_id == user_id else None


def save_seeds(path: Path, seeds: CrossSigningSeeds) -> None:
    """Write atomically with mode 0600: a crash leaves either the old or the new file."""
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(seeds.to_json())
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


# ----------------------------------------------------------------------------- request bodies


def cross_signing_key(user_id: str, usage: str, key: SigningKey) -> dict[str, Any]:
    return {"user_id": user_id, "usage": [usage], "keys": {key.key_id: key.public_key}}


def device_signing_upload_body(seeds: CrossSigningSeeds) -> dict[str, Any]:
    """The three public keys; the master key vouches for the other two."""
    user_id = seeds.user_id
    master = cross_signing_key(user_id, "master", seeds.master)
    self_signing = cross_signing_key(user_id, "self_signing", seeds.self_signing)
    user_signing = cross_signing_key(user_id, "user_signing", seeds.user_signing)
    return {
        "master_key": master,
        "self_signing_key": signed_by(self_signing, user_id, seeds.master),
        "user_signing_key": signed_by(user_signing, user_id, seeds.master),
    }


def password_auth(session: str | None, user_id: str, password: str) -> dict[str, Any]:
    auth: dict[str, Any] = {
        "type": "m.login.password",
        "identifier": {"type": "m.id.user", "user": user_id},
        "password": password,
    }
    if session:
        auth["session"] = session
    return auth


def device_signature_body(
    device_keys: dict[str, Any], user_id: str, self_signing: SigningKey
) -> dict[str, Any]:
    """Body for /keys/signatures/upload: the device's keys as the server has them, signed."""
    signed = {**signable(device_keys), "signatures": {}}
    signed = signed_by(signed, user_id, self_signing)
    return {user_id: {str(device_keys["device_id"]): signed}}


def single_public_key(key_obj: Any) -> str | None:
    """The public key of a cross-signing key object from /keys/query."""
    keys = (key_obj or {}).get("keys") if isinstance(key_obj, dict) else None
    if not isinstance(keys, dict) or len(keys) != 1:
        return None
    value = next(iter(keys.values()))
    return value if isinstance(value, str) else None


def device_is_signed(device_keys: dict[str, Any], user_id: str, self_signing_public: str) -> bool:
    return verify_signature(
        device_keys, user_id, f"{ED25519}:{self_signing_public}", self_signing_public
    )


@dataclass(frozen=True)
class ServerState:
    """What /keys/query says about the bot's own account and device."""

    master: str | None
    self_signing: str | None
    device_keys: dict[str, Any] | None

    @classmethod
    def parse(cls, response: Any, user_id: str, device_id: str) -> ServerState:
        body = response if isinstance(response, dict) else {}
        devices = (body.get("device_keys") or {}).get(user_id) or {}
        device = devices.get(device_id)
        return cls(
            master=single_public_key((body.get("master_keys") or {}).get(user_id)),
            self_signing=single_public_key((body.get("self_signing_keys") or {}).get(user_id)),
            device_keys=device if isinstance(device, dict) else None,
        )

    def matches(self, seeds: CrossSigningSeeds) -> bool:
        return (
            self.master == seeds.master.public_key
            and self.self_signing == seeds.self_signing.public_key
        )


def seeds_to_upload(
    server: ServerState, stored: CrossSigningSeeds | None, user_id: str
) -> tuple[CrossSigningSeeds, bool]:
    """The seeds to use and whether they must be uploaded.

    Stored seeds that match the server are kept. Stored seeds the server has never seen (an
    earlier upload failed) are uploaded. Without seeds, or when the server holds keys we do not
    have the private part of, fresh keys replace them: only keys we hold can sign devices.
    """
    if stored is not None and server.matches(stored):
        return stored, False
    if stored is not None and server.master is None:
        return stored, True
    return CrossSigningSeeds.generate(user_id), True


def cross_signed_devices(answer: Any, user_id: str) -> tuple[str | None, dict[str, str]]:
    """From a /keys/query answer: the user's master key and the devices its owner has verified.

    A device counts when the master key signed the self-signing key and that key signed the
    device. The result maps device IDs to their ed25519 keys, so the caller can check that the
    device it is about to trust has exactly that key.
    """
    body = answer if isinstance(answer, dict) else {}
    master = single_public_key((body.get("master_keys") or {}).get(user_id))
    self_signing_obj = (body.get("self_signing_keys") or {}).get(user_id)
    self_signing = single_public_key(self_signing_obj)
    if master is None or self_signing is None or not isinstance(self_signing_obj, dict):
        return master, {}
    if self_signing_obj.get("user_id") != user_id or "self_signing" not in (
        self_signing_obj.get("usage") or []
    ):
        return master, {}
    if not verify_signature(self_signing_obj, user_id, f"{ED25519}:{master}", master):
        return master, {}
    signed: dict[str, str] = {}
    for device_id, device in ((body.get("device_keys") or {}).get(user_id) or {}).items():
        if not isinstance(device, dict) or device.get("device_id") != device_id:
            continue
        ed25519 = (device.get("keys") or {}).get(f"{ED25519}:{device_id}")
        if isinstance(ed25519, str) and device_is_signed(device, user_id, self_signing):
            signed[device_id] = ed25519
    return master, signed


async def query_keys(request: Request, user_ids: list[str]) -> Any:
    """A raw /keys/query (nio's own drops the cross-signing keys)."""
    status, body = await request("POST", KEYS_QUERY, {"device_keys": {u: [] for u in user_ids}})
    if status != 200:
        raise CrossSigningError(f"/keys/query answered HTTP {status}: {_errcode(body)}")
    return body


# ----------------------------------------------------------------------------- the routine


@dataclass(frozen=True)
class CrossSigningOutcome:
    master_key: str
    self_signing_key: str
    keys_uploaded: bool
    device_signed: bool


async def ensure_cross_signing(
    request: Request,
    user_id: str,
    device_id: str,
    password: str | None,
    seeds_path: Path,
) -> CrossSigningOutcome:
    """Make sure the account has cross-signing keys we hold and this device is signed.

    Idempotent: on a normal restart it only reads (/keys/query) and changes nothing.
    """
    server = await _query_own_keys(request, user_id, device_id)
    if server.device_keys is None:
        raise CrossSigningError(f"device {device_id} has no keys on the server yet")
    seeds, upload = seeds_to_upload(server, load_seeds(seeds_path, user_id), user_id)
    if upload:
        # Stored first: if the upload succeeds and we crash, the keys are not lost.
        save_seeds(seeds_path, seeds)
        await _upload_cross_signing_keys(request, seeds, password, replacing=server.master)
    signed_now = False
    if upload or not device_is_signed(server.device_keys, user_id, seeds.self_signing.public_key):
        await _upload_device_signature(request, server.device_keys, seeds)
        signed_now = True
    return CrossSigningOutcome(
        master_key=seeds.master.public_key,
        self_signing_key=seeds.self_signing.public_key,
        keys_uploaded=upload,
        device_signed=signed_now,
    )


async def _query_own_keys(request: Request, user_id: str, device_id: str) -> ServerState:
    status, body = await request("POST", KEYS_QUERY, {"device_keys": {user_id: []}})
    if status != 200:
        raise CrossSigningError(f"/keys/query answered HTTP {status}: {_errcode(body)}")
    return ServerState.parse(body, user_id, device_id)


async def _upload_cross_signing_keys(
    request: Request, seeds: CrossSigningSeeds, password: str | None, replacing: str | None
) -> None:
    body = device_signing_upload_body(seeds)
    status, answer = await request("POST", DEVICE_SIGNING_UPLOAD, body)
    if status == 401 and isinstance(answer, dict) and "flows" in answer:
        # Replacing existing keys needs the account password (user-interactive auth).
        if password is None:
            raise CrossSigningError(
                "the account already has other cross-signing keys; replacing them needs "
                "matrix.password"
            )
        auth = password_auth(answer.get("session"), seeds.user_id, password)
        status, answer = await request("POST", DEVICE_SIGNING_UPLOAD, {**body, "auth": auth})
    if status != 200:
        what = "replacing" if replacing else "uploading"
        raise CrossSigningError(
            f"{what} cross-signing keys failed: HTTP {status} {_errcode(answer)}"
        )


async def _upload_device_signature(
    request: Request, device_keys: dict[str, Any], seeds: CrossSigningSeeds
) -> None:
    body = device_signature_body(device_keys, seeds.user_id, seeds.self_signing)
    status, answer = await request("POST", SIGNATURES_UPLOAD, body)
    if status != 200:
        raise CrossSigningError(f"signing the device failed: HTTP {status} {_errcode(answer)}")
    # A rejected signature is reported inside a 200 answer.
    failures = answer.get("failures") if isinstance(answer, dict) else None
    if failures:
        raise CrossSigningError(f"the server rejected the device signature: {failures}")


def _errcode(body: Any) -> str:
    if isinstance(body, dict):
        return f"{body.get('errcode', '')} {body.get('error', '')}".strip()
    return ""
