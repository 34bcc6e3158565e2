"""Size limits and number bounds against the real Synapse, in plain and encrypted rooms.

Covers issue 19's two defects (a long ``!hilfe`` argument got no answer; a huge poll number
crashed ``!abstimmen``) and verifies bot/outgoing.py's size arithmetic empirically: what it
predicts is what the homeserver stores, and its budget is below what the homeserver accepts.
"""

from __future__ import annotations

from typing import Any

import pytest
from nio import Api, RoomSendResponse

from bot.dev.client import DevUser, body_of, content_of, html_of
from bot.matrix import outgoing
from bot.matrix.outgoing import CONTENT_BUDGET, ELLIPSIS, ENVELOPE_RESERVE, MAX_EVENT_BYTES, Target
from bot.text.i18n import Texts, escape
from tests.conftest import PLAIN_AND_ENCRYPTED, RunningBot, UserFactory
from tests.scenario import ChatFactory

pytestmark = pytest.mark.integration
DE = Texts("de")


async def stored_content(user: DevUser, room: str, event_id: str) -> dict[str, Any]:
    """The event content exactly as the homeserver stores it (ciphertext when encrypted)."""
    method, path = Api.room_get_event(user.client.access_token, room, event_id)
    response = await user.client.send(method, path)  # raw: nio's own call would decrypt it
    assert response.status == 200
    return (await response.json())["content"]


async def answers(user: DevUser, room: str, anchor: str, count: int) -> list[Any]:
    await user.wait_until(lambda: len(user.replies(room, anchor)) >= count, timeout=60)
    return user.replies(room, anchor)


def reply_to(event_id: str, body: str, html: str) -> dict[str, Any]:
    return {
        "msgtype": "m.notice",
        "body": body,
        "format": "org.matrix.custom.html",
        "formatted_body": html,
        "m.relates_to": {"m.in_reply_to": {"event_id": event_id}},
    }


@pytest.mark.parametrize(
    ("encrypted", "argument"),
    [(False, "<b>" * 15_000), (True, "ä" * 5_000)],  # both well over 64 KB once echoed
    ids=["plain", "encrypted"],
)
async def test_help_with_a_long_argument_gets_a_short_answer(
    make_chat: ChatFactory, encrypted: bool, argument: str
) -> None:
    chat = await make_chat(encrypted)
    reply = await chat.ask(f"!hilfe {argument}", timeout=60)
    assert ELLIPSIS in body_of(reply)
    assert "<b>" not in html_of(reply).replace("<br>", "")
    assert len(body_of(reply)) < 1_000
    assert "!hilfe" in body_of(reply)


@PLAIN_AND_ENCRYPTED
async def test_long_results_are_split_and_predicted_sizes_hold(
    make_chat: ChatFactory, encrypted: bool
) -> None:
    """Near-limit parts are accepted, and the prediction matches what Synapse stores."""
    bot, alice, room = await make_chat(encrypted)
    anchor = await alice.say(room, "Anker")
    lines = [f"{n}. <Treffer> „Äußerung“ " + "ä" * 300 for n in range(800)]
    html = "<br>".join(f"<b>{escape(line)}</b>" for line in lines)
    shell = _app(bot).shell
    await shell.send(room, "m.room.message", reply_to(anchor, "\n".join(lines), html), "t1")
    parts = await answers(alice, room, anchor, outgoing.MAX_PARTS)
    assert len(parts) == outgoing.MAX_PARTS
    assert body_of(parts[-1]).endswith(DE("limits.cut_hint", prefix="!").plain)
    target = Target(room, encrypted, shell.client.device_id)
    largest = 0
    for part in parts:
        stored = await stored_content(alice, room, part.event_id)
        actual = outgoing.canonical_size(stored)
        predicted = target.size("m.room.message", content_of(part))
        assert actual <= predicted <= actual + 8
        assert actual <= CONTENT_BUDGET
        largest = max(largest, actual)
        assert "&lt;Treffer&gt;" in html_of(part)
    assert largest > 0.9 * CONTENT_BUDGET  # the parts really go up to the limit


async def test_budget_is_below_what_synapse_accepts(make_user: UserFactory) -> None:
    """Finds the largest content Synapse accepts; our budget must be below it, but not far."""
    alice = await make_user("alice")
    room = await alice.create_room(invite=[], encrypted=False)
    low, high = CONTENT_BUDGET - 2_000, MAX_EVENT_BYTES + 1  # low accepted, high refused
    while high - low > 1:
        middle = (low + high) // 2
        content = {"msgtype": "m.text", "body": ""}
        content["body"] = "x" * (middle - outgoing.canonical_size(content))
        response = await alice.client.room_send(room, "m.room.message", content)
        if isinstance(response, RoomSendResponse):
            low = middle
        else:
            assert response.transport_response.status == 413, response
            high = middle
    envelope = MAX_EVENT_BYTES - low
    print(f"largest accepted content: {low} bytes; envelope {envelope} bytes")
    assert low > CONTENT_BUDGET
    assert envelope < ENVELOPE_RESERVE


@PLAIN_AND_ENCRYPTED
async def test_a_413_or_an_unsplittable_event_ends_in_a_short_notice(
    make_chat: ChatFactory, encrypted: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot, alice, room = await make_chat(encrypted)
    shell = _app(bot).shell
    too_large = DE("limits.too_large").plain
    poll_anchor = await alice.say(room, "Umfrage")
    poll = {
        "org.matrix.msc3381.poll.start": {"question": {"body": "?" * 70_000}},
        "m.relates_to": {"m.in_reply_to": {"event_id": poll_anchor}},
    }
    await shell.send(room, "org.matrix.msc3381.poll.start", poll, "t2")
    (notice,) = await answers(alice, room, poll_anchor, 1)
    assert body_of(notice) == too_large
    # The homeserver itself refusing (budget switched off): still a short answer, once.
    monkeypatch.setattr(outgoing, "CONTENT_BUDGET", 10 * MAX_EVENT_BYTES)
    anchor = await alice.say(room, "Anker")
    big = "y" * 70_000
    await shell.send(room, "m.room.message", reply_to(anchor, big, big), "t3")
    (notice,) = await answers(alice, room, anchor, 1)
    assert body_of(notice) == too_large


def _app(bot: RunningBot):
    assert bot.app is not None
    return bot.app


@PLAIN_AND_ENCRYPTED
async def test_huge_numbers_get_a_message_naming_the_range(
    make_chat: ChatFactory, encrypted: bool
) -> None:
    chat = await make_chat(encrypted)
    internal_error = DE("core.internal_error").plain
    vote = await chat.ask("!abstimmen 99999999999999999999 1")
    assert "zwischen 1 und 999999999" in body_of(vote)
    answer = await chat.ask("!abstimmen 1 99999999999999999999")
    assert "Antwortnummern liegen zwischen 1 und 20" in body_of(answer)
    for command in ("!ergebnis 99999999999999999999", f"!abstimmen {'9' * 5_000} 1"):
        reply = await chat.ask(command)
        assert body_of(reply) and body_of(reply) != internal_error
