"""Lean Coffee, Kaffee-Tandem and Working Out Loud against a real Synapse.

Timeboxes are not waited out: the timer job is called with an injected ``now`` after the
deadline, exactly what the bot's own job loop does when the time has come.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from nio import MegolmEvent

from bot.context import Context, Incoming
from bot.dev.client import DevUser, body_of, content_of, html_of, replies_to
from bot.features.leancoffee.sessions import load_session
from bot.features.tandem.rounds import run_round
from bot.features.wol.rooms import send_reminders
from bot.text.i18n import Texts
from commands.leancoffee import COMMAND, fire_timers, leancoffee
from tests.conftest import PLAIN_AND_ENCRYPTED, room_with_bot
from tests.scenario import ChatFactory, MemberFactory, from_bot

pytestmark = pytest.mark.integration


def in_thread_of(event: Any, root: str) -> bool:
    relates = content_of(event).get("m.relates_to") or {}
    return relates.get("rel_type") == "m.thread" and relates.get("event_id") == root


async def answer(user: DevUser, room: str, command: str, text: str) -> Any:
    """The bot's answer to ``command`` that contains ``text`` (commands may produce several)."""
    event_id = await user.say(room, command)
    return await user.wait_for(room, lambda e: replies_to(e) == event_id and text in body_of(e))


@PLAIN_AND_ENCRYPTED
async def test_complete_lean_coffee(
    make_chat: ChatFactory, make_member: MemberFactory, encrypted: bool
) -> None:
    bot, alice, room = await make_chat(encrypted)
    bob = await make_member(alice, room, "bob")

    board = await alice.ask(room, "!lc start --punkte 3 --zeit 1m --verlaengerung 2m")
    assert "Lean Coffee" in body_of(board) and "3 Punkte" in body_of(board)
    again = await bob.ask(room, "!lc start")
    assert "läuft bereits" in body_of(again)

    topic1 = await alice.ask(room, "!lc thema Digitale Aktenablage <b>jetzt</b>")
    topic2 = await bob.ask(room, "!leancoffee thema KI im Bürgerservice")
    assert "Thema 1" in body_of(topic1) and "Thema 2" in body_of(topic2)
    assert in_thread_of(topic1, board.event_id) and in_thread_of(topic2, board.event_id)
    assert "&lt;b&gt;jetzt" in html_of(topic1)

    early = await bob.ask(room, "!lc punkt 2")
    assert "noch nicht geöffnet" in body_of(early)
    refused = await bob.ask(room, "!lc abstimmen")  # only the host or a moderator
    assert "Moderation" in body_of(refused)
    opened = await alice.ask(room, "!lc abstimmen")
    assert "Abstimmung ist offen" in body_of(opened)

    stacked = await bob.ask(room, "!lc punkt 2 2")
    assert "Noch übrig: 1 Punkt" in body_of(stacked)
    over = await bob.ask(room, "!lc punkt 1 2")
    assert "So viele Punkte haben Sie nicht mehr" in body_of(over)

    # A dot by reaction (encrypted rooms: the reaction arrives encrypted), then taken back.
    reaction = await alice.react(room, topic1.event_id, "1️⃣")
    counted = await alice.wait_for(room, from_bot(bot, "Thema 1 hat jetzt 1 Punkt"))
    assert alice.user_id in body_of(counted) and "Noch übrig: 2 Punkte" in body_of(counted)
    await alice.client.room_redact(room, reaction)
    await alice.wait_for(room, from_bot(bot, "Zurückgenommen: Thema 1"))
    await alice.react(room, topic2.event_id, "1️⃣")
    await alice.wait_for(room, from_bot(bot, "Thema 2 hat jetzt 1 Punkt"))

    shown = await alice.ask(room, "!lc board")
    assert body_of(shown).index("KI im Bürgerservice (3 Punkte)") < body_of(shown).index(
        "Digitale Aktenablage"
    )
    started = await answer(alice, room, "!lc weiter", "Jetzt dran: Thema 2")
    assert in_thread_of(started, board.event_id)

    await bot.restart()  # the timebox survives a restart
    now = datetime.now(UTC)
    await fire_timers(bot.app, now + timedelta(minutes=2))
    await fire_timers(bot.app, now + timedelta(minutes=2))  # idempotent
    prompt = await alice.wait_for(room, from_bot(bot, "Die Zeit für Thema 2 ist um"))
    assert in_thread_of(prompt, board.event_id)
    await bob.react(room, prompt.event_id, "👍")
    await bob.wait_until(lambda: True)
    vote = await alice.ask(room, "!lc ja")
    assert "bisher 2 ja, 0 nein" in body_of(vote)
    await fire_timers(bot.app, now + timedelta(minutes=4))
    await alice.wait_for(room, from_bot(bot, "Mehrheit für die Verlängerung (2 : 0)"))
    await fire_timers(bot.app, now + timedelta(minutes=7))
    await alice.wait_for(room, from_bot(bot, "Die Verlängerung für Thema 2 ist um"))
    assert len(alice.find(room, from_bot(bot, "Die Zeit für Thema 2 ist um"))) == 1

    note = await bob.ask(room, "!lc notiz Pilot im Bürgerbüro starten")
    assert "Thema 2, Notiz 1" in body_of(note)
    summary = await alice.ask(room, "!lc ende")
    text = body_of(summary)
    assert "Zusammenfassung" in text and "KI im Bürgerservice (3 Punkte, verlängert)" in text
    assert "Pilot im Bürgerbüro starten" in text and "Nicht mehr besprochen" in text
    stored = await bot.app.store.lc_summaries(room)
    assert len(stored) == 1 and alice.user_id not in str(stored)
    after = await alice.ask(room, "!lc board")
    assert "kein Lean Coffee" in body_of(after)


