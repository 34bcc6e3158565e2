"""Property-based fuzzing: every command parser, and the bot's event dispatch end to end.

The parsers must return a value or raise their own documented input error — never anything else.
The dispatch (``Dispatch.process_room``: listeners, command routing, handlers) runs on a real
store with a fake transport that records what would be sent: whatever arrives, nothing may
blow up, every command gets an answer, and no answer carries user-supplied HTML unescaped.
The fake transport is deliberate here: the target is the handler, not Matrix (the real-Synapse
side is in test_faults.py). ``FUZZ_EXAMPLES=2000`` runs a deeper search.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from nio import MatrixRoom
from nio.events import Event

from bot import privacy
from bot.app import Impulsbot
from bot.config import load_config
from bot.features import search
from bot.features.impulses import schedule
from bot.features.leancoffee import parse as leancoffee
from bot.features.polls import errors, vote
from bot.features.polls import parse as polls
from bot.features.tandem import parse as tandem
from bot.features.wol import parse as wol
from bot.text import parsing
from bot.text.problems import ParseProblem
from bot.transport import Members
from tests.conftest import REPO

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))
# No shrinking: a dispatch example costs milliseconds, but shrinking 64 KB inputs costs minutes;
# the failing example is printed as found.
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
HUGE = 64 * 1024
MARKER = '<b class="fuzz">'  # user-supplied HTML that must never reach formatted_body as is
BOT = "@impulsbot:example.org"
ALICE = "@alice:example.org"  # team member and moderator: reaches the deepest code paths
BOB = "@bob:example.org"  # plain member
NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)

# Text that stresses parsers: any Unicode (incl. surrogate-free control characters, RTL marks,
# combining characters), quote characters the parsers treat specially, separators and HTML.
SPECIALS = st.sampled_from(
    [
        '"',
        "„",
        "“",
        "”",
        "»",
        "«",
        "|",
        "--",
        "—",
        ",",
        ":",
        "#",
        "/",
        "\n",
        "\t",
        "\x00",
        "\u202e",
        "\u200b",
        "<script>",
        "&amp;",
        MARKER,
        "5/5",
        "--anonym",
        "--mehrfach",
        "--dauer",
        "30m",
        "Mo-Fr",
        "9:30",
        "1,3",
        "zurückziehen",
        "thema:",
        "typ:",
        "0",
        "-1",
        "99999999999999999999",
    ]
)
TEXT = st.lists(st.one_of(st.text(max_size=12), SPECIALS), max_size=14).map("".join)


# ---------------------------------------------------------------------------- pure parsers


def _allowed_errors() -> dict[str, tuple[type[BaseException], ...]]:
    return {
        "poll": (errors.PollInputError,),
        "vote": (vote.VoteInputError,),
        "feedback": (privacy.FeedbackInputError,),
        "schedule": (ParseProblem,),
    }


PARSERS: dict[str, Callable[[str], object]] = {
    "parse_command": lambda s: parsing.parse_command(s, "!"),
    "parse_command_long_prefix": lambda s: parsing.parse_command(s, "bot"),
    "split_args": parsing.split_args,
    "strip_reply_fallback": parsing.strip_reply_fallback,
    "poll": polls.parse_poll_command,
    "vote": vote.parse_vote_command,
    "feedback": privacy.parse_feedback,
    "schedule": schedule.parse_schedule,
    "search_query": search.parse_query,
    "leancoffee": leancoffee.parse_command,
    "tandem": tandem.parse_command,
    "wol": wol.parse_command,
}


def call_parser(name: str, text: str) -> object:
    try:
        return PARSERS[name](text)
    except _allowed_errors().get(name, ()) as exc:
        return exc


@pytest.mark.parametrize("name", sorted(PARSERS))
@FUZZ
@given(text=TEXT)
def test_parsers_never_raise_undocumented_errors(name: str, text: str) -> None:
    call_parser(name, text)


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_parsers_survive_64kb_and_control_characters(name: str) -> None:
    for text in (
        "x" * HUGE,
        ("„" + "a" * 100 + " ") * (HUGE // 102),
        "|" * HUGE,
        "".join(chr(c) for c in range(32)) * (HUGE // 32),
        (MARKER + " ") * (HUGE // len(MARKER)),
    ):
        call_parser(name, text)


@FUZZ
@given(name=st.text(min_size=1, max_size=20).filter(lambda s: not any(c.isspace() for c in s)))
def test_parse_command_round_trip(name: str) -> None:
    parsed = parsing.parse_command(f"!{name} rest  ", "!")
    if parsed is not None:
        assert parsed.name == name and parsed.args == "rest"


@FUZZ
@given(words=st.lists(st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1)))
def test_split_args_keeps_plain_words(words: list[str]) -> None:
    assert parsing.split_args(" ".join(words)) == words


# ---------------------------------------------------------------------------- the dispatch


class NoDevices:
    def active_user_devices(self, user_id: str) -> list[Any]:
        return []


@dataclass
class FakeClient:
    user_id: str = BOT
    rooms: dict[str, MatrixRoom] = field(default_factory=dict)
    access_token: str = "fake"
    device_store: NoDevices = field(default_factory=NoDevices)

    def decrypt_event(self, event: Any) -> Any:
        raise ValueError("no keys in the fake transport")


@dataclass
class Sent:
    room_id: str
    event_type: str
    content: dict[str, Any]
    txn: str


@dataclass
class FakeShell:
    """Records sends; every other transport call succeeds trivially."""

    client: FakeClient = field(default_factory=FakeClient)
    sent: list[Sent] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _ids: Iterator[int] = field(default_factory=itertools.count)

    async def send(self, room_id: str, event_type: str, content: dict[str, Any], txn: str) -> str:
        self.sent.append(Sent(room_id, event_type, content, txn))
        return f"$sent{next(self._ids)}"

    async def upload(self, data: bytes, filename: str, mimetype: str, encrypt: bool) -> dict:
        return {"url": f"mxc://example.org/{next(self._ids)}"}

    def is_encrypted(self, room_id: str) -> bool:
        return False

    def is_joined(self, room_id: str) -> bool:
        return room_id in self.client.rooms

    def room_name(self, room_id: str) -> str | None:
        room = self.client.rooms.get(room_id)
        name = room and (room.name or room.canonical_alias)
        return str(name) if name else None

    def can_redact(self, room_id: str, user_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        return room is not None and bool(room.power_levels.can_user_redact(user_id))

    def decrypt_raw(self, room_id: str, raw: dict[str, Any]) -> dict[str, Any] | None:
        return None

    async def raw_request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        return 404, {"errcode": "M_NOT_FOUND"}

    async def create_direct_room(self, user_id: str, alias_localpart: str) -> str:
        room_id = f"!dm-{user_id}"
        self.client.rooms[room_id] = _room(room_id, [user_id])
        return room_id

    async def room_members(self, room_id: str) -> Members:
        room = self.client.rooms.get(room_id)
        return Members(frozenset(room.users if room else ()), frozenset())

    async def create_room(self, name: str, invite: list[str], topic: str = "") -> str:
        room_id = f"!created{next(self._ids)}"
        self.client.rooms[room_id] = _room(room_id, invite)
        return room_id

    async def wait_for_room(self, room_id: str, within: float = 30.0) -> bool:
        return room_id in self.client.rooms

    async def join(self, room_id: str) -> bool:
        return True

    async def leave(self, room_id: str) -> None:
        return None

    async def _sleep(self, seconds: float) -> None:
        return None

    async def sleep_unless_stopped(self, seconds: float) -> None:
        return None

    def note_undecryptable(self, room_id: str, event: Any) -> None:
        return None

    def retry_decryption(self) -> list[tuple[str, Any]]:
        return []

    def stop(self) -> None:
        self.stopping.set()

    async def close(self) -> None:
        return None


def _room(room_id: str, members: list[str]) -> MatrixRoom:
    room = MatrixRoom(room_id, BOT)
    for user_id in [BOT, *members]:
        room.add_member(user_id, None, None)
    return room


GROUP = "!group:example.org"
DIRECT = "!direct:example.org"


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Harness:
    loop: asyncio.AbstractEventLoop
    app: Impulsbot
    shell: FakeShell
    errors: ErrorLog
    _ids: Iterator[int] = field(default_factory=itertools.count)

    def dispatch(self, room_id: str, source: dict[str, Any]) -> list[Sent]:
        """Feed one event through the bot's real per-room processing; return what it sent."""
        source = {
            "event_id": f"$fuzz{next(self._ids)}",
            "origin_server_ts": int((NOW - timedelta(seconds=1)).timestamp() * 1000),
            "room_id": room_id,
            **source,
        }
        before = len(self.shell.sent)
        self.errors.records.clear()
        event = Event.parse_event(source)
        self.loop.run_until_complete(self.app.router.dispatch.process_room(room_id, [event]))
        self.loop.run_until_complete(self._drain())
        return self.shell.sent[before:]

    async def _drain(self) -> None:
        # Handlers may spawn background work (e.g. greetings, DMs); let it finish.
        # Work that waits for a person to join a direct chat is left pending.
        pending = [t for t in self.app._tasks if not t.done()]
        if pending:
            await asyncio.wait(pending, timeout=0.05)

    def command(self, room_id: str, body: str, sender: str = ALICE) -> list[Sent]:
        content = {"msgtype": "m.text", "body": body}
        return self.dispatch(
            room_id, {"type": "m.room.message", "sender": sender, "content": content}
        )


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    folder = tmp_path_factory.mktemp("fuzzbot")
    config_path = folder / "config.yaml"
    config_path.write_text(
        yaml.safe_dump(
            {
                "matrix": {"homeserver": "http://127.0.0.1:9", "user_id": BOT, "password": "x"},
                "storage": {"database": str(folder / "impulsbot.db")},
                "content": {"directory": str(REPO / "content")},
                "access": {"team": [ALICE], "moderators": [ALICE]},
                "privacy": {"pseudonym_key": "fuzz-key-fuzz-key-fuzz-key-fuzz-key"},
            }
        ),
        encoding="utf-8",
    )
    loop = asyncio.new_event_loop()
    errors = ErrorLog()
    for name in ("bot", "commands"):
        logging.getLogger(name).addHandler(errors)
    try:
        app, shell = loop.run_until_complete(_start(load_config(config_path)))
        yield Harness(loop, app, shell, errors)
        for task in app._tasks:
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.run_until_complete(app.store.close())
    finally:
        for name in ("bot", "commands"):
            logging.getLogger(name).removeHandler(errors)
        loop.close()


