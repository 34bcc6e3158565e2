"""Load: 20 users in 10 rooms send 1,000 mixed commands as fast as the homeserver accepts them.

The bot runs as its own process. Every user fires its share of commands back to back (each send
waits only for the homeserver's 200, never for the bot); latency is measured from the send until
the sender's own sync shows the answer (a reply, or the ✅ reaction ``!feedback`` answers with).
Afterwards the homeserver is asked how many answers each command got: all must be exactly one.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
from nio import Event

from bench.helpers import BotProcess, from_sender, homeserver, percentile, print_figures, user
from bot.dev.client import DevUser

USERS = 20
ROOMS = 10
COMMANDS = 1000
REGISTRY = Path(__file__).resolve().parent.parent / "commands"


def command_mix() -> list[str]:
    """Everyday commands; feature commands only where the feature exists in this checkout."""
    mix = ["!ping", "!hilfe", "!hilfe ping", "!gibtsnicht"]
    present = {p.stem for p in REGISTRY.glob("*.py")}
    if "angebot" in present:
        mix += ["!angebot weiterbildung", "!angebot datenschutz"]
    if "umfrage" in present and "abstimmen" in present:
        mix += ["!abstimmen 1", "!abstimmen 2"]
    if "feedback" in present:
        mix += ["!feedback 4/5 Der Impuls heute war hilfreich."]
    return mix


def from_any(sender: str):  # type: ignore[no-untyped-def]
    return lambda event: getattr(event, "sender", None) == sender


def answered_event(event: Any) -> str | None:
    """The command an event of the bot answers: via m.in_reply_to or as a reaction."""
    content = (getattr(event, "source", None) or {}).get("content") or {}
    relates = content.get("m.relates_to") or {}
    if not isinstance(relates, dict):
        return None
    reply = relates.get("m.in_reply_to") or {}
    if isinstance(reply, dict) and reply.get("event_id"):
        return str(reply["event_id"])
    if relates.get("rel_type") == "m.annotation":
        return str(relates.get("event_id"))
    return None


class Tracker:
    """Arrival times of the bot's answers, per sender. An answer can arrive through the sync
    before the sender's own send call has returned, so arrivals are kept for any event."""

    def __init__(self, bot_id: str) -> None:
        self.bot_id = bot_id
        self.sent: dict[str, tuple[str, float]] = {}  # command event → (sender, t0)
        self.arrived: dict[tuple[str, str], float] = {}  # (watcher, command event) → t1

    def watch(self, client: DevUser) -> None:
        def on_event(room: Any, event: Event) -> None:
            if getattr(event, "sender", None) != self.bot_id:
                return
            target = answered_event(event)
            if target is not None:
                self.arrived.setdefault((client.user_id, target), time.perf_counter())

        client.client.add_event_callback(on_event, Event)

    def latency_ms(self, event_id: str) -> float | None:
        sender, started = self.sent[event_id]
        arrived = self.arrived.get((sender, event_id))
        return None if arrived is None else (arrived - started) * 1000

    def missing(self) -> int:
        return sum(1 for e in self.sent if self.latency_ms(e) is None)

    async def wait_all(self, timeout: float) -> float:
        deadline = time.perf_counter() + timeout
        while self.missing() and time.perf_counter() < deadline:  # noqa: ASYNC110 - polls a count
            await asyncio.sleep(0.05)
        return max((t for (_, e), t in self.arrived.items() if e in self.sent), default=deadline)


async def fire(client: DevUser, room: str, bodies: list[str], tracker: Tracker) -> None:
    for body in bodies:
        started = time.perf_counter()
        event_id = await client.say(room, body)
        tracker.sent[event_id] = (client.user_id, started)