async def test_two_sessions_in_two_rooms_do_not_mix(make_chat: ChatFactory) -> None:
    bot, alice, first = await make_chat()
    second = await room_with_bot(alice, bot, encrypted=False)
    await alice.ask(first, "!lc start")
    await alice.ask(second, "!lc start --zeit 20m")
    await alice.ask(first, "!lc thema Nur im ersten Raum")
    await alice.ask(second, "!lc thema Nur im zweiten Raum")
    await answer(alice, first, "!lc weiter", "Jetzt dran")
    one = await alice.ask(first, "!lc board")
    two = await alice.ask(second, "!lc board")
    assert "ersten" in body_of(one) and "zweiten" not in body_of(one)
    assert "zweiten" in body_of(two) and "ersten" not in body_of(two)
    await answer(alice, second, "!lc weiter", "Jetzt dran")
    soon = datetime.now(UTC) + timedelta(minutes=9)  # past the first room's 8 min only
    await fire_timers(bot.app, soon)
    await alice.wait_for(first, from_bot(bot, "Die Zeit für Thema 1 ist um"))
    await alice.ask(second, "!ping")
    assert not alice.find(second, from_bot(bot, "Die Zeit"))

    # A handler re-run after a crash (same command event) re-sends, it does not apply twice.
    source = await alice.say(first, "!lc thema Doppelt gemoppelt")
    await alice.wait_for(first, lambda e: replies_to(e) == source)
    app = bot.app
    for _ in range(2):
        ctx = Context(
            app=app,
            incoming=Incoming(first, source, alice.user_id, "", int(time.time() * 1000)),
            command=COMMAND,
            name_used="lc",
            args="thema Doppelt gemoppelt",
            is_direct=False,
            is_moderator=False,
            is_team=False,
            texts=Texts("de"),
        )
        async with app.room_lock(first):
            await leancoffee(ctx)
    await alice.ask(first, "!ping")
    assert len(alice.find(first, from_bot(bot, "Doppelt gemoppelt"))) == 1
    session = await load_session(app, first)
    assert session is not None and [t.text for t in session.topics].count("Doppelt gemoppelt") == 1


def decrypted(user: DevUser) -> list[tuple[str, Any]]:
    """The user's events, decrypting late ones whose room key arrived after the event (the
    test client, unlike Element, does not retry on its own)."""
    out = []
    for room_id, event in user.events:
        if isinstance(event, MegolmEvent):
            try:
                event = user.client.decrypt_event(event)
            except Exception:  # key still missing
                continue
        out.append((room_id, event))
    return out


async def until(condition: Any, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.3)


def _quiet_weekday() -> int:
    """A weekday whose slot is days away, so the scheduled job stays out of the test."""
    return (datetime.now(ZoneInfo("Europe/Berlin")).weekday() + 3) % 7