async def _start(config: Any) -> tuple[Impulsbot, FakeShell]:
    app = Impulsbot(config, clock=lambda: NOW)
    shell = FakeShell()
    app.shell = shell  # type: ignore[assignment]
    await app.store.open()
    await app.setup_features()
    shell.client.rooms[GROUP] = _room(GROUP, [ALICE, BOB])
    shell.client.rooms[DIRECT] = _room(DIRECT, [ALICE])
    for room_id, direct in ((GROUP, False), (DIRECT, True)):
        await app.store.remember_room(room_id, 0, direct)
        await app.store.claim_greeting(room_id)
    return app, shell


def spellings(harness: Harness) -> list[str]:
    return sorted({s for c in harness.app.registry for s in c.spellings})


def assert_answered_safely(sent: list[Sent], body: str, errors: ErrorLog) -> None:
    failures = [r.getMessage() for r in errors.records]
    assert not failures, f"{body[:80]!r} caused: {failures}"
    # An answer is a message or, for quick acknowledgements such as !feedback, a reaction.
    assert sent, f"no answer to {body[:80]!r}"
    for sent_message in [s for s in sent if s.event_type == "m.room.message"]:
        html = sent_message.content.get("formatted_body", "")
        assert MARKER not in html, f"unescaped user HTML in the answer to {body[:80]!r}"
        assert "<script>" not in html