async def answers_on_server(client: DevUser, room_id: str, bot_id: str) -> Counter[str]:
    url = f"{client.client.homeserver}/_matrix/client/v3/rooms/{room_id}/messages"
    headers = {"Authorization": f"Bearer {client.client.access_token}"}
    counts: Counter[str] = Counter()
    params = {"dir": "b", "limit": "1000"}
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(url, params=params, headers=headers) as response:
                page = await response.json()
            for raw in page.get("chunk", []):
                if raw.get("sender") == bot_id:
                    target = answered_event(type("E", (), {"source": raw})())
                    if target:
                        counts[target] += 1
            if not page.get("chunk") or not page.get("end"):
                return counts
            params["from"] = page["end"]


async def measure(
    users: int = USERS, rooms: int = ROOMS, commands: int = COMMANDS
) -> dict[str, float | int | str]:
    mix = command_mix()
    rng = random.Random(7)
    async with homeserver() as (server, folder):
        bot = BotProcess(server, folder, bot={"greeting": True})
        await bot.prepare()
        bot.start()
        people = [await user(server, folder, f"user{n}") for n in range(users)]
        try:
            room_ids = []
            for index in range(rooms):
                owner, guest = people[2 * index], people[2 * index + 1]
                room = await owner.create_room(invite=[bot.user_id, guest.user_id], encrypted=False)
                await guest.wait_until(lambda r=room, g=guest: r in g.client.rooms, timeout=60)
                await owner.wait_for(room, from_sender(bot.user_id), timeout=60)  # greeting
                if "!abstimmen 1" in mix:  # a poll to vote in; it is answered by a poll start
                    mark = len(owner.events)
                    await owner.say(
                        room, '!umfrage "Welcher Termin passt?" "Dienstag" "Donnerstag"'
                    )
                    await owner.wait_for(room, from_any(bot.user_id), timeout=60, since=mark)
                room_ids.append(room)
            await asyncio.sleep(2)
            rss_before = bot.rss_mb()
            tracker = Tracker(bot.user_id)
            for person in people:
                tracker.watch(person)
            per_user = commands // users
            plans = [[rng.choice(mix) for _ in range(per_user)] for _ in people]
            started = time.perf_counter()
            await asyncio.gather(
                *[
                    fire(person, room_ids[i // 2], plan, tracker)
                    for i, (person, plan) in enumerate(zip(people, plans, strict=True))
                ]
            )
            send_s = time.perf_counter() - started
            last_answer = await tracker.wait_all(timeout=300)
            total_s = last_answer - started
            await asyncio.sleep(3)  # a duplicate would arrive now
            rss_after = bot.rss_mb()
            counts: Counter[str] = Counter()
            for index, room in enumerate(room_ids):
                counts.update(await answers_on_server(people[2 * index], room, bot.user_id))
        finally:
            for person in people:
                await person.close()
            bot.stop()
    once = sum(1 for e in tracker.sent if counts[e] == 1)
    latencies = [ms for e in tracker.sent if (ms := tracker.latency_ms(e)) is not None]
    return {
        "load_users": users,
        "load_rooms": rooms,
        "load_commands": len(tracker.sent),
        "load_mix": " ".join(sorted({m.split()[0] for m in mix})),
        "load_answered_exactly_once": once,
        "load_unanswered": sum(1 for e in tracker.sent if counts[e] == 0),
        "load_answered_twice_or_more": sum(1 for e in tracker.sent if counts[e] > 1),
        "load_p50_ms": round(statistics.median(latencies), 1),
        "load_p95_ms": round(percentile(latencies, 0.95), 1),
        "load_send_rate_per_s": round(len(tracker.sent) / send_s, 1),
        "load_commands_per_s": round(len(tracker.sent) / total_s, 1),
        "load_bot_rss_before_mb": round(rss_before, 1),
        "load_bot_rss_after_mb": round(rss_after, 1),
    }


def run(users: int = USERS, rooms: int = ROOMS, commands: int = COMMANDS) -> dict:
    return asyncio.run(measure(users, rooms, commands))


if __name__ == "__main__":
    print_figures(run())
