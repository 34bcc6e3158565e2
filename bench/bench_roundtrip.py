"""Round trip: ``!ping`` through the bot vs. a bare matrix-nio echo client, same homeserver.

Both answerers run as their own processes with the same nio client settings (encryption enabled,
SQLite crypto store, the bot's sync filter and long-poll timeout) and answer with an ``m.notice``
reply. One sender alternates between the two rooms, so both paths see the same load; the time is
taken from the sender's send until its own sync shows the reply.

Also home of the helpers the other live benchmarks share (throwaway Synapse, bot subprocess).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import yaml
from nio import AsyncClient, AsyncClientConfig, RoomMessageText, SyncResponse
from nio.store import SqliteStore

from bot.dev.client import DevUser, body_of
from bot.dev.server import LocalSynapse, RegisteredUser
from bot.matrix.sync import SYNC_FILTER, SYNC_TIMEOUT_MS

REPO = Path(__file__).resolve().parent.parent
ROUNDS = 100


# ---------------------------------------------------------------------------- shared helpers


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def rss_mb(pid: int) -> float:
    """Resident set size of a process in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextlib.asynccontextmanager
async def homeserver() -> AsyncIterator[tuple[LocalSynapse, Path]]:
    with tempfile.TemporaryDirectory(prefix="impulsbot-bench-") as tmp:
        folder = Path(tmp)
        server = LocalSynapse(folder / "synapse")
        await server.start()
        try:
            yield server, folder
        finally:
            await server.stop()


async def register(server: LocalSynapse, localpart: str) -> RegisteredUser:
    return await server.register(localpart, secrets.token_urlsafe(12))


async def user(server: LocalSynapse, folder: Path, localpart: str) -> DevUser:
    client = DevUser(server.url, await register(server, localpart), folder / f"client-{localpart}")
    await client.start()
    return client


class BotProcess:
    """The bot as production runs it: ``python -m bot.cli run --config …`` in its own process."""

    def __init__(self, server: LocalSynapse, folder: Path, **sections: dict[str, Any]) -> None:
        self.server = server
        self.folder = folder / "bot"
        self.localpart = f"impulsbot{secrets.token_hex(2)}"
        self.user_id = server.user_id(self.localpart)
        self.password = secrets.token_urlsafe(12)
        self.sections = sections
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    async def prepare(self) -> RegisteredUser:
        self.folder.mkdir(parents=True, exist_ok=True)
        registered = await self.server.register(self.localpart, self.password)
        data: dict[str, Any] = {
            "matrix": {
                "homeserver": self.server.url,
                "user_id": self.user_id,
                "password": self.password,
            },
            "storage": {"database": str(self.folder / "data" / "impulsbot.db")},
            "content": {"directory": str(REPO / "content")},
            "access": {"invite_allowlist": [self.server.server_name]},
        }
        for name, values in self.sections.items():
            data.setdefault(name, {}).update(values)
        (self.folder / "config.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
        return registered

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        argv = [
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            "--config",
            str(self.folder / "config.yaml"),
        ]
        with (self.folder / "bot.log").open("ab") as log:
            self.started_at = time.monotonic()
            self.process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=log)

    def rss_mb(self) -> float:
        assert self.process is not None
        return rss_mb(self.process.pid)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


def from_sender(sender: str):  # type: ignore[no-untyped-def]
    return lambda event: getattr(event, "sender", None) == sender and bool(body_of(event))


# ---------------------------------------------------------------------------- the echo client


