"""Logging in: the nio client on its protected crypto store, the session and the bot's identity.

Owns the crypto folder and its pickle key (mode 0700/0600), the choice between a configured access
token, the stored session and a password login, and cross-signing the bot's own device at start.
Part of :class:`bot.matrix.shell.MatrixShell`.
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from nio import AsyncClient, AsyncClientConfig, LoginResponse, WhoamiResponse
from nio.store import SqliteStore

from bot.config import Config
from bot.matrix.crosssign import ensure_cross_signing
from bot.store import Store
from bot.transport import SendFailed

log = logging.getLogger("bot.matrix.shell")  # as before the split: log filters keep working

MAX_BACKOFF_S = 30.0
REQUEST_TIMEOUTS = 3  # nio retries a timed-out request this often, not forever
CROSS_SIGNING_SEEDS = "cross_signing.json"


class Session:
    """The login half of the shell."""

    config: Config
    store: Store
    client: AsyncClient

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
