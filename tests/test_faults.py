"""Fault injection against a real Synapse: outages, flaky proxies, kills, locked databases.

Every check of "answered exactly once" asks the homeserver itself (``/messages``), not a client's
sync view, so a duplicate that a client might have collapsed would still be counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.config import load_config
from bot.dev.client import DevUser, body_of
from bot.dev.server import LocalSynapse
from tests.conftest import (
    PLAIN_AND_ENCRYPTED,
    REPO,
    RunningBot,
    UserFactory,
    room_with_bot,
    unique,
    write_config,
)
from tests.faultproxy import FaultProxy, is_send
from tests.scenario import ChatFactory

pytestmark = [pytest.mark.integration, pytest.mark.faults]


# ---------------------------------------------------------------------------- helpers


async def server_replies(user: DevUser, room_id: str) -> Counter[str]:
    """How many bot replies the homeserver holds per replied-to event (paging back fully)."""
    url = f"{user.client.homeserver}/_matrix/client/v3/rooms/{room_id}/messages"
    headers = {"Authorization": f"Bearer {user.client.access_token}"}
    counts: Counter[str] = Counter()
    params: dict[str, str] = {"dir": "b", "limit": "500"}
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(url, params=params, headers=headers) as response:
                page = await response.json()
            for event in page.get("chunk", []):
                if event.get("sender") == user.user_id:
                    continue
                relates = (event.get("content") or {}).get("m.relates_to") or {}
                replied = (relates.get("m.in_reply_to") or {}).get("event_id")
                if replied:
                    counts[replied] += 1
            if not page.get("end") or not page.get("chunk"):
                return counts
            params["from"] = page["end"]


async def wait_answered(
    user: DevUser, room_id: str, commands: list[str], timeout: float
) -> Counter[str]:
    """Poll the server until every command has a reply; then settle and return the counts."""
    deadline = time.monotonic() + timeout
    while True:
        counts = await server_replies(user, room_id)
        missing = [c for c in commands if counts[c] == 0]
        if not missing:
            break
        if time.monotonic() > deadline:
            pytest.fail(f"{len(missing)} of {len(commands)} commands never answered")
        await asyncio.sleep(0.5)
    await asyncio.sleep(1.5)  # a duplicate would come right after the first answer
    return await server_replies(user, room_id)


async def raw_send(user: DevUser, room_id: str, event_type: str, content: Any) -> str | None:
    """Send exactly this content (nio's own checks would refuse some of the junk we need).

    None when the homeserver itself refuses it (Synapse insists on a ``body`` in messages);
    such events can still arrive over federation, which the unit fuzz tests cover.
    """
    txn = secrets.token_hex(8)
    url = f"{user.client.homeserver}/_matrix/client/v3/rooms/{room_id}/send/{event_type}/{txn}"
    headers = {"Authorization": f"Bearer {user.client.access_token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.put(url, json=content, headers=headers) as response,
    ):
        data = await response.json()
        if response.status == 400:
            return None
        assert response.status == 200, data
        return str(data["event_id"])


def assert_exactly_once(counts: Counter[str], commands: list[str]) -> None:
    wrong = {c: counts[c] for c in commands if counts[c] != 1}
    assert not wrong, f"commands not answered exactly once: {wrong}"


async def new_user(synapse: LocalSynapse, folder: Path, name: str) -> DevUser:
    localpart = unique(name)
    registered = await synapse.register(localpart, secrets.token_urlsafe(12))
    user = DevUser(synapse.url, registered, folder / f"client-{localpart}")
    await user.start()
    return user


async def new_bot_config(synapse: LocalSynapse, folder: Path, **sections: dict[str, Any]) -> Path:
    localpart = unique("bot")
    password = secrets.token_urlsafe(12)
    await synapse.register(localpart, password)
    home = folder / localpart
    home.mkdir(parents=True)
    return write_config(home, synapse, synapse.user_id(localpart), password, **sections)


# ---------------------------------------------------------------------------- homeserver outage


async def test_homeserver_down_20s_commands_answered_once(tmp_path: Path) -> None:
    server = LocalSynapse(tmp_path / "hs")
    await server.start()
    bot = RunningBot(load_config(await new_bot_config(server, tmp_path)))
    user: DevUser | None = None
    try:
        await bot.start()
        user = await new_user(server, tmp_path, "alice")
        room = await room_with_bot(user, bot, encrypted=False)
        answered_before = [await user.ask(room, "!ping") for _ in range(2)]
        # Sent right before the outage: the bot may see them only after it reconnects.
        racing = [await user.say(room, f"!ping {n}") for n in range(3)]
        await server.stop()
        await asyncio.sleep(20)
        await server.start()
        # Sent while the bot is still in its reconnect back-off: the offline window.
        offline = [await user.say(room, "!hilfe ping") for _ in range(3)]
        commands = [await _replied_to(user, room, e) for e in answered_before] + racing + offline
        counts = await wait_answered(user, room, commands, timeout=60)
        assert_exactly_once(counts, commands)
    finally:
        if user is not None:
            await user.close()
        await bot.stop()
        await server.stop()


async def _replied_to(user: DevUser, room: str, reply: Any) -> str:
    relates = reply.source["content"]["m.relates_to"]
    return str(relates["m.in_reply_to"]["event_id"])


# ---------------------------------------------------------------------------- flaky proxy


def send_or_sync(method: str, path: str) -> bool:
    return is_send(method, path) or path.endswith("/sync")


@pytest.mark.parametrize(
    ("faults", "matches", "encrypted"),
    [
        (["429", None, "502", None, "429", "429", None], is_send, False),
        (["502-after", None, "502", "502-after", None], is_send, False),
        (["502", None, "429", None, "502-after", None, None], send_or_sync, False),
        (["429", None, "502-after", None, "502", None], send_or_sync, True),
    ],
    ids=["429-and-502", "502-after-delivery", "sync-too", "encrypted-room"],
)
async def test_proxy_429_and_502_nothing_lost_nothing_doubled(
    make_chat: ChatFactory,
    synapse: LocalSynapse,
    faults: list[str | None],
    matches: Any,
    encrypted: bool,
) -> None:
    async with FaultProxy(synapse.url, faults, matches=matches, retry_after_ms=150) as proxy:
        bot, alice, room = await make_chat(encrypted, matrix={"homeserver": proxy.url})
        commands = [await alice.say(room, f"!ping {n}") for n in range(12)]
        commands += [await alice.say(room, "!hilfe") for _ in range(3)]
        counts = await wait_answered(alice, room, commands, timeout=60)
        await bot.stop()  # before the proxy goes away under it
        assert_exactly_once(counts, commands)
        assert sum(proxy.injected.values()) >= len(commands) // 2, proxy.injected


# ---------------------------------------------------------------------------- SIGKILL

# Runs the bot like `impulsbot run`, but SIGKILLs itself on the KILL_AT-th call of the store method
# KILL_METHOD ("module:Class.method"), before that call: e.g. right after a reply or post went
# out but before it was recorded.
KILL_BEFORE = """
import importlib, os, signal, sys
module, _, qualified = os.environ["KILL_METHOD"].partition(":")
owner_name, _, method = qualified.partition(".")
owner = getattr(importlib.import_module(module), owner_name)
limit = int(os.environ["KILL_AT"])
original = getattr(owner, method)
seen = 0
async def die_at_limit(self, *args, **kwargs):
    global seen
    seen += 1
    if seen >= limit:
        os.kill(os.getpid(), signal.SIGKILL)
    return await original(self, *args, **kwargs)
setattr(owner, method, die_at_limit)
from bot.cli.main import main
sys.exit(main(["run", "--config", sys.argv[1]]))
"""
MARK_HANDLED = "bot.store.core:CoreStore.mark_handled"


class BotProcess:
    def __init__(self, config: Path) -> None:
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None
        self.log = config.parent / "bot.log"

    def start(self, kill_at: int | None = None, method: str = MARK_HANDLED) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        if kill_at is None:
            argv = [sys.executable, "-m", "bot.cli", "run", "--config", str(self.config)]
        else:
            env.update(KILL_AT=str(kill_at), KILL_METHOD=method)
            argv = [sys.executable, "-c", KILL_BEFORE, str(self.config)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(argv, cwd=REPO, env=env, stdout=log, stderr=log)

    async def start_in_room(self, user: DevUser) -> str:
        """Starts the bot; ``user`` opens a room with it, returned after the greeting."""
        self.start()
        bot_id = load_config(self.config).matrix.user_id
        room = await user.create_room(invite=[bot_id], encrypted=False)
        await user.wait_for(room, lambda e: "Impulsbot" in body_of(e), timeout=30)
        return room

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    async def wait_exit(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while self.process is not None and self.process.poll() is None:
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.1)
        return None if self.process is None else self.process.returncode

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


KillableChat = tuple[BotProcess, DevUser, str]


@pytest_asyncio.fixture
async def killable_chat(
    synapse: LocalSynapse, make_user: UserFactory, tmp_path: Path
) -> AsyncIterator[KillableChat]:
    """The bot as its own process (so it can be SIGKILLed), a person and their room with it;
    the bot is stopped after the test."""
    bot = BotProcess(await new_bot_config(synapse, tmp_path))
    alice = await make_user("alice")
    try:
        yield bot, alice, await bot.start_in_room(alice)
    finally:
        bot.stop()


def unmarked_replies(database: Path, counts: Counter[str]) -> int:
    """Commands the server shows as answered that the bot had not recorded as handled."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        handled = {row[0] for row in db.execute("SELECT event_id FROM handled_events")}
    return sum(1 for event_id, n in counts.items() if n and event_id not in handled)


async def test_sigkill_between_reply_and_bookkeeping_answers_once(
    killable_chat: KillableChat,
) -> None:
    bot, alice, room = killable_chat
    database = load_config(bot.config).storage.database
    bot.stop()

    # Round 1: deterministic — die right after the 3rd reply, before recording it.
    first = [await alice.say(room, f"!ping a{n}") for n in range(6)]
    bot.start(kill_at=3)
    assert await bot.wait_exit(30) == -signal.SIGKILL
    counts = await server_replies(alice, room)
    caught_in_window = unmarked_replies(database, counts)
    assert caught_in_window >= 1  # the kill really hit the gap we want to test

    # Rounds 2–3: SIGKILL at random moments while a burst is being answered.
    rng = random.Random(20261124)
    burst: list[str] = []
    for round_no in range(2):
        bot.start()
        await asyncio.sleep(rng.uniform(1.0, 2.0))
        for n in range(8):
            burst.append(await alice.say(room, f"!ping r{round_no}-{n}"))
            if n == 4:
                await asyncio.sleep(rng.uniform(0.0, 0.3))
                bot.kill()
        caught_in_window += unmarked_replies(database, await server_replies(alice, room))

    bot.start()
    commands = first + burst
    counts = await wait_answered(alice, room, commands, timeout=60)
    assert_exactly_once(counts, commands)
    with contextlib.closing(sqlite3.connect(database)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    print(f"\ncommands answered but unrecorded at a kill: {caught_in_window}")


# ---------------------------------------------------------------------------- locked database

HOLD_EXCLUSIVE = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
db.execute("INSERT INTO kv (key, value) VALUES ('faults.lock', 'held')")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
"""


async def test_database_locked_2s_commands_wait_and_succeed(make_chat: ChatFactory) -> None:
    bot, alice, room = await make_chat()
    database = bot.config.storage.database
    locker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLD_EXCLUSIVE, str(database), "2", stdout=subprocess.PIPE
    )
    assert locker.stdout is not None
    assert (await asyncio.wait_for(locker.stdout.readline(), 10)).strip() == b"locked"
    locked_at = time.monotonic()
    commands = [await alice.say(room, "!ping") for _ in range(4)]
    commands.append(await alice.say(room, "!sprache en"))  # a handler that writes
    commands.append(await alice.say(room, "!ping"))
    counts = await wait_answered(alice, room, commands, timeout=30)
    assert await locker.wait() == 0
    assert time.monotonic() - locked_at >= 2
    assert_exactly_once(counts, commands)
    english = await alice.ask(room, "!gibtsnicht")
    assert "I don't know" in body_of(english)  # the language change was stored
    with contextlib.closing(sqlite3.connect(database)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        handled = {r[0] for r in db.execute("SELECT event_id FROM handled_events")}
    assert set(commands) <= handled


# ---------------------------------------------------------------------------- malformed events


async def test_malformed_events_are_ignored_safely(
    make_chat: ChatFactory, caplog: pytest.LogCaptureFixture
) -> None:
    _, alice, room = await make_chat()
    command = await alice.say(room, "!ping")
    await alice.wait_reply(room, command)
    caplog.set_level(logging.WARNING, logger="bot")
    junk = [
        {"msgtype": "m.text"},  # no body
        {"msgtype": "m.text", "body": 42},
        {"msgtype": "m.text", "body": ["!ping"]},
        {"msgtype": "m.text", "body": None},
        {"msgtype": 7, "body": "!ping"},
        {"msgtype": "org.example.custom", "body": "!ping"},
        {"body": "!ping"},  # no msgtype
        {"msgtype": "m.text", "body": "!ping", "m.relates_to": "nonsense"},
        {"msgtype": "m.text", "body": "!ping", "m.relates_to": {"m.in_reply_to": "x"}},
        {"msgtype": "m.text", "body": "!ping", "format": 1, "formatted_body": {"a": 1}},
        {  # an edit that turns a greeting into a command must not run it
            "msgtype": "m.text",
            "body": "* !ping",
            "m.new_content": {"msgtype": "m.text", "body": "!ping"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": command},
        },
    ]
    sent = [await raw_send(alice, room, "m.room.message", content) for content in junk]
    await raw_send(alice, room, "m.reaction", {"m.relates_to": {"rel_type": "m.annotation"}})
    await raw_send(alice, room, "m.reaction", {"m.relates_to": "x"})
    await raw_send(alice, room, "m.poll.response", {"m.relates_to": {"event_id": 5}})
    await raw_send(alice, room, "org.matrix.msc3381.poll.end", {"m.relates_to": []})
    await raw_send(alice, room, "org.example.unknown", {"body": "!ping"})
    await alice.client.room_redact(room, command, reason="!ping")
    accepted = [e for e in sent if e is not None]
    await alice.client.room_redact(room, accepted[0])
    # From here on, only raw requests: DevUser's helpers are not built for junk relations.
    marker = await raw_send(alice, room, "m.room.message", {"msgtype": "m.text", "body": "!ping"})
    assert marker is not None
    counts = await wait_answered(alice, room, [marker], timeout=30)
    never_commands = [e for e in sent[:7] + sent[-1:] if e]  # no str body, not m.text, an edit
    assert len(never_commands) >= 2  # Synapse refuses a string-less body itself
    assert [counts[e] for e in never_commands] == [0] * len(never_commands)
    assert all(n <= 1 for n in counts.values()), counts  # odd extras: answered at most once
    # The core must not trip; feature listeners are fuzzed one by one in test_fuzz.py.
    core_errors = [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR
        and r.name.startswith("bot")  # not asyncio's notes on earlier tests' leftover tasks
        and not _in_feature_listener(r)
    ]
    assert not core_errors, [r.getMessage() for r in core_errors]


def _in_feature_listener(record: logging.LogRecord) -> bool:
    """A feature's listener failing is contained and logged by the core as such (bot/app.py)."""
    return record.getMessage().startswith("listener of ")


POLL_ENDS = {"org.matrix.msc3381.poll.end", "m.poll.end"}
POLL_STARTS = {"org.matrix.msc3381.poll.start", "m.poll.start"}


async def bot_events(user: DevUser, room_id: str, bot_id: str) -> list[dict[str, Any]]:
    url = f"{user.client.homeserver}/_matrix/client/v3/rooms/{room_id}/messages"
    headers = {"Authorization": f"Bearer {user.client.access_token}"}
    params = {"dir": "b", "limit": "1000"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, params=params, headers=headers) as response,
    ):
        page = await response.json()
    return [e for e in page.get("chunk", []) if e.get("sender") == bot_id]


def impulse_posts(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Top-level m.text messages of the bot: impulses (greetings and answers are notices)."""
    return [
        e
        for e in events
        if e.get("type") == "m.room.message"
        and e["content"].get("msgtype") == "m.text"
        and "m.relates_to" not in e["content"]
    ]


async def test_sigkill_during_impulse_post_and_poll_end_posts_once(
    killable_chat: KillableChat,
) -> None:
    bot, alice, room = killable_chat
    bot_id = load_config(bot.config).matrix.user_id
    await alice.say(room, '!umfrage "Wann treffen wir uns?" "Dienstag" "Donnerstag"')
    await alice.wait_for(room, lambda e: getattr(e, "type", "") in POLL_STARTS, timeout=30)
    bot.stop()

    # The impulse goes out, then the bot dies before recording it as posted.
    await alice.say(room, "!impuls jetzt")
    bot.start(kill_at=1, method="bot.store.impulses:ImpulseStore.mark_impulse_posted")
    assert await bot.wait_exit(30) == -signal.SIGKILL
    assert len(impulse_posts(await bot_events(alice, room, bot_id))) == 1

    # The end event goes out, then the bot dies before freezing the result.
    await alice.say(room, "!umfrage beenden")
    bot.start(kill_at=1, method="bot.store.polls:PollStore.finish_poll_end")
    assert await bot.wait_exit(30) == -signal.SIGKILL
    events = await bot_events(alice, room, bot_id)
    assert [e["type"] for e in events if e["type"] in POLL_ENDS] != []

    bot.start()  # recovers: re-runs both commands with the same transaction IDs
    marker = await alice.say(room, "!ping")
    await wait_answered(alice, room, [marker], timeout=60)
    events = await bot_events(alice, room, bot_id)
    assert len(impulse_posts(events)) == 1
    assert len([e for e in events if e["type"] in POLL_ENDS]) == 1
    with contextlib.closing(sqlite3.connect(load_config(bot.config).storage.database)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        states = {r[0] for r in db.execute("SELECT status FROM polls")}
    assert states == {"ended"}, states


@PLAIN_AND_ENCRYPTED
async def test_more_commands_than_one_sync_holds_are_all_answered(
    make_chat: ChatFactory, encrypted: bool
) -> None:
    # The sync filter keeps 50 timeline events per room; 70 commands while the bot is down make
    # the next sync "limited" (gappy): the older ones must be paged in (and decrypted), not
    # silently skipped.
    bot, alice, room = await make_chat(encrypted)
    await bot.stop()
    commands = [await alice.say(room, f"!ping {n}") for n in range(70)]
    await bot.start()
    counts = await wait_answered(alice, room, commands, timeout=90)
    assert_exactly_once(counts, commands)
