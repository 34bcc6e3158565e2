"""Junk through the real homeserver: every command spelling gets an answer, whatever the input.

Walks the registry (German name, English name, aliases, and the sub-commands the help texts of
both languages show) and sends each with a 64 KB argument, control characters, huge numbers and
user HTML, in a plain and an encrypted room. Counts the commands that got an answer (a reply, a
reaction, or a message in the room before the next command) and checks that no answer carries
the user's HTML unescaped. tests/test_fuzz_homeserver.py runs a seeded sample of the same cases
in CI; ``python -m bench.bench_fuzz_homeserver`` (or ``bench.run_all --only fuzz``) runs them all.
"""

from __future__ import annotations

import asyncio
import random
import re
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from nio import MegolmEvent

from bot.dev.client import DevUser, content_of, replies_to
from bot.events import event_type, relation
from bot.matrix.outgoing import CONTENT_BUDGET, Target
from bot.registry import Registry
from bot.text.i18n import LANGUAGES, Texts
from bot.wiring import registry

MARKER = '<b class="fuzz">'  # user HTML: must never reach an answer's formatted_body as is
HTML = f"{MARKER}<script>alert(1)</script>&amp;<img src=x onerror=alert(2)>"
CONTROLS = "".join(chr(c) for c in range(1, 32) if c != 10) + "\u202e\u200b\x7f"
NUMBERS = "99999999999999999999 1 -1 0 " + "9" * 5_000 + " 1e999 #99999999999999999999"
FILLER = "Wort „zitat“ | <i>x</i> \u202e 5/5 ä 99999999999999999999 "
KINDS = ("huge", "controls", "numbers", "html")
ANSWER_TIMEOUT_S = 30.0
ROOMS_PER_KIND = 4


def spellings_with_subcommands(registry: Registry) -> list[str]:
    """``!name`` and ``!name sub`` for every spelling and every sub-command the help texts show."""
    found: set[str] = set()
    for command in registry:
        subs = {""}
        for lang in LANGUAGES:
            texts = Texts(lang)
            shown = f"{texts.raw(command.usage_key)}\n{texts.raw(command.help_key)}"
            for spelling in command.spellings:
                pattern = r"\{prefix\}" + re.escape(spelling) + r" ([^\s`<>\[\]|{}]+)"
                subs.update(m.group(1) for m in re.finditer(pattern, shown))
        found.update(f"{s} {sub}".strip() for s in command.spellings for sub in subs)
    return sorted(found)


