"""Gap insight against a real Synapse: anonymous search log, wishes, ``!angebot lücken``, digest."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.dev.client import body_of, content_of
from bot.features.search.digest import send_digest
from tests.conftest import PLAIN_AND_ENCRYPTED, BotFactory, UserFactory, room_with_bot
from tests.scenario import ChatFactory, MemberFactory, from_bot, invite

pytestmark = pytest.mark.integration


@PLAIN_AND_ENCRYPTED
async def test_gap_shows_for_team_in_dm_only_and_hides_small_groups(
    make_chat: ChatFactory, make_user: UserFactory, make_member: MemberFactory, encrypted: bool
) -> None:
    carol = await make_user("carol")
    bot, alice, room = await make_chat(encrypted, access={"team": [carol.user_id]})
    bob = await make_member(alice, room, "bob")
    dave = await make_member(alice, room, "dave")

    for user in (alice, bob, dave):
        reply = await user.ask(room, "!angebot Drohnen")
        assert "!angebot wunsch" in body_of(reply)
    for user in (alice, bob):  # only two people: must stay invisible
        await user.ask(room, "!angebot Zeppelin")
    await alice.ask(room, "!angebot Drohnen")  # the same person again the same day: counted once
    thanks = await bob.ask(room, "!angebot wunsch Drohnen für die Vermessung von Flächen")
    assert "Danke" in body_of(thanks)
    again = await dave.ask(room, "!wish Drohnen")
    assert "Danke" in body_of(again)

    refused = await alice.ask(room, "!angebot lücken")
    assert "Initiativteam" in body_of(refused)
    await invite(alice, room, carol)
    not_here = await carol.ask(room, "!angebot lücken")
    assert "Direktchat" in body_of(not_here)  # the report itself goes to carol's DM

    direct = await room_with_bot(carol, bot, encrypted)
    report = await carol.ask(direct, "!angebot lücken")
    text = body_of(report)
    assert "drohnen – 3× ohne passenden Treffer" in text
    assert "zeppelin" not in text.lower()
    assert "mindestens 3" in text

    rows = await bot.app.store.fetchall("SELECT * FROM search_log")
    assert rows and all(alice.user_id not in str(tuple(r)) for r in rows)
    assert all(room not in str(tuple(r)) for r in rows)


async def test_weekly_digest_posts_text_and_chart_once(
    make_bot: BotFactory, make_user: UserFactory
) -> None:
    users = await asyncio.gather(*(make_user(n) for n in ("anna", "ben", "cem")))
    owner = users[0]
    digest_room = await owner.create_room(invite=[], encrypted=True)
    bot = await make_bot(insights={"digest_room": digest_room})
    room = await room_with_bot(owner, bot, encrypted=False)
    for user in users[1:]:
        await invite(owner, room, user)
    await owner.client.room_invite(digest_room, bot.user_id)
    await owner.wait_for(digest_room, from_bot(bot))
    for user in users:
        await user.ask(room, "!angebot Drohnen")
    assert bot.app is not None
    tomorrow = bot.app.now().astimezone(bot.app.config.bot.tz) + dt.timedelta(days=1)
    for _ in range(2):  # a retried send must not post twice
        await send_digest(bot.app, digest_room, tomorrow, "2099-W01")

    def digest(event: object) -> bool:
        return "Wochenrückblick Angebotssuche 2099-W01" in body_of(event)

    await owner.wait_for(digest_room, digest)
    chart = await owner.wait_for(digest_room, lambda e: body_of(e) == "luecken-2099-W01.png")
    assert content_of(chart).get("msgtype") in ("m.file", "m.image")
    assert chart.sender == bot.user_id
    assert "drohnen" in body_of(owner.find(digest_room, digest)[0])
    await asyncio.sleep(1)
    assert len(owner.find(digest_room, digest)) == 1


@PLAIN_AND_ENCRYPTED
async def test_one_person_searching_a_topic_many_times_never_shows(
    make_chat: ChatFactory, make_user: UserFactory, encrypted: bool
) -> None:
    """Minimum group = distinct people (issue 14): three logged searches and three wishes by one
    person stay out of the team's report."""
    carol = await make_user("carol")
    bot, alice, room = await make_chat(encrypted, access={"team": [carol.user_id]})
    # Different filters are different searches (each one is logged), but one person.
    for query in ("Drohnen", "Drohnen format:online", "Drohnen kostenlos"):
        await alice.ask(room, f"!angebot {query}")
    for text in ("Drohnen bitte", "Mehr zu Drohnen", "Drohnen im Einsatz"):
        assert "Danke" in body_of(await alice.ask(room, f"!wunsch {text}"))
    assert bot.app is not None
    logged = await bot.app.store.fetchall("SELECT * FROM search_log WHERE topic = 'drohn'")
    assert len(logged) == 3
    direct = await room_with_bot(carol, bot, encrypted)
    text = body_of(await carol.ask(direct, "!angebot lücken"))
    assert "drohnen" not in text.lower()
    people = await bot.app.store.fetchall("SELECT person FROM group_people")
    assert people and all(alice.user_id not in str(r[0]) for r in people)
