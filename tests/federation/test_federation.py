"""The bot across two federating homeservers: invites, encryption, polls, tandem, allow-list."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from nio import JoinResponse, MegolmEvent
from pydantic import ValidationError

from bot.config import AccessConfig
from bot.dev.client import DevUser, body_of
from bot.dev.server import LocalSynapse
from tests.conftest import PLAIN_AND_ENCRYPTED, BotFactory, RunningBot, UserFactory, room_with_bot
from tests.faultproxy import FaultProxy
from tests.federation.conftest import SlowFederation
from tests.test_exchange_integration import _quiet_weekday, decrypted, until
from tests.test_polls_integration import respond, start_poll, stored_votes

pytestmark = [pytest.mark.integration, pytest.mark.federation]


async def invited_room(user: DevUser, bot: RunningBot, encrypted: bool) -> str:
    room_id = await user.create_room(invite=[bot.user_id], encrypted=encrypted)
    await user.wait_for(
        room_id, lambda e: e.sender == bot.user_id and "Impulsbot" in body_of(e), timeout=60
    )
    return room_id


@PLAIN_AND_ENCRYPTED
async def test_invite_from_the_other_server_is_accepted_and_answered(
    make_open_bot: BotFactory, make_remote_user: UserFactory, encrypted: bool
) -> None:
    bot = await make_open_bot()
    dora = await make_remote_user("dora")
    room = await invited_room(dora, bot, encrypted)
    # Replies reach the other server and, in the encrypted room, decrypt there.
    assert "Pong" in body_of(await dora.ask(room, "!ping", timeout=60))
    assert "!umfrage" in body_of(await dora.ask(room, "!hilfe", timeout=60))


async def test_invite_is_accepted_when_the_inviting_server_answers_slowly(
    make_open_bot: BotFactory, make_remote_user: UserFactory, slow_invites: SlowFederation
) -> None:
    bot = await make_open_bot()
    dora = await make_remote_user("dora")
    room = await invited_room(dora, bot, encrypted=False)
    assert slow_invites.delayed >= 1
    assert "Pong" in body_of(await dora.ask(room, "!ping", timeout=60))


def test_allowlist_names_servers_with_their_port() -> None:
    access = AccessConfig(invite_allowlist=["localhost:8448", "127.0.0.1:8008", "@chef:rathaus.de"])
    assert access.invite_allowed("@anna:localhost:8448")
    assert access.invite_allowed("@bert:127.0.0.1:8008")
    assert access.invite_allowed("@chef:rathaus.de")
    # Another port is another homeserver; a name without port is not the same server either.
    assert not access.invite_allowed("@eve:localhost:9999")
    assert not access.invite_allowed("@eve:localhost")
    assert not access.invite_allowed("@eve:127.0.0.1")
    with pytest.raises(ValidationError):
        AccessConfig(invite_allowlist=["localhost:port"])


async def test_invite_from_a_server_missing_from_the_allowlist_is_rejected(
    make_bot: BotFactory, make_remote_user: UserFactory, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await make_bot()  # allow-list: only the home server, with its port
    eve = await make_remote_user("eve")
    with caplog.at_level(logging.WARNING, logger="bot.router"):
        room = await eve.create_room(invite=[bot.user_id], encrypted=False)
        await until(lambda: any(f"rejecting invite to {room}" in m for m in caplog.messages), 60)
    assert bot.app is not None
    status, joined = await bot.app.shell.raw_request("GET", "/_matrix/client/v3/joined_rooms")
    assert status == 200 and room not in joined["joined_rooms"]
    assert await bot.app.store.pending_invites(0) == []
    assert not eve.find(room, lambda e: e.sender == bot.user_id)


async def test_invite_still_pending_at_a_restart_is_accepted_after_it(
    make_open_bot: BotFactory, make_remote_user: UserFactory, slow_invites: SlowFederation
) -> None:
    bot = await make_open_bot()
    dora = await make_remote_user("dora")
    slow_invites.delay = 6.0
    creating = asyncio.ensure_future(dora.client.room_create(invite=[bot.user_id]))
    assert bot.app is not None
    joins = bot.app.invite_queue()
    await until(lambda: bool(joins.active), 30)
    await bot.stop()  # the bot goes down while its join is still being refused
    room = (await creating).room_id
    await bot.start()  # the stored sync token is reused; the invite is picked up again
    await dora.wait_for(
        room, lambda e: e.sender == bot.user_id and "Impulsbot" in body_of(e), timeout=60
    )


@PLAIN_AND_ENCRYPTED
async def test_poll_counts_voters_from_both_servers(
    make_open_bot: BotFactory,
    make_user: UserFactory,
    make_remote_user: UserFactory,
    encrypted: bool,
) -> None:
    bot = await make_open_bot()
    dora = await make_remote_user("dora")
    alice = await make_user("alice")
    room = await invited_room(dora, bot, encrypted)
    await dora.client.room_invite(room, alice.user_id)
    await join_with_retries(alice, room)
    record = await start_poll(dora, room, bot, "!umfrage Wann? | Dienstag | Mittwoch")
    await respond(dora, room, record, "a1")
    await respond(alice, room, record, "a1")
    await stored_votes(bot, record, 2)
    result = body_of(await alice.ask(room, "!ergebnis", timeout=60))
    assert "2 Stimmen · 100 %" in result


async def test_tandem_round_pairs_people_across_servers(
    make_open_bot: BotFactory, make_user: UserFactory, make_remote_user: UserFactory
) -> None:
    carol = await make_user("carol")
    alice = await make_user("alice")
    dora = await make_remote_user("dora")
    bot = await make_open_bot(
        access={"team": [carol.user_id]},
        tandem={"weekday": _quiet_weekday()},
    )
    room = await room_with_bot(carol, bot, encrypted=False)
    await carol.client.room_invite(room, alice.user_id)
    await carol.client.room_invite(room, dora.user_id)
    await join_with_retries(alice, room)
    await join_with_retries(dora, room)
    await alice.ask(room, "!tandem an Vergabe", timeout=60)
    await dora.ask(room, "!tandem an Vergabe", timeout=60)
    command = await carol.say(room, "!tandem runde")
    report = await carol.wait_reply(room, command, timeout=90)
    assert "1 Gruppen mit zusammen 2 Personen" in body_of(report)

    def intro(user: DevUser) -> list[tuple[str, Any]]:
        return [
            (r, e)
            for r, e in decrypted(user)
            if r != room and e.sender == bot.user_id and "Kaffee-Tandem" in body_of(e)
        ]

    # The invite reaches the other server; its person may have to try the join again (the race).
    await until(lambda: bool(intro(alice)), 60)
    tandem_room = intro(alice)[0][0]
    await join_with_retries(dora, tandem_room)
    try:
        await until(lambda: bool(intro(dora)), 60)
    except AssertionError as exc:  # say which hop failed: key sharing or delivery
        seen = [e for r, e in dora.events if r == tandem_room]
        assert bot.app is not None
        known = bot.app.shell.client.device_store.active_user_devices(dora.user_id)
        raise AssertionError(
            f"intro not readable on the other server: {len(seen)} events there, "
            f"{sum(isinstance(e, MegolmEvent) for e in seen)} undecryptable; "
            f"bot knew {len(list(known))} device(s) of the person there"
        ) from exc
    assert intro(dora)[0][0] == tandem_room
    assert dora.user_id in body_of(intro(alice)[0][1])


async def join_with_retries(user: DevUser, room_id: str) -> None:
    """Join as a person would: the first click may come before the inviting server stored it."""
    for _ in range(20):
        if room_id in user.client.rooms:
            return
        if isinstance(await user.client.join(room_id), JoinResponse):
            break
        await asyncio.sleep(0.5)
    await user.wait_until(lambda: room_id in user.client.rooms, 60)


def creation_or_invite(method: str, path: str) -> bool:
    return (method == "POST" and path.endswith("/createRoom")) or (
        method == "PUT" and "/state/m.room.member/" in path
    )


async def test_room_creation_and_invites_are_retried_on_server_errors(
    synapse: LocalSynapse,
    make_open_bot: BotFactory,
    make_user: UserFactory,
    make_remote_user: UserFactory,
) -> None:
    faults = ["502", None, "502", None, None]  # creation fails once, then the first invite once
    async with FaultProxy(synapse.url, faults, matches=creation_or_invite) as proxy:
        bot = await make_open_bot(matrix={"homeserver": proxy.url})
        alice = await make_user("alice")
        dora = await make_remote_user("dora")
        assert bot.app is not None
        room = await bot.app.shell.create_room("Tandem", [alice.user_id, dora.user_id])
        await join_with_retries(alice, room)
        await join_with_retries(dora, room)
        await bot.stop()  # before the proxy goes away under it
    assert proxy.injected["502"] == 2