@FUZZ
@given(data=st.data())
def test_every_command_answers_any_arguments_safely(harness: Harness, data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(spellings(harness)), label="command")
    args = data.draw(TEXT, label="args")
    sender = data.draw(st.sampled_from([ALICE, BOB]), label="sender")
    room = data.draw(st.sampled_from([GROUP, DIRECT]), label="room")
    body = f"!{name} {args} {MARKER}"
    assert_answered_safely(harness.command(room, body, sender), body, harness.errors)


@FUZZ
@given(body=TEXT)
def test_arbitrary_messages_never_break_the_dispatch(harness: Harness, body: str) -> None:
    sent = harness.command(GROUP, body, BOB)
    if parsing.parse_command(body, "!") is not None:
        assert_answered_safely(sent, body, harness.errors)
    else:
        assert sent == [] and not harness.errors.records


def test_huge_arguments_to_every_command(harness: Harness) -> None:
    filler = ("Wort „zitat“ | <i>x</i> \u202e 5/5 " * 2000)[: HUGE - 200]
    for name in spellings(harness):
        body = f"!{name} {filler} {MARKER}"
        assert_answered_safely(harness.command(GROUP, body), body, harness.errors)


def test_commands_with_control_characters(harness: Harness) -> None:
    controls = "".join(chr(c) for c in range(1, 32) if chr(c) not in "\n")
    for name in spellings(harness):
        body = f"!{name} {controls} {MARKER}"
        assert_answered_safely(harness.command(GROUP, body), body, harness.errors)


