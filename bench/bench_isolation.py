"""No head-of-line blocking, and what homeserver truth costs (issue 13), side by side in one run.

1. ``!ping`` round trip in room B: idle, while room A runs a 100,000-row ``!export feedback``,
   and while every send into room A hangs (a proxy between bot and homeserver holds them).
   Target: p95 of both within 1.2x of idle.
2. CPU time per command of the bot against a bare matrix-nio echo process with encryption enabled
   (the floor for any nio bot that works in encrypted rooms): same homeserver, same run, both read
   from ``/proc/<pid>/stat``. Target <= 1.5x, aim <= 1.1x.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from bench.bench_roundtrip import start_echo
from bench.helpers import (
    BotProcess,
    from_sender,
    homeserver,
    percentile,
    print_figures,
    register,
    timed_ask,
    user,
)
from bot.store import Store
from tests.faultproxy import FaultProxy

PINGS = 20
CPU_COMMANDS = 40
EXPORT_ROWS = 100_000
SEED_PEOPLE = 300
TICKS = os.sysconf("SC_CLK_TCK")


class HangProxy(FaultProxy):
    """Forwards everything to the homeserver; event sends into ``hang_room`` never return."""

    max_body = 200 * 1024 * 1024

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream, faults=[None], matches=lambda method, path: False)
        self.hang_room: str | None = None
        self.held = 0

    def _holds(self, request: web.Request) -> bool:
        room = self.hang_room
        match = re.search(r"/rooms/([^/]+)/send/", request.path)
        return bool(
            room and match and request.method == "PUT" and match[1] in (room, _quoted(room))
        )

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self._holds(request):
            self.held += 1
            await asyncio.sleep(3600)
        return await super()._handle(request)


def _quoted(room_id: str) -> str:
    return room_id.replace("!", "%21").replace(":", "%3A")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def seed_feedback(database: Path, rows: int) -> None:
    store = Store(database)
    await store.open()
    try:
        await store.db.executemany(
            "INSERT INTO feedback (created_at, room_id, kind, reference, rating, text, user_id,"
            " source_event_id) VALUES (?, ?, 'feedback', NULL, NULL, ?, ?, ?)",
            [
                (
                    1_790_000_000_000 + n,
                    "!bench:localhost",
                    f"Rückmeldung {n}",
                    f"@person{n % SEED_PEOPLE}:localhost",  # named: pseudonyms are part of the cost
                    f"$seed{n}",
                )
                for n in range(rows)
            ],
        )
        await store.db.commit()
    finally:
        await store.close()


async def slow_ask(sender: Any, room: str, body: str) -> float:
    """Like timed_ask, for an answer that takes minutes (the export is built first)."""
    started = time.perf_counter()
    event_id = await sender.say(room, body)
    await sender.wait_reply(room, event_id, timeout=600)
    return (time.perf_counter() - started) * 1000


async def pings(sender: Any, room: str, count: int) -> list[float]:
    return [await timed_ask(sender, room, "!ping") for _ in range(count)]


async def measure(pings_per_phase: int = PINGS) -> dict[str, Any]:
    async with homeserver() as (server, folder):
        proxy = HangProxy(server.url)
        await proxy.start()
        sender = await user(server, folder, "sender")
        bot = BotProcess(
            server, folder, matrix={"homeserver": proxy.url}, access={"team": [sender.user_id]}
        )
        await bot.prepare()
        await seed_feedback(bot.folder / "data" / "impulsbot.db", EXPORT_ROWS)
        echo = await register(server, "echo")
        bot.start()
        echo_process = start_echo(server, echo, folder)
        figures: dict[str, Any] = {}
        try:
            room_a = await sender.create_room(invite=[bot.user_id], encrypted=False, name="A")
            room_b = await sender.create_room(invite=[bot.user_id], encrypted=False, name="B")
            for room in (room_a, room_b):
                await sender.wait_for(room, from_sender(bot.user_id), timeout=120)
            await pings(sender, room_b, 3)  # warm-up

            idle = await pings(sender, room_b, pings_per_phase)
            exporting = asyncio.ensure_future(slow_ask(sender, room_a, "!export feedback"))
            await asyncio.sleep(0.5)
            during_export = await pings(sender, room_b, pings_per_phase)
            export_ms = await asyncio.wait_for(exporting, 600)

            proxy.hang_room = room_a
            await sender.say(room_a, "!ping")  # its answer hangs in the proxy
            await asyncio.sleep(0.5)
            during_hang = await pings(sender, room_b, pings_per_phase)
            proxy.hang_room = None

            for name, values in (
                ("idle", idle),
                ("export", during_export),
                ("hanging_send", during_hang),
            ):
                figures[f"isolation_ping_{name}_p50_ms"] = round(percentile(values, 0.5), 1)
                figures[f"isolation_ping_{name}_p95_ms"] = round(percentile(values, 0.95), 1)
            base = percentile(idle, 0.95)
            figures["isolation_ratio_export_p95"] = round(percentile(during_export, 0.95) / base, 2)
            figures["isolation_ratio_hang_p95"] = round(percentile(during_hang, 0.95) / base, 2)
            figures["isolation_export_ms"] = round(export_ms, 0)
            figures["isolation_sends_held"] = proxy.held
            figures["isolation_target_ratio"] = "<= 1.2"
            figures.update(await cpu_per_command(sender, bot, echo, echo_process.pid, room_b))
        finally:
            await sender.close()
            bot.stop()
            echo_process.terminate()
            echo_process.wait(10)
            await proxy.stop()
    return figures


async def cpu_per_command(
    sender: Any, bot: BotProcess, echo: Any, echo_pid: int, bot_room: str
) -> dict[str, Any]:
    echo_room = await sender.create_room(invite=[echo.user_id], encrypted=False, name="echo")
    await sender.wait_for(
        echo_room,
        lambda e: getattr(e, "membership", None) == "join" and e.state_key == echo.user_id,
        timeout=60,
    )
    await timed_ask(sender, echo_room, "ping")
    assert bot.process is not None
    before = cpu_seconds(bot.process.pid), cpu_seconds(echo_pid)
    for _ in range(CPU_COMMANDS):
        await timed_ask(sender, bot_room, "!ping")
        await timed_ask(sender, echo_room, "ping")
    await asyncio.sleep(1)
    bot_cpu = (cpu_seconds(bot.process.pid) - before[0]) / CPU_COMMANDS * 1000
    echo_cpu = (cpu_seconds(echo_pid) - before[1]) / CPU_COMMANDS * 1000
    return {
        "cpu_bot_ms_per_command": round(bot_cpu, 2),
        "cpu_echo_ms_per_command": round(echo_cpu, 2),
        "cpu_ratio": round(bot_cpu / echo_cpu, 2) if echo_cpu else float("nan"),
        "cpu_target_ratio": "<= 1.5 (aim 1.1)",
    }


def run(pings_per_phase: int = PINGS) -> dict[str, Any]:
    return asyncio.run(measure(pings_per_phase))


def main() -> None:
    started = time.monotonic()
    print_figures(run(), 36)
    print(f"{'isolation_bench_seconds':36} {time.monotonic() - started:.0f}")


if __name__ == "__main__":
    main()
