"""One truth in Element and in the bot, against a real Synapse (plain and encrypted rooms).

Users send raw MSC3381 events exactly as Element does. The bot's numbers are compared with
:func:`tests.test_polls_reference.reference_count`, an independent counter, fed with the events
the test itself sent and their server timestamps as Synapse reports them.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import time
from typing import Any

import pytest
from nio import RoomGetEventResponse

import bot.features.polls.jobs as jobs
from bot.dev.client import DevUser, body_of, content_of, replies_to
from bot.features.export.options import ExportOptions
from bot.features.export.polls import export
from bot.features.polls.msc3381 import POLL_END, POLL_RESPONSE, POLL_START
from bot.store import Store
from bot.store.polls import PollRecord
from tests.conftest import PLAIN_AND_ENCRYPTED, RunningBot
from tests.scenario import ChatFactory, MemberFactory, from_bot
from tests.test_polls_integration import (
    chat_with_bob,
    eventually,
    of_type,
    start_poll,
    stored_votes,
)
from tests.test_polls_reference import reference_count

pytestmark = pytest.mark.integration

TEXT = "org.matrix.msc1767.text"


# --- what Element sends ---------------------------------------------------------------------------


def element_start(question: str, answers: list[str]) -> tuple[dict[str, Any], list[str]]:
    """A poll start as Element Web sends it: random answer ids, unstable names, text fallback."""
    ids = [secrets.token_urlsafe(8) for _ in answers]
    fallback = "\n".join([question, *(f"{i}. {a}" for i, a in enumerate(answers, 1))])
    content = {
        TEXT: fallback,
        POLL_START: {
            "kind": "org.matrix.msc3381.poll.disclosed",
            "max_selections": 1,
            "question": {TEXT: question},
            "answers": [{"id": i, TEXT: a} for i, a in zip(ids, answers, strict=True)],
        },
    }
    return content, ids


class Ledger:
    """The responses the test sent, to recount them independently of the bot."""

    def __init__(self, start_id: str) -> None:
        self.start_id = start_id
        self.sent: list[tuple[DevUser, str, str, dict[str, Any]]] = []  # user, room, id, content

    async def respond(self, user: DevUser, room: str, *answers: str, stable: bool = False) -> str:
        relates = {"rel_type": "m.reference", "event_id": self.start_id}
        if stable:
            event_type, content = "m.poll.response", {"m.selections": list(answers)}
        else:
            event_type, content = POLL_RESPONSE, {POLL_RESPONSE: {"answers": list(answers)}}
        content["m.relates_to"] = relates
        event_id = await user.send(room, event_type, content)
        self.sent.append((user, room, event_id, content))
        return event_id

    async def reference(self, answer_ids: list[str], end_ts: int | None) -> dict[str, int]:
        raw = []
        for user, room, event_id, content in self.sent:
            ts = await server_ts(user, room, event_id)
            raw.append({"sender": user.user_id, "origin_server_ts": ts, "content": content})
        raw.sort(key=lambda e: e["origin_server_ts"])  # stable: send order breaks ties
        return reference_count(answer_ids, 1, raw, end_ts)


async def server_ts(user: DevUser, room: str, event_id: str) -> int:
    response = await user.client.room_get_event(room, event_id)
    assert isinstance(response, RoomGetEventResponse), response
    return int(response.event.server_timestamp)


async def element_end(user: DevUser, room: str, start_id: str) -> str:
    content = {
        "m.relates_to": {"rel_type": "m.reference", "event_id": start_id},
        "org.matrix.msc3381.poll.end": {},
        TEXT: "Ended poll",
    }
    return await user.send(room, POLL_END, content)


# --- reading the bot's result ---------------------------------------------------------------------


def element_counts(text: str, answers: list[str]) -> list[int]:
    """Per answer the number on its bar line (Element's count)."""
    lines = text.splitlines()
    counts = []
    for number, answer in enumerate(answers, 1):
        index = next(i for i, line in enumerate(lines) if line.startswith(f"{number}. {answer}"))
        counts.append(int(re.search(r"(\d+) Stimmen?", lines[index + 1])[1]))  # type: ignore[index]
    return counts


def result_message(bot: RunningBot, start_id: str) -> Any:
    return lambda e: (
        e.sender == bot.user_id
        and replies_to(e) == start_id
        and "Ergebnis von Umfrage" in body_of(e)
    )


async def recorded(bot: RunningBot, start_id: str) -> PollRecord:
    async def known() -> bool:
        assert bot.app is not None
        return await bot.app.store.poll_by_start_event(start_id) is not None

    await eventually(known)
    assert bot.app is not None
    record = await bot.app.store.poll_by_start_event(start_id)
    assert record is not None
    return record


# --- tests ----------------------------------------------------------------------------------------


@PLAIN_AND_ENCRYPTED
async def test_poll_started_in_element_is_counted_ended_and_exported_like_element(
    make_chat: ChatFactory, make_member: MemberFactory, encrypted: bool
) -> None:
    bot, alice, room, bob = await chat_with_bob(make_chat, make_member, encrypted)
    answers = ["Kaffee", "Tee", "Wasser"]
    content, ids = element_start("Was trinken wir?", answers)
    start_id = await alice.send(room, POLL_START, content)
    record = await recorded(bot, start_id)
    assert record.origin == "element" and record.creator == alice.user_id and record.is_open
    assert [a.text for a in record.poll.answers] == answers
    note = await alice.wait_for(
        room, lambda e: e.sender == bot.user_id and "zähle ich" in body_of(e)
    )
    assert content_of(note)["m.relates_to"]["event_id"] == start_id
    assert f"!abstimmen {record.id} <Nummer der Antwort>" in body_of(note)

    ledger = Ledger(start_id)
    await ledger.respond(bob, room, ids[0])
    await ledger.respond(alice, room, ids[1])
    await ledger.respond(bob, room, ids[2])  # bob changes his mind
    await ledger.respond(alice, room, ids[1], "not-an-answer")  # alice spoils her vote
    await stored_votes(bot, record, 4)

    # !ergebnis as a reply to the poll; the bot has no redact power, so it cannot end it.
    interim = body_of(await bob.ask(room, "!ergebnis", reply_to=start_id))
    assert f"Zwischenstand von Umfrage {record.id}" in interim
    expected = await ledger.reference(ids, None)
    assert element_counts(interim, answers) == [expected[i] for i in ids] == [0, 0, 1]
    assert "1 ungültige Stimme" in interim
    refused = await bob.ask(room, f"!umfrage beenden {record.id}")
    assert "nur beenden" in body_of(refused)
    in_element = await alice.ask(room, "!umfrage beenden", reply_to=start_id)
    assert "in Element" in body_of(in_element) and "Umfrage beenden" in body_of(in_element)

    end_id = await element_end(alice, room, start_id)
    end_ts = await server_ts(alice, room, end_id)
    await ledger.respond(bob, room, ids[0])  # after the end: Element ignores it
    final = await alice.wait_for(room, result_message(bot, start_id))
    expected = await ledger.reference(ids, end_ts)
    assert element_counts(body_of(final), answers) == [expected[i] for i in ids]
    assert "gezählt sind die Stimmen in Element" in body_of(final)
    assert alice.find(room, of_type(bot, POLL_END)) == []  # the creator's end is the end
    assert bot.app is not None
    ended = await bot.app.store.get_poll(record.id)
    assert ended is not None and ended.status == "ended" and ended.ended_at == end_ts
    assert ended.end_event_id == end_id

    out = io.BytesIO()
    await export(bot.app.store, bot.config, ExportOptions(fmt="jsonl"), out)
    rows = [json.loads(line) for line in out.getvalue().decode().splitlines()]
    mine = [r for r in rows if r["poll"] == record.id]
    assert [r["answer"] for r in mine] == answers
    assert [r["count"] for r in mine] == [expected[i] for i in ids]
    assert {r["origin"] for r in mine} == {"Element"} and {r["typed_count"] for r in mine} == {0}


@PLAIN_AND_ENCRYPTED
async def test_poll_in_the_stable_form_is_recorded_and_counted(
    make_chat: ChatFactory, make_member: MemberFactory, encrypted: bool
) -> None:
    bot, alice, room, bob = await chat_with_bob(make_chat, make_member, encrypted)

    def text(body: str) -> list[dict[str, str]]:
        return [{"mimetype": "text/plain", "body": body}]

    content = {
        "m.text": text("Ort? 1. Rathaus 2. Online"),
        "m.poll": {
            "kind": "m.poll.disclosed",
            "max_selections": 1,
            "question": {"m.text": text("Ort?")},
            "answers": [
                {"m.id": "rathaus", "m.text": text("Rathaus")},
                {"m.id": "online", "m.text": text("Online")},
            ],
        },
    }
    start_id = await alice.send(room, "m.poll.start", content)
    record = await recorded(bot, start_id)
    assert record.origin == "element" and record.poll.answer_ids == ("rathaus", "online")
    ledger = Ledger(start_id)
    await ledger.respond(bob, room, "online", stable=True)
    await ledger.respond(alice, room, "rathaus", stable=True)
    await ledger.respond(alice, room, "online", stable=True)
    await stored_votes(bot, record, 3)
    result = body_of(await bob.ask(room, f"!ergebnis {record.id}"))
    expected = await ledger.reference(["rathaus", "online"], None)
    assert element_counts(result, ["Rathaus", "Online"]) == [
        expected["rathaus"],
        expected["online"],
    ]
    assert expected == {"rathaus": 0, "online": 2}


@PLAIN_AND_ENCRYPTED
async def test_typed_and_native_votes_mixed_give_a_labelled_result_counted_to_the_end_event(
    make_chat: ChatFactory, make_member: MemberFactory, encrypted: bool
) -> None:
    bot, alice, room, bob = await chat_with_bob(make_chat, make_member, encrypted)
    carol = await make_member(alice, room, "carol")
    answers = ["Dienstag", "Mittwoch", "Donnerstag"]
    record = await start_poll(alice, room, bot, "!umfrage Wann? | " + " | ".join(answers))
    assert record.start_event_id is not None
    ids = list(record.poll.answer_ids)
    ledger = Ledger(record.start_event_id)
    await ledger.respond(bob, room, "a1")
    await stored_votes(bot, record, 1)

    # Typed votes are acknowledged in the poll's thread, visible to everyone in Element.
    ack = await alice.ask(room, "!abstimmen 2")
    relates = content_of(ack)["m.relates_to"]
    assert relates["rel_type"] == "m.thread" and relates["event_id"] == record.start_event_id
    assert alice.user_id in body_of(ack) and "2. Mittwoch" in body_of(ack)
    assert "nicht zu sehen" in body_of(ack)
    await carol.ask(room, f"!abstimmen {record.id} 2")
    refused = await bob.ask(room, "!abstimmen 3")
    assert "schon in Element abgestimmt" in body_of(refused)

    interim = body_of(await alice.ask(room, "!ergebnis"))
    assert "1 Stimme in Element · 100 %" in interim
    assert "+ 2 Stimmen per Befehl, in Element nicht sichtbar" in interim

    since = len(alice.events)
    await alice.say(room, "!umfrage beenden")
    end = await alice.wait_for(room, of_type(bot, POLL_END), since=since)
    assert "Ergebnis folgt" in body_of(end) and "▓" not in body_of(end)
    end_ts = await server_ts(alice, room, end.event_id)
    final = body_of(await alice.wait_for(room, result_message(bot, record.start_event_id)))
    expected = await ledger.reference(ids, end_ts)
    assert element_counts(final, answers) == [expected[i] for i in ids] == [1, 0, 0]
    assert "+ 2 Stimmen per Befehl, in Element nicht sichtbar" in final
    assert "Vorn: 2. Mittwoch – gezählt sind alle 3 Stimmen, davon 2 Stimmen per Befehl" in final
    assert "Nur nach den Stimmen in Element läge vorn: 1. Dienstag" in final
    assert bot.app is not None
    ended = await bot.app.store.get_poll(record.id)
    assert ended is not None and ended.ended_at == end_ts and ended.end_event_id == end.event_id
    assert ended.final_typed_counts == {"a1": 0, "a2": 2, "a3": 0}


@PLAIN_AND_ENCRYPTED
async def test_poll_due_while_the_bot_was_down_ends_at_once_after_restart(
    make_chat: ChatFactory, make_member: MemberFactory, encrypted: bool
) -> None:
    bot, alice, room, bob = await chat_with_bob(make_chat, make_member, encrypted)
    answers = ["Ja", "Nein"]
    record = await start_poll(alice, room, bot, "!umfrage Pause? | Ja | Nein --dauer 2h")
    assert record.start_event_id is not None
    ledger = Ledger(record.start_event_id)
    await ledger.respond(bob, room, "a2")
    await stored_votes(bot, record, 1)
    await bot.stop()
    planned = int(time.time() * 1000) - 10 * 60_000
    async with Store(bot.config.storage.database) as store:
        await store.set_poll_closes_at(record.id, planned)
    # Past --dauer but before any end event: Element still counts these, so the bot does too.
    await ledger.respond(bob, room, "a1")
    await ledger.respond(alice, room, "a1")

    since = len(alice.events)
    await bot.start()
    end = await alice.wait_for(room, of_type(bot, POLL_END), since=since, timeout=40)
    end_ts = await server_ts(alice, room, end.event_id)
    final = body_of(await alice.wait_for(room, result_message(bot, record.start_event_id)))
    expected = await ledger.reference(["a1", "a2"], end_ts)
    assert element_counts(final, answers) == [expected["a1"], expected["a2"]] == [2, 0]
    assert "Geplant war das Ende am" in final and "nicht erreichbar" in final


@PLAIN_AND_ENCRYPTED
async def test_a_response_missed_by_the_sync_is_repaired_while_running(
    make_chat: ChatFactory,
    make_member: MemberFactory,
    encrypted: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert jobs.RECONCILE_SECONDS <= 60  # the promise: repaired within a minute
    monkeypatch.setattr(jobs, "RECONCILE_SECONDS", 2.0)  # the same job, only sooner
    bot, alice, room, bob = await chat_with_bob(make_chat, make_member, encrypted)
    record = await start_poll(alice, room, bot, "!umfrage Kaffee oder Tee? | Kaffee | Tee")
    assert record.start_event_id is not None
    ledger = Ledger(record.start_event_id)
    await ledger.respond(bob, room, "a2")
    await ledger.respond(alice, room, "a1")
    await stored_votes(bot, record, 2)
    assert bot.app is not None
    # The sync "missed" both: no command, no end, only the running job may bring them back.
    await bot.app.store.execute("DELETE FROM poll_responses WHERE poll_id = ?", (record.id,))
    await stored_votes(bot, record, 2)
    votes = await bot.app.store.poll_votes(record.id)
    assert {v.sender for v in votes} == {alice.user_id, bob.user_id}
    expected = await ledger.reference(["a1", "a2"], None)
    result = body_of(await alice.ask(room, "!ergebnis"))
    assert element_counts(result, ["Kaffee", "Tee"]) == [expected["a1"], expected["a2"]]


async def test_wol_retro_poll_is_counted_like_any_other(
    make_chat: ChatFactory, make_member: MemberFactory
) -> None:
    # Forming circles is organisation-wide: only configured moderators may do it.
    bot, mod, room = await make_chat(name="mod", role="moderators", direct=False)
    people = [await make_member(mod, room, f"wol{i}") for i in range(3)]
    for i, person in enumerate(people):
        await person.ask(room, f"!wol an Amt {i}")
    await mod.ask(room, "!wol bilden Di 14:00", timeout=60)
    first, second, third = people
    welcome_of = from_bot(bot, "Willkommen in Ihrem Working-Out-Loud-Circle")
    await first.wait_until(lambda: any(welcome_of(e) for _, e in first.events))
    circle = next(r for r, e in first.events if welcome_of(e))
    for person in (second, third):
        await person.wait_until(lambda p=person: any(welcome_of(e) for _, e in p.events))
    await second.ask(circle, "!wol ende")
    start = await first.wait_for(circle, of_type(bot, POLL_START))
    record = await recorded(bot, start.event_id)
    assert record.origin == "wol" and record.creator == second.user_id
    ids = list(record.poll.answer_ids)
    ledger = Ledger(start.event_id)
    await ledger.respond(first, circle, ids[0])
    await ledger.respond(third, circle, ids[3])
    await ledger.respond(first, circle, ids[2])
    await stored_votes(bot, record, 3)
    texts = [a.text for a in record.poll.answers]
    interim = body_of(await third.ask(circle, "!ergebnis", reply_to=start.event_id))
    expected = await ledger.reference(ids, None)
    assert element_counts(interim, texts) == [expected[i] for i in ids] == [0, 0, 1, 1]
    # Whoever ended the circle may end its retro poll; the bot's end is valid in Element.
    since = len(first.events)
    await second.say(circle, "!umfrage beenden")
    end = await first.wait_for(circle, of_type(bot, POLL_END), since=since)
    end_ts = await server_ts(first, circle, end.event_id)
    final = body_of(await first.wait_for(circle, result_message(bot, start.event_id)))
    expected = await ledger.reference(ids, end_ts)
    assert element_counts(final, texts) == [expected[i] for i in ids]
