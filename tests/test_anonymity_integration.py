"""Anonymous means anonymous (issue 14), against a real Synapse in plain and encrypted rooms.

In a room ``--anonym`` is refused and nothing is stored; in a direct chat the stored row, the
database file and the exports hold nothing that leads back to the person.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import sqlite3
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.dev.client import body_of
from tests.conftest import PLAIN_AND_ENCRYPTED
from tests.scenario import ChatFactory, GroupFactory
from tests.test_feedback_integration import stored

pytestmark = pytest.mark.integration


def database_values(path: Path, skip: tuple[str, ...] = ()) -> list[str]:
    """Every value of every table in the database file, as text (read with sqlite3 directly)."""
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        values = []
        for table in tables:
            if table in skip:
                continue
            for row in db.execute(f"SELECT * FROM {table}"):
                values.extend(str(v) for v in row if v is not None)
    return values


@PLAIN_AND_ENCRYPTED
async def test_anonymous_in_a_room_is_refused_and_nothing_stored(
    make_group: GroupFactory, encrypted: bool
) -> None:
    bot, (alice, _), room = await make_group("alice", "bob", encrypted=encrypted)
    answer = await alice.ask(room, "!feedback --anonym Die Leitung hört nicht zu")
    assert "nur im Direktchat" in body_of(answer) and "nichts gespeichert" in body_of(answer)
    assert "hört nicht zu" not in body_of(answer)  # the text is not repeated in the room
    wish = await alice.ask(room, "!wunsch --anonym Fortbildung zu Konfliktlösung")
    assert "nur im Direktchat" in body_of(wish)
    offer = await alice.ask(room, "!angebot wunsch --anonym Fortbildung zu Konfliktlösung")
    assert "nur im Direktchat" in body_of(offer)
    assert await stored(bot) == []
    assert bot.app is not None
    assert await bot.app.store.fetchall("SELECT * FROM group_people WHERE kind = 'wish'") == []


@PLAIN_AND_ENCRYPTED
async def test_anonymous_in_a_direct_chat_leaves_no_trace_to_the_person(
    make_chat: ChatFactory, encrypted: bool, tmp_path: Path
) -> None:
    bot, alice, dm = await make_chat(encrypted)
    assert bot.app is not None
    await bot.app.store.set_value(f"dm:{alice.user_id}", dm)  # the mapping that once linked them
    command = await alice.say(dm, "!feedback --anonym 2/5 Zu viele Termine")
    answer = await alice.wait_for(dm, lambda e: "angekommen" in body_of(e))
    assert "ohne Namen" in body_of(answer)
    wish = await alice.ask(dm, "!wunsch --anonym Kurs zu Zeitmanagement")
    assert "angekommen" in body_of(wish)

    rows = await stored(bot)
    # Anonymous rows have random ids: their order says nothing about when they came.
    assert sorted((r["kind"], r["text"], r["rating"]) for r in rows) == [
        ("feedback", "Zu viele Termine", 2),
        ("wish", "Kurs zu Zeitmanagement", None),
    ]
    tz = bot.config.bot.tz
    for row in rows:
        assert row["user_id"] is None and row["room_id"] is None
        assert row["source_event_id"] is None
        moment = dt.datetime.fromtimestamp(row["created_at"] / 1000, tz)
        assert (moment.hour, moment.minute, moment.second) == (0, 0, 0)  # the date only

    # The database file: the anonymous rows hold neither the person, the room nor the event.
    path = bot.config.storage.database
    with sqlite3.connect(path) as db:
        anonymous = [
            str(v) for row in db.execute("SELECT * FROM feedback") for v in row if v is not None
        ]
    secrets = (alice.user_id, alice.user_id.split(":")[0][1:], dm, command)
    assert not [v for v in anonymous for s in secrets if s in v]
    # Nowhere else in the database does the command's event ID appear next to its content:
    # only the bot's at-most-once bookkeeping (handled_events, 7 days) knows the event ID.
    everything = database_values(path, skip=("handled_events",))
    assert not [v for v in everything if command in v]

    # No counting hash either: it could be recomputed from the Matrix ID until the month ends.
    assert await bot.app.store.fetchall("SELECT * FROM group_people") == []
    # A repeated delivery of the same event stores nothing twice (keyed hash, no event ID).
    assert await bot.app.store.feedback_stored(command)

    # The exports: no author, no room, no time of day.
    config = str(path.parent.parent / "config.yaml")
    out = tmp_path / "feedback.json"
    code = await asyncio.to_thread(
        main, ["export", "feedback", "--config", config, "--format", "json", "--output", str(out)]
    )
    assert code == 0
    text = out.read_text(encoding="utf-8")
    assert not [s for s in secrets if s in text]
    for item in json.loads(text):
        assert not item.get("author") and not item.get("room_id") and not item.get("room_name")
        assert "T" not in str(item.get("timestamp", "")) or item["timestamp"].endswith("T00:00")
