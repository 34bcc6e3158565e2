"""The bot across two federating homeservers: invites, encryption, polls, tandem, allow-list."""

from __future__ import annotations

import pytest

from bot.devclient import DevUser, body_of
from tests.conftest import PLAIN_AND_ENCRYPTED, BotFactory, RunningBot
from tests.federation.conftest import Federation, SlowFederation, both_servers

pytestmark = [pytest.mark.integration, pytest.mark.federation]


async def invited_room(user: DevUser, bot: RunningBot, encrypted: bool) -> str:
    room_id = await user.create_room(invite=[bot.user_id], encrypted=encrypted)
    await user.wait_for(
        room_id, lambda e: e.sender == bot.user_id and "Impulsbot" in body_of(e), timeout=60
    )
    return room_id


@PLAIN_AND_ENCRYPTED
async def test_invite_from_the_other_server_is_accepted_and_answered(
    make_bot: BotFactory, make_remote_user, federation: Federation, encrypted: bool
) -> None:
    bot = await make_bot(access=both_servers(federation))
    dora = await make_remote_user("dora")
    room = await invited_room(dora, bot, encrypted)
    # Replies reach the other server and, in the encrypted room, decrypt there.
    assert "Pong" in body_of(await dora.ask(room, "!ping", timeout=60))
    assert "!umfrage" in body_of(await dora.ask(room, "!hilfe", timeout=60))


async def test_invite_is_accepted_when_the_inviting_server_answers_slowly(
    make_bot: BotFactory,
    make_remote_user,
    federation: Federation,
    slow_invites: SlowFederation,
) -> None:
    bot = await make_bot(access=both_servers(federation))
    dora = await make_remote_user("dora")
    room = await invited_room(dora, bot, encrypted=False)
    assert slow_invites.delayed >= 1
    assert "Pong" in body_of(await dora.ask(room, "!ping", timeout=60))
