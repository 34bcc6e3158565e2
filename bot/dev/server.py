"""A throwaway local Synapse homeserver on loopback, for the demo, the tests and the benchmarks.

Synapse runs as a child process with SQLite in a temporary folder; users are registered through its
shared-secret admin API. With ``federation_port`` it also federates with other such servers on
loopback: a TLS federation listener with a self-signed certificate made on the spot, certificate
checks and the loopback block switched off. Nothing here is meant for production.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import yaml

GENEROUS = {"per_second": 10_000, "burst_count": 10_000}
STARTUP_TIMEOUT = 90.0
LOOPBACK = ["127.0.0.0/8", "::1/128"]


class DevServerError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def synapse_available() -> bool:
    try:
        import synapse  # noqa: F401
    except ImportError:
        return False
    return True


def _rate_limits() -> dict[str, Any]:
    return {
        "rc_message": GENEROUS,
        "rc_registration": GENEROUS,
        "rc_login": {"address": GENEROUS, "account": GENEROUS, "failed_attempts": GENEROUS},
        "rc_admin_redaction": GENEROUS,
        "rc_joins": {"local": GENEROUS, "remote": GENEROUS},
        "rc_joins_per_room": GENEROUS,
        "rc_key_requests": GENEROUS,
        "rc_3pid_validation": GENEROUS,
        "rc_invites": {"per_room": GENEROUS, "per_user": GENEROUS, "per_issuer": GENEROUS},
        "rc_media_create": GENEROUS,
        "rc_room_creation": GENEROUS,
        "rc_presence": {"per_user": GENEROUS},
        "rc_delayed_event_mgmt": GENEROUS,
        "rc_reports": GENEROUS,
        "rc_user_directory": GENEROUS,
        "rc_profile": GENEROUS,
    }


def write_self_signed_certificate(cert_path: Path, key_path: Path, host: str) -> None:
    """A throwaway certificate for ``host`` (and 127.0.0.1), valid for a day."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = dt.datetime.now(dt.UTC)
    names: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    if host != "127.0.0.1":
        names.append(x509.DNSName(host))
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    key_path.chmod(0o600)


@dataclass
class RegisteredUser:
    user_id: str
    password: str
    access_token: str
    device_id: str


