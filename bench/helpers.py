"""What the live benchmarks share: a throwaway Synapse, people on it, the bot as its own process,
timing and printing the figures."""

from __future__ import annotations

import contextlib
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from bot.dev.client import DevUser, body_of
from bot.dev.server import LocalSynapse, RegisteredUser

REPO = Path(__file__).resolve().parent.parent


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
        argv = [
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            "--config",
            str(self.folder / "config.yaml"),
        ]
        self.started_at = time.monotonic()
        self.process = spawn(argv, self.folder / "bot.log")

    def rss_mb(self) -> float:
        assert self.process is not None
        return rss_mb(self.process.pid)

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if it is not gone after 40 s."""
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(40)
        if process.poll() is None:
            process.kill()
            process.wait()


def from_sender(sender: str):  # type: ignore[no-untyped-def]
    return lambda event: getattr(event, "sender", None) == sender and bool(body_of(event))


def spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    """``argv`` as its own process in the repository, output appended to ``log``."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with log.open("ab") as out:
        return subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=out)


async def greeted_room(sender: DevUser, bot_id: str, timeout: float, **room: Any) -> str:
    """A new room of ``sender`` with the bot, once the bot's greeting has arrived."""
    room_id = await sender.create_room(invite=[bot_id], encrypted=False, **room)
    await sender.wait_for(room_id, from_sender(bot_id), timeout=timeout)
    return room_id


async def timed_ask(sender: DevUser, room_id: str, body: str) -> float:
    started = time.perf_counter()
    event_id = await sender.say(room_id, body)
    await sender.wait_reply(room_id, event_id, timeout=30)
    return (time.perf_counter() - started) * 1000


def timings(prefix: str, values: list[float]) -> dict[str, float]:
    """Median and 95th percentile of ``values`` (ms) as ``<prefix>_median_ms``/``_p95_ms``."""
    return {
        f"{prefix}_median_ms": round(statistics.median(values), 1),
        f"{prefix}_p95_ms": round(percentile(values, 0.95), 1),
    }


def print_figures(figures: Mapping[str, Any], width: int = 32) -> None:
    for key, value in figures.items():
        print(f"{key:{width}} {value}")
