"""Round trip: ``!ping`` through the bot vs. a bare matrix-nio echo client, same homeserver.

Both answerers run as their own processes with the same nio client settings (encryption enabled,
SQLite crypto store, the bot's sync filter and long-poll timeout) and answer with an ``m.notice``
reply. One sender alternates between the two rooms, so both paths see the same load; the time is
taken from the sender's send until its own sync shows the reply.

The helpers the live benchmarks share are in ``bench/helpers.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
from pathlib import Path

from nio import AsyncClient, AsyncClientConfig, RoomMessageText, SyncResponse
from nio.store import SqliteStore

from bench.helpers import (
    BotProcess,
    greeted_room,
    homeserver,
    percentile,
    print_figures,
    register,
    spawn,
    timed_ask,
    timings,
    user,
)
from bot.dev.server import LocalSynapse, RegisteredUser
from bot.matrix.shell import SYNC_FILTER, SYNC_TIMEOUT_MS

REPO = Path(__file__).resolve().parent.parent
ROUNDS = 100


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
    argv = [sys.executable, "-m", "bench.bench_roundtrip", "--echo", server.url, echo.user_id]
    argv += [echo.access_token, echo.device_id, str(folder / "echo-store")]
    return spawn(argv, folder / "echo.log")


# ---------------------------------------------------------------------------- the benchmark


async def measure(rounds: int = ROUNDS) -> dict[str, float | int | str]:
    async with homeserver() as (server, folder):
        bot = BotProcess(server, folder)
        await bot.prepare()
        echo = await register(server, "echo")
        bot.start()
        echo_process = start_echo(server, echo, folder)
        sender = await user(server, folder, "sender")
        try:
            bot_room = await greeted_room(sender, bot.user_id, timeout=60)
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
        **timings("roundtrip_bot", bot_ms),
        **timings("roundtrip_echo", echo_ms),
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
    print_figures(run(args.rounds))


if __name__ == "__main__":
    main()