class LocalSynapse:
    """Start with ``async with LocalSynapse(folder) as hs:``; ``hs.url`` is the client URL."""

    def __init__(
        self,
        folder: Path,
        port: int | None = None,
        server_name: str = "localhost",
        federation_port: int | None = None,
    ) -> None:
        """``federation_port``: listen for federation (TLS) there; ``server_name`` must then name
        a port where other servers reach it (this one, or a proxy in front of it)."""
        self.folder = Path(folder)
        self.port = port or free_port()
        self.server_name = server_name
        self.federation_port = federation_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.shared_secret = secrets.token_hex(16)
        self.process: subprocess.Popen[bytes] | None = None
        self._log = None

    @property
    def config_path(self) -> Path:
        return self.folder / "homeserver.yaml"

    def write_config(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "media").mkdir(exist_ok=True)
        key_path = self.folder / "signing.key"
        if not key_path.exists():
            from signedjson.key import generate_signing_key, write_signing_keys

            with key_path.open("w") as stream:
                write_signing_keys(stream, [generate_signing_key("a")])
        log_config = self.folder / "log.yaml"
        log_config.write_text(
            yaml.safe_dump(
                {
                    "version": 1,
                    "formatters": {
                        "f": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
                    },
                    "handlers": {
                        "file": {
                            "class": "logging.FileHandler",
                            "filename": str(self.folder / "homeserver.log"),
                            "formatter": "f",
                        }
                    },
                    "root": {"level": "WARNING", "handlers": ["file"]},
                    "disable_existing_loggers": False,
                }
            )
        )
        config = {
            "server_name": self.server_name,
            "public_baseurl": self.url + "/",
            "pid_file": str(self.folder / "homeserver.pid"),
            "listeners": self._listeners(),
            "database": {
                "name": "sqlite3",
                "args": {"database": str(self.folder / "homeserver.db")},
            },
            "log_config": str(log_config),
            "media_store_path": str(self.folder / "media"),
            "registration_shared_secret": self.shared_secret,
            "report_stats": False,
            "macaroon_secret_key": secrets.token_hex(16),
            "form_secret": secrets.token_hex(16),
            "signing_key_path": str(key_path),
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "enable_registration": False,
            "presence": {"enabled": False},
            "url_preview_enabled": False,
            "enable_metrics": False,
            "federation_domain_whitelist": [],
            **_rate_limits(),
        }
        if self.federation_port is not None:
            config.update(self._federation_config())
        self.config_path.write_text(yaml.safe_dump(config))

    def _federation_config(self) -> dict[str, Any]:
        cert, key = self.folder / "federation.crt", self.folder / "federation.key"
        if not cert.exists():
            write_self_signed_certificate(cert, key, self.server_name.rsplit(":", 1)[0])
        return {
            "listeners": [
                *self._listeners(),
                {
                    "port": self.federation_port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": True,
                    "x_forwarded": False,
                    "resources": [{"names": ["federation"], "compress": False}],
                },
            ],
            "tls_certificate_path": str(cert),
            "tls_private_key_path": str(key),
            "federation_verify_certificates": False,
            "federation_domain_whitelist": None,
            # Both spellings (Synapse 1.163 reads the first); loopback must be reachable.
            "ip_range_blacklist": [],
            "ip_range_blocklist": [],
            "ip_range_whitelist": LOOPBACK,
            "trusted_key_servers": [],
        }

    def _listeners(self) -> list[dict[str, Any]]:
        return [
            {
                "port": self.port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ]

    async def start(self) -> None:
        if not synapse_available():
            raise DevServerError(
                "Synapse ist nicht installiert. Bitte mit `pip install -e '.[dev]'` installieren."
            )
        if not self.config_path.exists():
            self.write_config()
        self._log = (self.folder / "stdout.log").open("ab")
        self.process = subprocess.Popen(  # noqa: ASYNC220 - Popen returns at once
            [sys.executable, "-m", "synapse.app.homeserver", "-c", str(self.config_path)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
            start_new_session=True,
        )
        await self._wait_until_up()

    async def _wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    raise DevServerError(f"Synapse exited early; see {self.folder}/stdout.log")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.get(f"{self.url}/_matrix/client/versions") as resp:
                        if resp.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise DevServerError(f"Synapse did not come up within {STARTUP_TIMEOUT:.0f} s")

    async def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            for _ in range(100):
                if process.poll() is not None:
                    break
                await asyncio.sleep(0.1)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    async def __aenter__(self) -> LocalSynapse:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def register(self, localpart: str, password: str, admin: bool = False) -> RegisteredUser:
        """Register a user with the shared-secret admin API (no password ever leaves loopback)."""
        endpoint = f"{self.url}/_synapse/admin/v1/register"
        async with aiohttp.ClientSession() as session:
            async with session.get(endpoint) as resp:
                nonce = (await resp.json())["nonce"]
            kind = "admin" if admin else "notadmin"
            # The MAC covers the fields joined by NUL bytes.
            message = b"\x00".join(p.encode() for p in (nonce, localpart, password, kind))
            body = {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": admin,
                "mac": hmac.new(self.shared_secret.encode(), message, hashlib.sha1).hexdigest(),
            }
            async with session.post(endpoint, data=json.dumps(body)) as resp:
                data = await resp.json()
                if resp.status != 200:
                    raise DevServerError(f"registering {localpart} failed: {data}")
        return RegisteredUser(data["user_id"], password, data["access_token"], data["device_id"])

    def user_id(self, localpart: str) -> str:
        return f"@{localpart}:{self.server_name}"


def federating_pair(
    folder: Path, home_public_port: int | None = None
) -> tuple[LocalSynapse, LocalSynapse]:
    """Two servers that federate on loopback, not yet started: ``localhost:P`` and ``127.0.0.1:Q``.

    The server names carry their federation ports, so neither server looks up ``.well-known`` or
    SRV records. ``home_public_port``: where the other server reaches the first one, if a proxy
    stands in front of its federation listener (the proxy must then present its certificate).
    """
    listener = free_port()
    home = LocalSynapse(
        folder / "home",
        server_name=f"localhost:{home_public_port or listener}",
        federation_port=listener,
    )
    remote_port = free_port()
    remote = LocalSynapse(
        folder / "remote", server_name=f"127.0.0.1:{remote_port}", federation_port=remote_port
    )
    return home, remote