async def echo_forever(homeserver_url: str, user_id: str, token: str, device: str, store: str):
    """Reply to every m.text with an m.notice reply; same client settings as the bot's shell."""
    config = AsyncClientConfig(
        max_limit_exceeded=None,
        max_timeouts=None,
        backoff_factor=0.5,
        request_timeout=60,
        encryption_enabled=True,
        store=SqliteStore,
        store_name="crypto.db",
        store_sync_tokens=False,
    )
    client = AsyncClient(homeserver_url, user_id, store_path=store, config=config)
    client.restore_login(user_id, device, token)
    client.load_store()
    if client.should_upload_keys:
        await client.keys_upload()
    uploaded = await client.upload_filter(
        user_id=user_id,
        presence=SYNC_FILTER["presence"],
        account_data=SYNC_FILTER["account_data"],
        room=SYNC_FILTER["room"],
    )
    sync_filter = getattr(uploaded, "filter_id", None) or SYNC_FILTER
    since: str | None = None
    first = True
    while True:
        response = await client.sync(
            timeout=0 if first else SYNC_TIMEOUT_MS, sync_filter=sync_filter, since=since
        )
        if not isinstance(response, SyncResponse):
            await asyncio.sleep(1)
            continue
        for room_id in response.rooms.invite:
            await client.join(room_id)
        if not first:
            for room_id, info in response.rooms.join.items():
                for event in info.timeline.events:
                    if (
                        isinstance(event, RoomMessageText)
                        and event.sender != user_id
                        and event.source["content"].get("msgtype") == "m.text"
                    ):
                        content = {
                            "msgtype": "m.notice",
                            "body": f"echo: {event.body}",
                            "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}},
                        }
                        await client.room_send(room_id, "m.room.message", content, tx_id=None)
        first = False
        since = response.next_batch


def start_echo(server: LocalSynapse, echo: RegisteredUser, folder: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    argv = [
        sys.executable,
        "-m",
        "bench.bench_roundtrip",
        "--echo",
        server.url,
        echo.user_id,
        echo.access_token,
        echo.device_id,
        str(folder / "echo-store"),
    ]
    with (folder / "echo.log").open("ab") as log:
        return subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=log)


# ---------------------------------------------------------------------------- the benchmark


async def timed_ask(sender: DevUser, room_id: str, body: str) -> float:
    started = time.perf_counter()
    event_id = await sender.say(room_id, body)
    await sender.wait_reply(room_id, event_id, timeout=30)
    return (time.perf_counter() - started) * 1000


async def measure(rounds: int = ROUNDS) -> dict[str, float | int | str]:
    async with homeserver() as (server, folder):
        bot = BotProcess(server, folder)
        await bot.prepare()
        echo = await register(server, "echo")
        bot.start()
        echo_process = start_echo(server, echo, folder)
        sender = await user(server, folder, "sender")
        try:
            bot_room = await sender.create_room(invite=[bot.user_id], encrypted=False)
            await sender.wait_for(bot_room, from_sender(bot.user_id), timeout=60)  # greeting
            echo_room = await sender.create_room(invite=[echo.user_id], encrypted=False)
            await sender.wait_for(
                echo_room,
                lambda e: getattr(e, "membership", None) == "join" and e.state_key == echo.user_id,
                timeout=60,
            )
            for _ in range(5):  # warm-up, not counted
                await timed_ask(sender, bot_room, "!ping")
                await timed_ask(sender, echo_room, "ping")
            bot_ms: list[float] = []
            echo_ms: list[float] = []
            for index in range(rounds):
                # Alternate which path goes first so neither profits from the order.
                pair = [("bot", bot_room, "!ping"), ("echo", echo_room, "ping")]
                for name, room, body in pair if index % 2 == 0 else reversed(pair):
                    (bot_ms if name == "bot" else echo_ms).append(
                        await timed_ask(sender, room, body)
                    )
        finally:
            await sender.close()
            bot.stop()
            echo_process.terminate()
            echo_process.wait(10)
    bot_median, echo_median = statistics.median(bot_ms), statistics.median(echo_ms)
    return {
        "roundtrip_rounds": rounds,
        "roundtrip_bot_median_ms": round(bot_median, 1),
        "roundtrip_bot_p95_ms": round(percentile(bot_ms, 0.95), 1),
        "roundtrip_echo_median_ms": round(echo_median, 1),
        "roundtrip_echo_p95_ms": round(percentile(echo_ms, 0.95), 1),
        "roundtrip_ratio_median": round(bot_median / echo_median, 3),
        "roundtrip_ratio_p95": round(percentile(bot_ms, 0.95) / percentile(echo_ms, 0.95), 3),
        "roundtrip_target_ratio": "<= 1.15",
    }


def run(rounds: int = ROUNDS) -> dict[str, float | int | str]:
    return asyncio.run(measure(rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--echo", nargs=5, metavar=("URL", "USER", "TOKEN", "DEVICE", "STORE"))
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    if args.echo:
        Path(args.echo[4]).mkdir(parents=True, exist_ok=True)
        asyncio.run(echo_forever(*args.echo))
        return
    for key, value in run(args.rounds).items():
        print(f"{key:32} {value}")


if __name__ == "__main__":
    main()
