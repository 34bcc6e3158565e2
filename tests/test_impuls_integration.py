"""``!impuls`` against a real Synapse: subscribing, posting, plan, preview, schedule, feedback,
and exactly-once posting across a crash between sending and recording."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from nio import Api, RoomSendResponse

from bot.dev.client import DevUser, body_of, content_of, html_of
from bot.features.impulses.schedule import local_slot, slot_key
from bot.features.impulses.scheduler import from_ms, process_subscription, run_due, to_ms
from bot.features.impulses.state import impulses_state
from tests.conftest import PLAIN_AND_ENCRYPTED, RunningBot, UserFactory
from tests.scenario import ChatFactory, MemberFactory, invite

pytestmark = pytest.mark.integration

UTC = dt.UTC


def is_impulse(bot_id: str) -> Callable[[Any], bool]:
    """A scheduled/`jetzt` impulse post: an m.text (not a notice reply) from the bot."""
    return lambda e: e.sender == bot_id and content_of(e).get("msgtype") == "m.text"


async def eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.2)


def days_later(slot: dt.datetime, days: int, app: Any) -> dt.datetime:
    """The same wall-clock time ``days`` later (a DST change in between shifts the UTC instant)."""
    tz = app.config.bot.tz
    local = slot.astimezone(tz)
    return local_slot(local.date() + dt.timedelta(days=days), local.time(), tz)


async def react(user: DevUser, room: str, event_id: str, key: str, encrypted: bool) -> str:
    """A reaction as Element sends it: encrypted in encrypted rooms (nio itself never encrypts
    reactions, so the test does it by hand and sends the m.room.encrypted event directly)."""
    if not encrypted:
        return await user.react(room, event_id, key)
    content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
    event_type, payload = user.client.encrypt(room, "m.reaction", content)
    method, path, data = Api.room_send(
        user.client.access_token, room, event_type, payload, uuid.uuid4().hex
    )
    response = await user.client._send(RoomSendResponse, method, path, data, (room,))
    assert isinstance(response, RoomSendResponse), response
    return response.event_id


async def feedback_rows(bot: RunningBot, room: str) -> list[dict[str, Any]]:
    assert bot.app is not None
    return [row async for row in bot.app.store.iter_feedback(room_id=room)]


async def subscribe_far_away(alice: DevUser, room: str, bot: RunningBot) -> dt.datetime:
    """Subscribe for a daily time ~12 h from now, so the real clock never hits it in a test."""
    assert bot.app is not None
    local = dt.datetime.now(bot.config.bot.tz) + dt.timedelta(hours=12)
    reply = await alice.ask(room, f"!impuls abonnieren täglich {local:%H:%M}")
    assert "Abonniert" in body_of(reply)
    sub = await bot.app.store.get_impulse_subscription(room)
    assert sub is not None and sub.next_due_ms is not None
    return from_ms(sub.next_due_ms)


async def test_subscribe_plan_permissions_and_bad_input(
    make_chat: ChatFactory, make_user: UserFactory
) -> None:
    bot, alice, room = await make_chat()
    guest = await make_user("guest")
    assert bot.app is not None
    library = impulses_state(bot.app).library

    reply = await alice.ask(room, "!impuls abonnieren Mo,Mi,Fr 08:30")
    assert "Mo, Mi, Fr um 08:30 Uhr" in body_of(reply)
    assert library.impulses[0].title in body_of(reply)  # the next one is announced
    sub = await bot.app.store.get_impulse_subscription(room)
    assert sub is not None and sub.schedule == "Mo,Mi,Fr 08:30"

    plan = await alice.ask(room, "!impuls plan")
    lines = [line for line in body_of(plan).split("\n") if "08:30 –" in line]
    assert len(lines) == 5
    assert all(line.split(",")[0] in ("Mo", "Mi", "Fr") for line in lines)
    assert [line.split(" – ", 1)[1] for line in lines] == [i.title for i in library.impulses[:5]]
    assert "<b>" in html_of(plan)

    bad = await alice.ask(room, "!impuls abonnieren Mo 25:00")
    assert "25:00" in body_of(bad) and "!impuls abonnieren Mo-Fr 09:00" in body_of(bad)
    assert (await bot.app.store.get_impulse_subscription(room)) == sub  # nothing changed

    await invite(alice, room, guest)
    refused = await guest.ask(room, "!impuls jetzt")
    assert "`!impuls jetzt`" in body_of(refused) and "Moderat" in body_of(refused)
    nothing = await guest.ask(room, "!impuls")
    assert "noch keinen Impuls" in body_of(nothing)
    assert not guest.find(room, is_impulse(bot.user_id))

    stopped = await alice.ask(room, "!impuls abbestellen")
    assert "Abbestellt" in body_of(stopped)
    assert await bot.app.store.get_impulse_subscription(room) is None


@PLAIN_AND_ENCRYPTED
async def test_post_now_feedback_redaction_and_repeat(
    make_chat: ChatFactory, encrypted: bool
) -> None:
    bot, alice, room = await make_chat(encrypted)
    assert bot.app is not None
    first = impulses_state(bot.app).library.impulses[0]

    await alice.say(room, "!impuls jetzt")
    post = await alice.wait_for(room, is_impulse(bot.user_id))
    assert f"<b>{first.title}</b>" in html_of(post)
    assert body_of(post).startswith(first.title) and "<" not in body_of(post)
    if first.question:
        assert body_of(post).rstrip().endswith(first.question)

    reaction = await react(alice, room, post.event_id, "👍", encrypted)
    await alice.say(room, "Probieren wir morgen im Team aus.", thread=post.event_id)
    await alice.say(room, "Danke!", reply_to=post.event_id)
    await alice.ask(room, "!ping", reply_to=post.event_id)  # a command, not feedback

    async def recorded() -> list[dict[str, Any]]:
        rows = await feedback_rows(bot, room)
        return rows if len(rows) == 3 else []

    rows = await eventually(recorded)
    assert {(r["kind"], r["text"]) for r in rows} == {
        ("reaction", "👍"),
        ("reply", "Probieren wir morgen im Team aus."),
        ("reply", "Danke!"),
    }
    assert {r["reference"] for r in rows} == {f"impuls:{first.id}"}
    assert {r["user_id"] for r in rows} == {alice.user_id}

    await alice.client.room_redact(room, reaction)

    async def reaction_gone() -> bool:
        return all(r["kind"] != "reaction" for r in await feedback_rows(bot, room))

    await eventually(reaction_gone)

    repeat = await alice.ask(room, "!impuls")
    assert first.title in body_of(repeat) and "letzte Impuls" in body_of(repeat)
    second = await react(
        alice, room, repeat.event_id, "💡", encrypted
    )  # feedback on the repeat counts too

    async def repeat_reaction() -> bool:
        return any(r["source_event_id"] == second for r in await feedback_rows(bot, room))

    await eventually(repeat_reaction)


async def test_preview_goes_to_direct_chat_and_is_not_consumed(
    make_chat: ChatFactory, make_member: MemberFactory
) -> None:
    # Encrypted: the bot then knows alice's devices and can share the DM's room key with her.
    bot, alice, room = await make_chat(encrypted=True)
    await make_member(alice, room, "colleague")  # three members: a group room, not a direct chat
    assert bot.app is not None
    first = impulses_state(bot.app).library.impulses[0]

    reply = await alice.ask(room, "!impuls vorschau")
    assert "Direktnachricht" in body_of(reply)
    await alice.wait_until(
        lambda: any(
            r != room and e.sender == bot.user_id and "Vorschau" in body_of(e)
            for r, e in alice.events
        )
    )
    preview = next(e for r, e in alice.events if r != room and "Vorschau" in body_of(e))
    assert first.title in body_of(preview)
    assert not alice.find(room, is_impulse(bot.user_id))  # nothing posted in the room

    await alice.say(room, "!impuls jetzt")
    post = await alice.wait_for(room, is_impulse(bot.user_id))
    assert first.title in body_of(post)  # the preview did not use it up


async def test_scheduled_slot_is_posted_within_seconds(make_chat: ChatFactory) -> None:
    bot, alice, room = await make_chat()
    app = bot.app
    assert app is not None
    slot = await subscribe_far_away(alice, room, bot)
    # Let the bot's clock run 3 s before the slot: the real scheduler job must post it by itself.
    offset = slot - dt.timedelta(seconds=3) - dt.datetime.now(UTC)
    app.now = lambda: dt.datetime.now(UTC) + offset
    expected_real = (slot - offset).timestamp()

    post = await alice.wait_for(room, is_impulse(bot.user_id), timeout=20)
    lag = post.server_timestamp / 1000 - expected_real
    assert -0.5 < lag < 5.0, f"posted {lag:.2f} s after the slot"
    key = f"slot:{slot_key(slot, app.config.bot.tz)}"
    stored = await app.store.get_impulse_post(room, key)
    assert stored is not None and stored.status == "posted" and stored.event_id == post.event_id
    sub = await app.store.get_impulse_subscription(room)
    assert sub is not None and sub.next_due_ms is not None
    assert from_ms(sub.next_due_ms) == days_later(slot, 1, app)


async def test_missed_slots_catch_up_once_or_skip(make_chat: ChatFactory) -> None:
    bot, alice, room = await make_chat()
    app = bot.app
    assert app is not None
    slot = await subscribe_far_away(alice, room, bot)

    # Down over the slot, back 30 min later (within catch_up = 2 h): posted once on recovery.
    assert await run_due(app, slot + dt.timedelta(minutes=30)) == 1
    assert await run_due(app, slot + dt.timedelta(minutes=31)) == 0
    # Down for the next slot and back only 3 h later: skipped, nothing posted.
    assert await run_due(app, days_later(slot, 1, app) + dt.timedelta(hours=3)) == 0
    await alice.ask(room, "!ping")  # sync barrier
    assert len(alice.find(room, is_impulse(bot.user_id))) == 1
    sub = await app.store.get_impulse_subscription(room)
    assert sub is not None and from_ms(sub.next_due_ms or 0) == days_later(slot, 2, app)


@PLAIN_AND_ENCRYPTED
async def test_crash_around_sending_posts_each_slot_exactly_once(
    make_chat: ChatFactory, encrypted: bool
) -> None:
    bot, alice, room = await make_chat(encrypted)
    app = bot.app
    assert app is not None
    slot = await subscribe_far_away(alice, room, bot)
    key = f"slot:{slot_key(slot, app.config.bot.tz)}"

    # 1) Crash AFTER the send reached Synapse but BEFORE "posted" was recorded.
    class Crash(Exception):
        pass

    async def crash(*args: Any, **kwargs: Any) -> None:
        raise Crash

    app.store.mark_impulse_posted = crash  # type: ignore[method-assign]
    await run_due(app, slot + dt.timedelta(seconds=1))
    sent = await alice.wait_for(room, is_impulse(bot.user_id))
    open_claim = await app.store.get_impulse_post(room, key)
    assert open_claim is not None and open_claim.status == "claimed"
    await bot.restart()  # the new process finds the open claim and re-sends it (same txn ID)
    assert bot.app is not None
    store = bot.app.store

    async def confirmed() -> Any:
        post = await store.get_impulse_post(room, key)
        return post if post is not None and post.status == "posted" else None

    recovered = await eventually(confirmed)
    # Synapse answered the re-send with the event it already had: same event, no second post.
    assert recovered.event_id == sent.event_id
    assert recovered.impulse_id == open_claim.impulse_id

    # 2) Crash AFTER claiming the next slot but BEFORE sending: the restart posts the claimed one.
    sub = await store.get_impulse_subscription(room)
    assert sub is not None
    next_slot = days_later(slot, 1, bot.app)
    claim = await process_subscription(bot.app, sub, next_slot + dt.timedelta(seconds=1))
    assert claim is not None and claim.status == "claimed"
    await bot.restart()
    assert bot.app is not None
    store = bot.app.store
    next_key = f"slot:{slot_key(next_slot, bot.config.bot.tz)}"

    async def second_confirmed() -> Any:
        post = await store.get_impulse_post(room, next_key)
        return post if post is not None and post.status == "posted" else None

    second = await eventually(second_confirmed)
    assert second.impulse_id == claim.impulse_id != recovered.impulse_id

    await alice.ask(room, "!ping")  # sync barrier: everything the bot sent has arrived
    posts = alice.find(room, is_impulse(bot.user_id))
    assert [p.event_id for p in posts] == [sent.event_id, second.event_id]
    assert to_ms(slot) < to_ms(next_slot)
