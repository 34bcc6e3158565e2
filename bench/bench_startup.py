"""Start-up with the bot in 300 rooms: time to the first processed command, and memory.

Rooms are created through the API with bounded concurrency and the bot joins them with its own
token before it ever starts (so nothing is greeted). Two starts are measured, each from the
moment the process is launched until the sender's sync shows the answer to a ``!ping``:

- cold: first start ever (password login, device keys, initial sync of all rooms with the sync
  filter and lazy-loaded members); the sender repeats ``!ping`` every 0.25 s until answered,
  since the bot only answers what was sent after it first saw a room;
- warm: a restart with the stored session and sync token; the ``!ping`` waits before launch.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp

from bench.helpers import BotProcess, homeserver, print_figures, user
from bot.dev.client import DevUser

ROOMS = 300
TARGET_S = 5.0
TARGET_MB = 150.0
CONCURRENCY = 8


async def create_rooms(url: str, token: str, count: int, invite: list[str]) -> list[str]:
    """Plain rooms with a couple of messages each, ``CONCURRENCY`` requests at a time."""
    headers = {"Authorization": f"Bearer {token}"}
    limit = asyncio.Semaphore(CONCURRENCY)
    async with aiohttp.ClientSession(headers=headers) as session:

        async def one(index: int) -> str:
            async with limit:
                body = {"name": f"Fachgruppe {index}", "preset": "private_chat", "invite": invite}
                async with session.post(f"{url}/_matrix/client/v3/createRoom", json=body) as r:
                    room_id = str((await r.json())["room_id"])
                for n in range(2):
                    content = {"msgtype": "m.text", "body": f"Nachricht {n} in Raum {index}"}
                    path = f"{url}/_matrix/client/v3/rooms/{room_id}/send/m.room.message/m{n}"
                    async with session.put(path, json=content) as r:
                        await r.read()
                return room_id

        return list(await asyncio.gather(*[one(i) for i in range(count)]))


async def join_all(url: str, token: str, room_ids: list[str]) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    limit = asyncio.Semaphore(CONCURRENCY)
    async with aiohttp.ClientSession(headers=headers) as session:

        async def one(room_id: str) -> None:
            async with limit, session.post(f"{url}/_matrix/client/v3/join/{room_id}") as r:
                if r.status != 200:
                    raise RuntimeError(f"join failed: {await r.text()}")

        await asyncio.gather(*[one(r) for r in room_ids])


async def first_answer(bot: BotProcess, sender: DevUser, room: str, repeat: bool) -> float:
    """Seconds from process launch until the sender sees the bot's first answer."""
    bot.start()
    sent: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if repeat or not sent:
            sent.append(await sender.say(room, "!ping"))
        if any(sender.replies(room, e) for e in sent):
            return time.monotonic() - bot.started_at
        await asyncio.sleep(0.25 if repeat else 0.02)
    raise TimeoutError("the bot did not answer within 120 s")


async def measure(rooms: int = ROOMS) -> dict[str, Any]:
    async with homeserver() as (server, folder):
        bot = BotProcess(server, folder, bot={"greeting": False})
        bot_user = await bot.prepare()
        sender = await user(server, folder, "sender")
        try:
            started = time.monotonic()
            room_ids = await create_rooms(
                server.url, sender.user.access_token, rooms, [bot.user_id]
            )
            await join_all(server.url, bot_user.access_token, room_ids)
            setup_s = time.monotonic() - started
            probe = room_ids[0]
            await sender.wait_until(lambda: probe in sender.client.rooms, timeout=60)

            cold_s = await first_answer(bot, sender, probe, repeat=True)
            cold_rss = bot.rss_mb()
            await asyncio.sleep(5)
            settled_rss = bot.rss_mb()
            bot.stop()

            pending = await sender.say(probe, "!ping")
            bot.start()
            deadline = time.monotonic() + 120
            while not sender.replies(probe, pending):
                if time.monotonic() > deadline:
                    raise TimeoutError("no answer after the warm start")
                await asyncio.sleep(0.02)
            warm_s = time.monotonic() - bot.started_at
            warm_rss = bot.rss_mb()
        finally:
            await sender.close()
            bot.stop()
    return {
        "startup_rooms": rooms,
        "startup_room_setup_s": round(setup_s, 1),
        "startup_cold_first_command_s": round(cold_s, 2),
        "startup_warm_first_command_s": round(warm_s, 2),
        "startup_rss_cold_mb": round(cold_rss, 1),
        "startup_rss_cold_settled_mb": round(settled_rss, 1),
        "startup_rss_warm_mb": round(warm_rss, 1),
        "startup_target": f"< {TARGET_S:.0f} s, < {TARGET_MB:.0f} MB",
    }


def run(rooms: int = ROOMS) -> dict[str, Any]:
    return asyncio.run(measure(rooms))


if __name__ == "__main__":
    print_figures(run())