async def test_tandem_round_opens_encrypted_rooms(
    make_chat: ChatFactory, make_member: MemberFactory
) -> None:
    tandem = {"weekday": _quiet_weekday()}
    bot, carol, room = await make_chat(name="carol", role="team", tandem=tandem)
    alice = await make_member(carol, room, "alice")
    bob = await make_member(carol, room, "bob")

    joined = await alice.ask(room, "!tandem an KI, Vergabe")
    assert "dabei" in body_of(joined) and "KI, Vergabe" in body_of(joined)
    await bob.ask(room, "!tandem an Vergabe")
    state = await bob.ask(room, "!tandem status")
    assert "Nächste Runde" in body_of(state)
    refused = await alice.ask(room, "!tandem runde")
    assert "Initiativteam" in body_of(refused)

    command = await carol.say(room, "!tandem runde")
    report = await carol.wait_reply(room, command, timeout=60)
    assert "1 Gruppen mit zusammen 2 Personen" in body_of(report)
    assert alice.user_id not in body_of(report)  # counts only

    def intro(user: DevUser) -> list[tuple[str, Any]]:
        return [
            (r, e)
            for r, e in decrypted(user)
            if r != room and e.sender == bot.user_id and "Kaffee-Tandem" in body_of(e)
        ]

    await until(lambda: bool(intro(alice)) and bool(intro(bob)))
    tandem_room, message = intro(alice)[0]
    assert intro(bob)[0][0] == tandem_room
    assert bot.app.shell.is_encrypted(tandem_room)
    assert "Vergabe" in body_of(message) and "KI" not in body_of(message).split("Anstoß")[0]
    assert bob.user_id in body_of(message)

    # Re-running the same round (crash recovery) neither pairs anew nor posts again.
    await run_round(bot.app, datetime.now(UTC), f"manual:{command}")
    await alice.ask(room, "!ping")
    await asyncio.sleep(1)
    assert len(intro(alice)) == 1

    paused = await bob.ask(room, "!tandem pause 2w")
    assert "pausieren bis" in body_of(paused)
    bad = await bob.ask(room, "!tandem pause bald")
    assert "4w" in body_of(bad)  # a correct example
    assert "pausieren" in body_of(await bob.ask(room, "!tandem status"))

    data = await bot.app.store.personal_data(alice.user_id)
    assert data["kaffee_tandem"]["topics"] == ["KI", "Vergabe"]
    bye = await alice.ask(room, "!tandem aus")
    assert "abgemeldet" in body_of(bye)
    data = await bot.app.store.personal_data(alice.user_id)
    assert "kaffee_tandem" not in data and "kaffee_tandem_runden" not in data


async def test_wol_circle_forming_reminder_and_retro(
    make_chat: ChatFactory, make_member: MemberFactory
) -> None:
    # Forming circles invites people into new rooms: organisation scope, configured moderators.
    guides = {"weeks": {1: "https://workingoutloud.com/de/"}}
    bot, mod, room = await make_chat(name="mod", role="moderators", wol={"guides": guides})
    people = [await make_member(mod, room, f"wol{i}") for i in range(3)]
    for i, person in enumerate(people):
        listed = await person.ask(room, f"!wol an Amt {i}")
        assert "Liste" in body_of(listed)
    seekers = await people[0].ask(room, "!wol suche")
    assert all(p.user_id in body_of(seekers) for p in people)
    refused = await people[0].ask(room, "!wol bilden")
    assert "in der Konfiguration eingetragen" in body_of(refused)
    formed = await mod.ask(room, "!wol bilden Di 14:00", timeout=60)
    assert "1 Circle" in body_of(formed)

    welcome_of = from_bot(bot, "Willkommen in Ihrem Working-Out-Loud-Circle")
    first = people[0]
    await first.wait_until(lambda: any(welcome_of(e) for _, e in first.events))
    circle_room, welcome = next((r, e) for r, e in first.events if welcome_of(e))
    assert "https://workingoutloud.com/" in body_of(welcome) and "Woche 12/12" in body_of(welcome)
    week = await first.ask(circle_room, "!wol woche")
    assert "Woche 1 von 12" in body_of(week)

    state = await bot.app.store.wol_circle_in_room(circle_room)
    assert state is not None and sorted(state["members"]) == sorted(p.user_id for p in people)
    meeting = datetime.fromisoformat(state["start"])
    await send_reminders(bot.app, meeting + timedelta(minutes=1))
    await send_reminders(bot.app, meeting + timedelta(minutes=2))
    reminder = await first.wait_for(circle_room, from_bot(bot, "Circle Guide für Woche 1"))
    await first.ask(circle_room, "!ping")  # everything before has been delivered
    reminders = first.find(circle_room, from_bot(bot, "Circle Guide für Woche 1"))
    assert "https://workingoutloud.com/de/" in body_of(reminder) and len(reminders) == 1

    ended = await people[1].ask(circle_room, "!wol ende")
    assert "abgeschlossen" in body_of(ended)
    poll = await first.wait_for(
        circle_room, lambda e: "org.matrix.msc3381.poll.start" in content_of(e)
    )
    assert len(content_of(poll)["org.matrix.msc3381.poll.start"]["answers"]) == 4
    empty = await mod.ask(room, "!wol suche")
    assert "niemand" in body_of(empty)
