"""Quick polls against a real Synapse: native and typed votes, ending, restarts, anonymity."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bot.dev.client import DevUser, body_of, content_of
from bot.features.polls.live import end_poll
from bot.features.polls.msc3381 import POLL_END, POLL_RESPONSE, POLL_START
from bot.store import Store
from bot.store.polls import PollRecord
from tests.conftest import PLAIN_AND_ENCRYPTED, RunningBot, UserFactory, room_with_bot
from tests.scenario import ChatFactory, MemberFactory

pytestmark = pytest.mark.integration


def event_type(event: Any) -> str:
    source = getattr(event, "source", {}) or {}
    return str(source.get("type", ""))


def of_type(bot: RunningBot, wanted: str) -> Callable[[Any], bool]:
    return lambda e: e.sender == bot.user_id and event_type(e) == wanted


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.2)


async def chat_with_bob(
    make_chat: ChatFactory, make_member: MemberFactory, encrypted: bool
) -> tuple[RunningBot, DevUser, str, DevUser]:
    """The usual cast: a bot and alice in a room, and bob who joins it."""
    bot, alice, room = await make_chat(encrypted)
    return bot, alice, room, await make_member(alice, room, "bob")


async def start_poll(user: DevUser, room: str, bot: RunningBot, command: str) -> PollRecord:
    since = len(user.events)
    await user.say(room, command)
    start = await user.wait_for(room, of_type(bot, POLL_START), since=since)
    assert bot.app is not None
    record = await bot.app.store.poll_by_start_event(start.event_id)
    assert record is not None and record.is_open
    return record


async def respond(user: DevUser, room: str, record: PollRecord, *answers: str) -> str:
    content = {
        "m.relates_to": {"rel_type": "m.reference", "event_id": record.start_event_id},
        POLL_RESPONSE: {"answers": list(answers)},
        "org.matrix.msc1767.text": "Meine Stimme",
    }
    return await user.send(room, POLL_RESPONSE, content)


async def stored_votes(bot: RunningBot, record: PollRecord, count: int) -> None:
    async def check() -> bool:
        assert bot.app is not None
        return len(await bot.app.store.poll_votes(record.id)) >= count

    await eventually(check)


@PLAIN_AND_ENCRYPTED
async def test_native_and_typed_votes_are_counted_together_and_end_once(
    make_chat: ChatFactory, make_member: MemberFactory, encrypted: bool
) -> None:
    bot, alice, room, bob = await chat_with_bob(make_chat, make_member, encrypted)
    record = await start_poll(
        alice, room, bot, "!umfrage Wann treffen wir uns? | Dienstag | Mittwoch | Donnerstag"
    )
    start = alice.find(room, of_type(bot, POLL_START))[0]
    assert f"Umfrage {record.id}" in body_of(start)
    assert [a["org.matrix.msc1767.text"] for a in content_of(start)[POLL_START]["answers"]] == [
        "Dienstag",
        "Mittwoch",
        "Donnerstag",
    ]

    await respond(bob, room, record, "a1")
    typed = await alice.ask(room, "!abstimmen 2")
    assert "Mittwoch" in body_of(typed)
    changed = await respond(bob, room, record, "a2")  # bob changes his mind
    await stored_votes(bot, record, 3)

    interim = body_of(await alice.ask(room, "!ergebnis"))
    assert "Zwischenstand" in interim
    # Element shows bob's vote only; alice's typed vote is a labelled addition.
    assert "1 Stimme in Element · 100 %" in interim
    assert "+ 1 Stimme per Befehl, in Element nicht sichtbar" in interim

    # Redacting the change brings back bob's earlier vote (MSC3381).
    await bob.client.room_redact(room, changed)

    async def redaction_seen() -> bool:
        assert bot.app is not None
        return any(v.redacted for v in await bot.app.store.poll_votes(record.id))

    await eventually(redaction_seen)

    refused = await bob.ask(room, "!umfrage beenden")
    assert "nur beenden" in body_of(refused)
    since = len(alice.events)
    await alice.say(room, "!umfrage beenden")
    end = await alice.wait_for(room, of_type(bot, POLL_END), since=since)
    assert content_of(end)["m.relates_to"] == {
        "rel_type": "m.reference",
        "event_id": record.start_event_id,
    }
    assert "beendet" in body_of(end)
    result = await alice.wait_for(
        room, lambda e: e.sender == bot.user_id and "Ergebnis von Umfrage" in body_of(e)
    )
    assert body_of(result).count("1 Stimme in Element · 100 %") == 1
    assert "+ 1 Stimme per Befehl, in Element nicht sichtbar" in body_of(result)
    assert "2 Stimmen (1 Stimme in Element + 1 Stimme per Befehl) von 2 Mitgliedern" in (
        body_of(result)
    )

    # After the end neither a native response nor a typed vote changes anything.
    await respond(bob, room, record, "a3")
    late = await bob.ask(room, "!abstimmen 3")
    assert "bereits beendet" in body_of(late)
    final = body_of(await alice.ask(room, f"!ergebnis {record.id}"))
    assert "Ergebnis von Umfrage" in final and "1 Stimme in Element · 100 %" in final
    assert final.count("0 Stimmen in Element · 0 %") == 2  # bob's late vote was not counted
    again = await alice.ask(room, f"!umfrage beenden {record.id}")
    assert "bereits beendet" in body_of(again)
    assert len(alice.find(room, of_type(bot, POLL_END))) == 1


@PLAIN_AND_ENCRYPTED
async def test_votes_sent_while_the_bot_is_down_still_count(
    make_chat: ChatFactory, make_member: MemberFactory, encrypted: bool
) -> None:
    bot, alice, room, bob = await chat_with_bob(make_chat, make_member, encrypted)
    record = await start_poll(alice, room, bot, "!poll Kaffee oder Tee? | Kaffee | Tee")
    await bot.stop()
    await respond(bob, room, record, "a2")
    offline_vote = await alice.say(room, "!vote 1")
    await bot.start()
    await alice.wait_reply(room, offline_vote)
    await stored_votes(bot, record, 2)

    # A gap in the sync loses responses; /relations brings them back (decrypted if needed).
    assert bot.app is not None
    await bot.app.store.execute("DELETE FROM poll_responses WHERE source = 'native'")
    result = body_of(await alice.ask(room, "!results"))
    assert "1 Stimme in Element · 100 %" in result and "+ 1 Stimme per Befehl" in result
    assert len(await bot.app.store.poll_votes(record.id)) == 2


async def test_poll_closes_itself_at_its_duration_and_crash_during_end_sends_once(
    make_chat: ChatFactory,
) -> None:
    bot, alice, room = await make_chat(encrypted=True)
    record = await start_poll(alice, room, bot, "!umfrage Pause? | Ja | Nein --dauer 2h")
    start = alice.find(room, of_type(bot, POLL_START))[0]
    assert "endet am" in body_of(start)
    await alice.ask(room, "!abstimmen 1")
    assert bot.app is not None
    await bot.app.store.set_poll_closes_at(record.id, int(time.time() * 1000))
    await alice.wait_for(room, of_type(bot, POLL_END), timeout=20)
    result = await alice.wait_for(
        room, lambda e: e.sender == bot.user_id and "Ergebnis von Umfrage" in body_of(e)
    )
    assert "+ 1 Stimme per Befehl, in Element nicht sichtbar" in body_of(result)

    # Killed after recording "ending" but before the end was sent: finished after the restart.
    second = await start_poll(alice, room, bot, "!umfrage Noch eine? | Ja | Nein")
    await bot.stop()
    async with Store(bot.config.storage.database) as store:
        assert await store.begin_poll_end(second.id, int(time.time() * 1000)) is not None
    await bot.start()
    assert bot.app is not None
    # After a restart the bot's client knows only rooms with news (see the report on
    # bot/matrix.py); any message makes the room known, then the job finishes the end.
    await alice.ask(room, "!ping")
    await alice.wait_for(
        room,
        lambda e: (
            of_type(bot, POLL_END)(e)
            and content_of(e)["m.relates_to"]["event_id"] == second.start_event_id
        ),
        timeout=20,
    )
    # Sending the end once more (a second crash) reuses the transaction: still one end event.
    await bot.app.store.execute("UPDATE polls SET status = 'ending' WHERE id = ?", (second.id,))
    refreshed = await bot.app.store.get_poll(second.id)
    assert refreshed is not None
    await end_poll(bot.app, refreshed, end_ts=refreshed.ended_at or 0)
    await alice.ask(room, "!ping")
    ends = alice.find(room, of_type(bot, POLL_END))
    assert len(ends) == 2
    stored = await bot.app.store.get_poll(second.id)
    assert stored is not None and stored.status == "ended"


async def test_anonymous_poll_by_direct_message_keeps_no_user_ids(
    make_chat: ChatFactory, make_user: UserFactory, make_member: MemberFactory
) -> None:
    bot, alice, room = await make_chat(encrypted=True, polls={"min_anonymous_group": 2})
    bob = await make_member(alice, room, "bob")
    since = len(alice.events)
    await alice.say(room, "!umfrage Wie zufrieden sind Sie? | Sehr | Mittel | Wenig --anonym")
    announcement = await alice.wait_for(
        room, lambda e: e.sender == bot.user_id and "Anonyme Umfrage" in body_of(e), since=since
    )
    assert event_type(announcement) == "m.room.message"
    assert bot.app is not None
    record = await bot.app.store.poll_by_start_event(announcement.event_id)
    assert record is not None and record.poll.anonymous

    public = await bob.ask(room, f"!abstimmen {record.id} 1")
    assert "Direktnachricht" in body_of(public)
    bob_dm = await room_with_bot(bob, bot, encrypted=True)
    assert "gezählt" in body_of(await bob.ask(bob_dm, f"!abstimmen {record.id} 1"))
    assert "bereits abgestimmt" in body_of(await bob.ask(bob_dm, f"!abstimmen {record.id} 2"))
    assert "Nummer der Umfrage" in body_of(await bob.ask(bob_dm, "!abstimmen 2"))
    outsider = await make_user("carol")
    outsider_dm = await room_with_bot(outsider, bot, encrypted=False)
    refused = await outsider.ask(outsider_dm, f"!abstimmen {record.id} 1")
    assert "nur Mitglieder" in body_of(refused)
    too_early = body_of(await alice.ask(room, "!ergebnis"))
    assert "keinen Zwischenstand" in too_early and "▓" not in too_early
    alice_dm = await room_with_bot(alice, bot, encrypted=False)
    assert "gezählt" in body_of(await alice.ask(alice_dm, f"!abstimmen {record.id} 3"))

    since = len(alice.events)
    await alice.say(room, "!umfrage beenden")
    end = await alice.wait_for(
        room, lambda e: e.sender == bot.user_id and "beendet" in body_of(e), since=since
    )
    assert "1 Stimme · 50 %" in body_of(end) and "Sehr" in body_of(end)

    rows = await bot.app.store.fetchall(
        "SELECT vote_key FROM poll_anonymous_voters WHERE poll_id = ?", (record.id,)
    )
    assert len(rows) == 2 and not any("@" in row[0] for row in rows)
    assert await bot.app.store.poll_votes(record.id) == []
    assert (await bot.app.store.personal_data_polls(bob.user_id)) == {}
