"""The bot core against a real Synapse: joining, help, routing, permissions, restarts."""

from __future__ import annotations

import asyncio

import pytest

from bot.dev.client import body_of, content_of, html_of
from tests.conftest import PLAIN_AND_ENCRYPTED, BotFactory, UserFactory
from tests.scenario import ChatFactory, MemberFactory, from_bot

pytestmark = pytest.mark.integration


@PLAIN_AND_ENCRYPTED
async def test_invite_join_greeting_once(make_chat: ChatFactory, encrypted: bool) -> None:
    bot, alice, room = await make_chat(encrypted)
    greeting = alice.find(room, from_bot(bot))
    assert len(greeting) == 1
    assert "!hilfe" in body_of(greeting[0])
    assert content_of(greeting[0])["msgtype"] == "m.notice"
    await bot.restart()
    await alice.ask(room, "!ping")
    assert (
        sum("Hallo, ich bin Impulsbot" in body_of(e) for e in alice.find(room, from_bot(bot))) == 1
    )


@PLAIN_AND_ENCRYPTED
async def test_help_lists_commands_and_details(make_chat: ChatFactory, encrypted: bool) -> None:
    chat = await make_chat(encrypted)
    reply = await chat.ask("!hilfe")
    assert "!ping" in body_of(reply) and "!hilfe" in body_of(reply)
    assert content_of(reply)["msgtype"] == "m.notice"
    assert "<code>" in html_of(reply)
    detail = await chat.ask("!help ping")
    assert "Version" in body_of(detail)
    unknown = await chat.ask("!hilfe <b>quatsch</b>")
    assert "&lt;b&gt;quatsch" in html_of(unknown)


@PLAIN_AND_ENCRYPTED
async def test_unknown_command_hint_and_html_escaped(
    make_chat: ChatFactory, encrypted: bool
) -> None:
    chat = await make_chat(encrypted)
    reply = await chat.ask("!<img>")
    assert "!hilfe" in body_of(reply)
    assert "<img>" not in html_of(reply) and "&lt;img&gt;" in html_of(reply)


async def test_ping_reports_version_and_time(make_chat: ChatFactory) -> None:
    chat = await make_chat()
    reply = await chat.ask("!PING")  # case-insensitive
    assert "Pong" in body_of(reply) and " ms " in body_of(reply)


async def test_plain_messages_notices_and_edits_are_ignored(make_chat: ChatFactory) -> None:
    bot, alice, room = await make_chat()
    await alice.say(room, "Guten Morgen zusammen!")
    await alice.send(room, "m.room.message", {"msgtype": "m.notice", "body": "!ping"})
    original = await alice.say(room, "Hallo")
    await alice.send(
        room,
        "m.room.message",
        {
            "msgtype": "m.text",
            "body": "* !ping",
            "m.new_content": {"msgtype": "m.text", "body": "!ping"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": original},
        },
    )
    marker = await alice.ask(room, "!ping")  # the bot is alive and has seen everything before
    answers = alice.find(room, from_bot(bot))
    assert [e for e in answers if "Pong" in body_of(e)] == [marker]


@PLAIN_AND_ENCRYPTED
async def test_command_sent_as_reply_still_parses(make_chat: ChatFactory, encrypted: bool) -> None:
    bot, alice, room = await make_chat(encrypted)
    greeting = alice.find(room, from_bot(bot))[0]
    event_id = await alice.send(
        room,
        "m.room.message",
        {
            "msgtype": "m.text",
            "body": f"> <{bot.user_id}> Hallo, ich bin Impulsbot.\n\n!ping",
            "format": "org.matrix.custom.html",
            "formatted_body": "<mx-reply><blockquote>Hallo</blockquote></mx-reply>!ping",
            "m.relates_to": {"m.in_reply_to": {"event_id": greeting.event_id}},
        },
    )
    reply = await alice.wait_reply(room, event_id)
    assert "Pong" in body_of(reply)


async def test_moderator_command_refused_for_others(
    make_chat: ChatFactory, make_member: MemberFactory
) -> None:
    _, owner, room = await make_chat(name="owner")
    guest = await make_member(owner, room, "guest")
    refused = await guest.ask(room, "!sprache en")
    assert "Moderat" in body_of(refused)
    accepted = await owner.ask(room, "!sprache en")  # room creator has power level 100
    assert "English" in body_of(accepted)
    english = await guest.ask(room, "!gibtsnicht")
    assert "I don't know" in body_of(english)


async def test_invite_from_outside_allowlist_is_rejected(
    make_bot: BotFactory, make_user: UserFactory
) -> None:
    bot = await make_bot(access={"invite_allowlist": ["trusted.example.org"]})
    mallory = await make_user("mallory")
    room = await mallory.create_room(invite=[bot.user_id], encrypted=False)
    await mallory.wait_for(
        room,
        lambda e: (
            getattr(e, "state_key", None) == bot.user_id
            and getattr(e, "membership", None) == "leave"
        ),
    )
    assert not mallory.find(room, from_bot(bot))


async def test_restart_does_not_replay_old_commands(make_chat: ChatFactory) -> None:
    bot, alice, room = await make_chat(encrypted=True)
    first = await alice.say(room, "!ping")
    await alice.wait_reply(room, first)
    await bot.restart()
    await alice.ask(room, "!ping")  # processed after restart: old events were seen again
    await asyncio.sleep(1)
    assert len(alice.replies(room, first)) == 1


@PLAIN_AND_ENCRYPTED
async def test_commands_sent_while_down_are_answered_once(
    make_chat: ChatFactory, encrypted: bool
) -> None:
    bot, alice, room = await make_chat(encrypted)
    await bot.stop()
    offline = [await alice.say(room, "!ping") for _ in range(2)]
    await bot.start()
    for event_id in offline:
        await alice.wait_reply(room, event_id)
    await bot.restart()
    await alice.ask(room, "!ping")
    await asyncio.sleep(1)
    assert [len(alice.replies(room, e)) for e in offline] == [1, 1]


async def test_commands_older_than_max_age_are_not_answered_late(make_chat: ChatFactory) -> None:
    bot, alice, room = await make_chat(matrix={"max_command_age": "2s"})
    await bot.stop()
    stale = await alice.say(room, "!ping")
    await asyncio.sleep(3)
    await bot.start()
    await alice.ask(room, "!ping")
    assert alice.replies(room, stale) == []
