"""``!ping`` across federation vs. ``!ping`` on the bot's own homeserver, in one run.

Two Synapses federate on loopback (bot.dev.server.federating_pair: TLS federation listeners,
server names with ports). The bot runs as its own process on the first server. One person on the
same server and one on the other each have a room with the bot; they take turns asking ``!ping``,
alternating who goes first, and the time is taken from the send until the sender's own sync shows
the reply. The federated path adds two server-to-server hops (the command to the bot's server, the
answer back), which is what the difference measures.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

from bench.helpers import BotProcess, greeted_room, print_figures, timed_ask, timings, user
from bot.dev.server import federating_pair

ROUNDS = 50


async def measure(rounds: int = ROUNDS) -> dict[str, float | int | str]:
    with tempfile.TemporaryDirectory(prefix="impulsbot-bench-fed-") as tmp:
        folder = Path(tmp)
        home, remote = federating_pair(folder)
        await asyncio.gather(home.start(), remote.start())
        bot = BotProcess(
            home, folder, access={"invite_allowlist": [home.server_name, remote.server_name]}
        )
        try:
            await bot.prepare()
            bot.start()
            local = await user(home, folder, "local")
            far = await user(remote, folder, "far")
            try:
                rooms = {}
                for name, sender in (("local", local), ("federated", far)):
                    rooms[name] = (sender, await greeted_room(sender, bot.user_id, timeout=120))
                for _ in range(5):  # warm-up, not counted
                    for sender, room in rooms.values():
                        await timed_ask(sender, room, "!ping")
                times: dict[str, list[float]] = {"local": [], "federated": []}
                for index in range(rounds):
                    order = list(rooms.items())
                    for name, (sender, room) in order if index % 2 == 0 else reversed(order):
                        times[name].append(await timed_ask(sender, room, "!ping"))
            finally:
                await local.close()
                await far.close()
        finally:
            bot.stop()
            await asyncio.gather(home.stop(), remote.stop())
    local_ms, fed_ms = times["local"], times["federated"]
    local_median, fed_median = statistics.median(local_ms), statistics.median(fed_ms)
    return {
        "federation_rounds": rounds,
        **timings("federation_local", local_ms),
        **timings("federation_remote", fed_ms),
        "federation_extra_median_ms": round(fed_median - local_median, 1),
        "federation_ratio_median": round(fed_median / local_median, 2),
    }


def run(rounds: int = ROUNDS) -> dict[str, float | int | str]:
    return asyncio.run(measure(rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    print_figures(run(parser.parse_args().rounds))


if __name__ == "__main__":
    main()
