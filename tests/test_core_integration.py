"""The bot core against a real Synapse: joining, help, routing, permissions, restarts."""

from __future__ import annotations

import asyncio

import pytest

from bot.dev.client import body_of, content_of, html_of
from tests.conftest import PLAIN_AND_ENCRYPTED, BotFactory, UserFactory, room_with_bot

pytestmark = pytest.mark.integration


def from_bot(bot_id: str):
    return lambda event: event.sender == bot_id and bool(body_of(event))


@PLAIN_AND_ENCRYPTED
async def test_invite_join_greeting_once(
    make_bot: BotFactory, make_user: UserFactory, encrypted: bool
) -> None:
    bot = await make_bot()
    alice = await make_user("alice")
    room = await room_with_bot(alice, bot, encrypted)
    greeting = alice.find(room, from_bot(bot.user_id))
    assert len(greeting) == 1
    assert "!hilfe" in body_of(greeting[0])
    assert content_of(greeting[0])["msgtype"] == "m.notice"
    await bot.restart()
    await alice.ask(room, "!ping")
    assert (
        sum(
            "Hallo, ich bin Impulsbot" in body_of(e)
            for e in alice.find(room, from_bot(bot.user_id))
        )
        == 1
    )


@PLAIN_AND_ENCRYPTED
async def test_help_lists_commands_and_details(
    make_bot: BotFactory, make_user: UserFactory, encrypted: bool
) -> None:
    bot = await make_bot()
    alice = await make_user("alice")
    room = await room_with_bot(alice, bot, encrypted)
    reply = await alice.ask(room, "!hilfe")
    assert "!ping" in body_of(reply) and "!hilfe" in body_of(reply)
    assert content_of(reply)["msgtype"] == "m.notice"
    assert "<code>" in html_of(reply)
    detail = await alice.ask(room, "!help ping")
    assert "Version" in body_of(detail)
    unknown = await alice.ask(room, "!hilfe <b>quatsch</b>")
    assert "&lt;b&gt;quatsch" in html_of(unknown)


@PLAIN_AND_ENCRYPTED
async def test_unknown_command_hint_and_html_escaped(
    make_bot: BotFactory, make_user: UserFactory, encrypted: bool
) -> None:
    bot = await make_bot()
    alice = await make_user("alice")
    room = await room_with_bot(alice, bot, encrypted)
    reply = await alice.ask(room, "!<img>")
    assert "!hilfe" in body_of(reply)
    assert "<img>" not in html_of(reply) and "&lt;img&gt;" in html_of(reply)


async def test_ping_reports_version_and_time(make_bot: BotFactory, make_user: UserFactory) -> None:
    bot = await make_bot()
    alice = await make_user("alice")
    room = await room_with_bot(alice, bot, encrypted=False)
    reply = await alice.ask(room, "!PING")  # case-insensitive
    assert "Pong" in body_of(reply) and " ms " in body_of(reply)


async def test_plain_messages_notices_and_edits_are_ignored(
    make_bot: BotFactory, make_user: UserFactory
) -> None:
    bot = await make_bot()
    alice = await make_user("alice")
    room = await room_with_bot(alice, bot, encrypted=False)
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
    answers = alice.find(room, from_bot(bot.user_id))
    assert [e for e in answers if "Pong" in body_of(e)] == [marker]


@PLAIN_AND_ENCRYPTED
async def test_command_sent_as_reply_still_parses(
    make_bot: BotFactory, make_user: UserFactory, encrypted: bool
) -> None:
    bot = await make_bot()
    alice = await make_user("alice")
    room = await room_with_bot(alice, bot, encrypted)
    greeting = alice.find(room, from_bot(bot.user_id))[0]
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
    make_bot: BotFactory, make_user: UserFactory
) -> None:
    bot = await make_bot()
    owner = await make_user("owner")
    guest = await make_user("guest")
    room = await room_with_bot(owner, bot, encrypted=False)
    await owner.client.room_invite(room, guest.user_id)
    await guest.join(room)
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
    assert not mallory.find(room, from_bot(bot.user_id))


async def test_restart_does_not_replay_old_commands(
    make_bot: BotFactory, make_user: UserFactory
) -> None:
    bot = await make_bot()
    alice = await make_user("alice")
    room = await room_with_bot(alice, bot, encrypted=True)
    first = await alice.say(room, "!ping")
    await alice.wait_reply(room, first)
    await bot.restart()
    await alice.ask(room, "!ping")  # processed after restart: old events were seen again
    await asyncio.sleep(1)
    assert len(alice.replies(room, first)) == 1


@PLAIN_AND_ENCRYPTED
async def test_commands_sent_while_down_are_answered_once(
    make_bot: BotFactory, make_user: UserFactory, encrypted: bool
) -> None:
    bot = await make_bot()
    alice = await make_user("alice")
    room = await room_with_bot(alice, bot, encrypted)
    await bot.stop()
    offline = [await alice.say(room, "!ping") for _ in range(2)]
    await bot.start()
    for event_id in offline:
        await alice.wait_reply(room, event_id)
    await bot.restart()
    await alice.ask(room, "!ping")
    await asyncio.sleep(1)
    assert [len(alice.replies(room, e)) for e in offline] == [1, 1]


async def test_commands_older_than_max_age_are_not_answered_late(
    make_bot: BotFactory, make_user: UserFactory
) -> None:
    bot = await make_bot(matrix={"max_command_age": "2s"})
    alice = await make_user("alice")
    room = await room_with_bot(alice, bot, encrypted=False)
    await bot.stop()
    stale = await alice.say(room, "!ping")
    await asyncio.sleep(3)
    await bot.start()
    await alice.ask(room, "!ping")
    assert alice.replies(room, stale) == []