def payload(kind: str, head: str, target: Target) -> str:
    """A message body: ``!head`` plus junk of one kind, always ending in user HTML."""
    if kind == "controls":
        return f"!{head} {CONTROLS} {MARKER}"
    if kind == "numbers":
        return f"!{head} {NUMBERS} {MARKER}"
    if kind == "html":
        return f"!{head} {HTML} {MARKER}"
    # The largest argument the homeserver takes from the user in this room (~64 KB).
    body = f"!{head} " + FILLER * (64 * 1024 // len(FILLER))
    low, high = 0, len(body)
    while low < high:
        middle = (low + high + 1) // 2
        content = {"msgtype": "m.text", "body": body[:middle] + f" {MARKER}"}
        if target.size("m.room.message", content) <= CONTENT_BUDGET:
            low = middle
        else:
            high = middle - 1
    return body[:low] + f" {MARKER}"


def cases(registry: Registry, sample: int | None = None, seed: int = 19) -> list[tuple[str, str]]:
    """(head, kind) pairs: all of them, or a seeded sample that still covers every kind."""
    everything = [(head, kind) for head in spellings_with_subcommands(registry) for kind in KINDS]
    if sample is None or sample >= len(everything):
        return everything
    chosen = random.Random(seed).sample(everything, sample)
    for kind in KINDS:  # the sample always has every kind of junk
        if not any(k == kind for _, k in chosen):
            chosen[KINDS.index(kind)] = next(c for c in everything if c[1] == kind)
    return chosen


@dataclass
class FuzzFigures:
    sent: int = 0
    answered: int = 0
    unanswered: list[str] = field(default_factory=list)
    unescaped: list[str] = field(default_factory=list)
    max_event_bytes: int = 0

    def add(self, other: FuzzFigures) -> None:
        self.sent += other.sent
        self.answered += other.answered
        self.unanswered += other.unanswered
        self.unescaped += other.unescaped
        self.max_event_bytes = max(self.max_event_bytes, other.max_event_bytes)


def _answers(user: DevUser, room: str, bot_id: str, command_id: str, since: int) -> list[Any]:
    """The bot's events since the command: replies to it, reactions on it, plain messages."""
    found = []
    for event in user.find(room, lambda e: getattr(e, "sender", None) == bot_id, since):
        if isinstance(event, MegolmEvent):
            continue
        related = relation(content_of(event))
        if replies_to(event) == command_id or related.event_id == command_id:
            found.append(event)
        elif related.reply_to is None and related.event_id is None:
            found.append(event)  # e.g. a direct-chat answer, which is no reply
    return found


async def fuzz_room(
    user: DevUser, bot_id: str, room: str, encrypted: bool, chosen: list[tuple[str, str]]
) -> FuzzFigures:
    """Send each case and wait for its answer before the next (answers are attributed in order)."""
    figures = FuzzFigures()
    target = Target(room, encrypted, device_id="ABCDEFGHIJ")
    for head, kind in chosen:
        body = payload(kind, head, target)
        label = f"!{head} [{kind}, {'encrypted' if encrypted else 'plain'}]"
        since = len(user.events)
        command_id = await user.say(room, body)
        figures.sent += 1
        if figures.sent % 50 == 0:
            print(f"{room[:12]}: {figures.sent}/{len(chosen)} sent", file=sys.stderr, flush=True)
        try:
            await user.wait_until(
                lambda: bool(_answers(user, room, bot_id, command_id, since)),  # noqa: B023
                timeout=ANSWER_TIMEOUT_S,
            )
        except TimeoutError:
            figures.unanswered.append(label)
            continue
        await asyncio.sleep(0.2)  # a split answer's further parts
        figures.answered += 1
        for event in _answers(user, room, bot_id, command_id, since):
            content = content_of(event)
            html = content.get("formatted_body", "")
            if isinstance(html, str) and (MARKER in html or "<script>" in html):
                figures.unescaped.append(label)
            size = target.size(event_type(event) or "m.room.message", content)
            figures.max_event_bytes = max(figures.max_event_bytes, size)
    return figures


async def measure(
    sample: int | None = None, rooms_per_kind: int = ROOMS_PER_KIND
) -> dict[str, Any]:
    """Every case in a plain and in an encrypted room; each kind's cases spread over a few
    rooms that run side by side (within a room, one command at a time)."""
    from bench.helpers import BotProcess, homeserver, user

    chosen = cases(registry(), sample)
    total = FuzzFigures()
    started = time.monotonic()
    async with homeserver() as (server, folder):
        bot = BotProcess(server, folder)
        await bot.prepare()
        bot.start()
        sender = await user(server, folder, "fuzzer")
        try:
            runs = []
            for encrypted in (False, True):
                for share in range(rooms_per_kind):
                    room = await sender.create_room(invite=[bot.user_id], encrypted=encrypted)
                    await sender.wait_for(
                        room, lambda e: getattr(e, "sender", "") == bot.user_id, 120
                    )
                    part = chosen[share::rooms_per_kind]
                    runs.append(fuzz_room(sender, bot.user_id, room, encrypted, part))
            for figures in await asyncio.gather(*runs):
                total.add(figures)
        finally:
            await sender.close()
            bot.stop()
    return {
        "fuzz_hs_commands_sent": total.sent,
        "fuzz_hs_answered": total.answered,
        "fuzz_hs_unanswered": len(total.unanswered),
        "fuzz_hs_unescaped": len(total.unescaped),
        "fuzz_hs_max_event_bytes": total.max_event_bytes,
        "fuzz_hs_limit_bytes": CONTENT_BUDGET,
        "fuzz_hs_duration_s": round(time.monotonic() - started, 1),
        "fuzz_hs_unanswered_list": "; ".join(total.unanswered[:20]) or "-",
    }


def run(sample: int | None = None) -> dict[str, Any]:
    return asyncio.run(measure(sample))


if __name__ == "__main__":
    from bench.helpers import print_figures

    print_figures(run())