# ---------------------------------------------------------------------------- malformed events

MALFORMED: list[dict[str, Any]] = [
    {"type": "m.room.message", "content": {"msgtype": "m.text"}},
    {"type": "m.room.message", "content": {"msgtype": "m.text", "body": 42}},
    {"type": "m.room.message", "content": {"msgtype": "m.text", "body": None}},
    {"type": "m.room.message", "content": {"msgtype": "m.text", "body": ["!ping"]}},
    {"type": "m.room.message", "content": {"msgtype": 5, "body": "!ping"}},
    {"type": "m.room.message", "content": {"msgtype": "org.example.x", "body": "!ping"}},
    {"type": "m.room.message", "content": {"msgtype": "m.notice", "body": "!ping"}},
    {"type": "m.room.message", "content": {"body": "!ping"}},
    {"type": "m.room.message", "content": "!ping"},
    {"type": "m.room.message", "content": None},
    {
        "type": "m.room.message",
        "content": {
            "msgtype": "m.text",
            "body": "* !ping",
            "m.new_content": {"msgtype": "m.text", "body": "!ping"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": "$x"},
        },
    },
    {"type": "m.room.redaction", "redacts": "$x", "content": {}},
    {"type": "m.room.redaction", "content": {"redacts": 5}},
    {"type": "m.room.redaction"},
    {"type": "m.reaction", "content": {"m.relates_to": "x"}},
    {"type": "m.reaction", "content": {"m.relates_to": {"rel_type": "m.annotation"}}},
    {"type": "m.reaction", "content": {"m.relates_to": {"event_id": 1, "key": None}}},
    {"type": "m.poll.start", "content": {}},
    {"type": "org.matrix.msc3381.poll.start", "content": {"org.matrix.msc3381.poll.start": 1}},
    {"type": "m.poll.response", "content": {"m.relates_to": {"event_id": "$x"}, "m.selections": 3}},
    {"type": "org.matrix.msc3381.poll.response", "content": {"m.relates_to": []}},
    {"type": "m.poll.end", "content": {"m.relates_to": {"rel_type": "m.reference"}}},
    {"type": "org.matrix.msc3381.poll.end", "content": {"m.relates_to": None}},
    {"type": "m.room.member", "state_key": 7, "content": {"membership": []}},
    {"type": "m.room.member", "state_key": BOT, "content": {"membership": "join"}},
    {"type": "m.room.name", "state_key": "", "content": {"name": {"x": 1}}},
    {"type": "m.room.encrypted", "content": {"algorithm": "m.megolm.v1.aes-sha2"}},
    {"type": "org.example.unknown", "content": {"body": "!ping", "msgtype": "m.text"}},
]
RELATION_JUNK = ["x", 5, None, [], {"m.in_reply_to": "x"}, {"rel_type": 5, "event_id": []}]


def assert_no_errors(errors: ErrorLog) -> None:
    """Any logged failure, in the core or in a feature's listener, fails the test."""
    if errors.records:
        places = [_listener_place(r) or r.getMessage() for r in errors.records]
        raise AssertionError(sorted(set(places)))


def _listener_place(record: logging.LogRecord) -> str | None:
    if record.exc_info is None or record.exc_info[2] is None:
        return None
    last = traceback.extract_tb(record.exc_info[2])[-1]
    return f"{Path(last.filename).name}:{last.lineno} {record.exc_info[0].__name__}"


@pytest.mark.parametrize("index", range(len(MALFORMED)))
@pytest.mark.parametrize("sender", [BOB, ALICE])
def test_malformed_events_are_ignored_safely(harness: Harness, index: int, sender: str) -> None:
    event = {"sender": sender, **MALFORMED[index]}
    sent = harness.dispatch(GROUP, event)
    assert [s for s in sent if s.event_type == "m.room.message"] == []
    assert_no_errors(harness.errors)


@pytest.mark.parametrize("relates", RELATION_JUNK, ids=repr)
@pytest.mark.parametrize("event_type", ["m.room.message", "m.reaction", "m.poll.response"])
def test_junk_relations_are_survived(harness: Harness, relates: Any, event_type: str) -> None:
    content = {"msgtype": "m.text", "body": "!ping", "m.relates_to": relates}
    sent = harness.dispatch(GROUP, {"type": event_type, "sender": BOB, "content": content})
    assert len(sent) <= 1  # a command with a broken relation may be answered, but once
    assert_no_errors(harness.errors)


def test_the_same_event_twice_is_answered_once(harness: Harness) -> None:
    source = {
        "type": "m.room.message",
        "sender": BOB,
        "event_id": "$twice",
        "content": {"msgtype": "m.text", "body": "!ping"},
    }
    first = harness.dispatch(GROUP, source)
    again = harness.dispatch(GROUP, source)
    assert len(first) == 1 and again == []


def test_fake_shell_records_real_answers(harness: Harness) -> None:
    # Guards the harness itself: a known command must produce a visible, escaped answer.
    sent = harness.command(GROUP, "!hilfe <b>quatsch</b>")
    assert "&lt;b&gt;quatsch" in sent[0].content["formatted_body"]


# ---------------------------------------------------------------------------- store concurrency


async def test_a_rolled_back_transaction_does_not_take_other_writes_with_it(
    tmp_path: Path,
) -> None:
    from bot.store import Store

    store = Store(tmp_path / "concurrency.db")
    await store.open()
    try:

        async def failing_feature_write() -> None:
            async with store.transaction():
                await store.set_value("half", "done")
                await asyncio.sleep(0.01)  # another room's event is processed meanwhile
                raise RuntimeError("feature error")

        async def other_room_bookkeeping() -> None:
            await asyncio.sleep(0.001)
            await store.mark_handled("$other", "!room")

        async def second_transaction() -> None:
            await asyncio.sleep(0.002)
            async with store.transaction():
                await store.set_value("second", "ok")

        results = await asyncio.gather(
            failing_feature_write(),
            other_room_bookkeeping(),
            second_transaction(),
            return_exceptions=True,
        )
        assert isinstance(results[0], RuntimeError)
        assert results[1:] == [None, None], results
        assert await store.is_handled("$other")  # else: answered again after a restart
        assert await store.get_value("second") == "ok"
        assert await store.get_value("half") is None
    finally:
        await store.close()
