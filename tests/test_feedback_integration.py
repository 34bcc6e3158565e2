"""Feedback, export and data protection against a real Synapse, in plain and encrypted rooms."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from nio.crypto.attachments import decrypt_attachment
from openpyxl import load_workbook

from bot.cli.main import main
from bot.dev.client import DevUser, body_of, content_of, html_of
from bot.features.feedback.state import ForgetRequests
from bot.privacy import pseudonym
from bot.store.feedback import FeedbackRecord
from commands.datenschutz import retention_job
from tests.conftest import PLAIN_AND_ENCRYPTED, RunningBot, UserFactory, room_with_bot
from tests.scenario import ChatFactory, GroupFactory, group_room

pytestmark = pytest.mark.integration

KEY = "integration-test-key-0123456789"


def reaction_to(event_id: str, key: str = "✅"):
    def check(event: Any) -> bool:
        relates = content_of(event).get("m.relates_to") or {}
        return (
            relates.get("rel_type") == "m.annotation"
            and relates.get("event_id") == event_id
            and relates.get("key") == key
        )

    return check


def file_from(bot_id: str):
    return lambda e: e.sender == bot_id and content_of(e).get("msgtype") == "m.file"


async def download(user: DevUser, event: Any) -> bytes:
    content = content_of(event)
    if "file" in content:  # encrypted attachment
        info = content["file"]
        response = await user.client.download(mxc=info["url"])
        return decrypt_attachment(
            response.body, info["key"]["k"], info["hashes"]["sha256"], info["iv"]
        )
    return (await user.client.download(mxc=content["url"])).body


async def wait_any(user: DevUser, predicate: Any, timeout: float = 30.0) -> tuple[str, Any]:
    """The first matching event in any room, with its room."""
    await user.wait_until(lambda: any(predicate(e) for _, e in user.events), timeout)
    return next((r, e) for r, e in user.events if predicate(e))


async def stored(bot: RunningBot) -> list[dict[str, Any]]:
    assert bot.app is not None
    return [row async for row in bot.app.store.iter_feedback()]


async def cli(*args: str) -> int:
    # The CLI runs its own event loop, as it does from a shell.
    return await asyncio.to_thread(main, list(args))


@PLAIN_AND_ENCRYPTED
async def test_feedback_in_room_stored_confirmed_and_exported(
    make_group: GroupFactory, encrypted: bool, tmp_path: Path
) -> None:
    bot, (alice, _), room = await make_group(
        "alice", "bob", encrypted=encrypted, privacy={"pseudonym_key": KEY}
    )
    greeting = alice.find(room, lambda e: e.sender == bot.user_id and bool(body_of(e)))[0]
    assert bot.app is not None
    await bot.app.store.set_value(f"ref:{greeting.event_id}", "impuls:lean-coffee")

    first = await alice.say(room, "!feedback 4/5 Sehr hilfreich; <b>danke</b>")
    await alice.wait_for(room, reaction_to(first))
    second = await alice.say(room, "!rueckmeldung Bezug auf den Impuls", reply_to=greeting.event_id)
    await alice.wait_for(room, reaction_to(second))
    third = await alice.say(room, "!Rückmeldung Im Thread", thread=greeting.event_id)
    await alice.wait_for(room, reaction_to(third))
    fourth = await alice.say(room, "!feedback Nachtrag", reply_to=first)
    await alice.wait_for(room, reaction_to(fourth))
    # The text is never repeated in the room: no answers from the bot, only the reaction.
    assert [e for e in alice.replies(room, first) if e.sender == bot.user_id] == []
    assert not alice.find(room, lambda e: e.sender == bot.user_id and "hilfreich" in body_of(e))

    empty = await alice.ask(room, "!feedback")
    assert "!feedback 4/5" in body_of(empty)
    too_long = await alice.ask(room, "!feedback " + "x" * 4001)
    assert "4001" in body_of(too_long) and "4000" in body_of(too_long)

    rows = await stored(bot)
    assert [(r["text"], r["rating"], r["user_id"]) for r in rows] == [
        ("Sehr hilfreich; <b>danke</b>", 4, alice.user_id),
        ("Bezug auf den Impuls", None, alice.user_id),
        ("Im Thread", None, alice.user_id),
        ("Nachtrag", None, alice.user_id),
    ]
    references = [r["reference"] for r in rows]
    assert references == [None, "impuls:lean-coffee", "impuls:lean-coffee", f"event:{first}"]
    assert {r["room_id"] for r in rows} == {room}

    config = str(bot.config.storage.database.parent.parent / "config.yaml")
    target = tmp_path / "export.csv"
    stable = "--stable-pseudonyms"
    assert await cli("export", "feedback", "--config", config, "--output", str(target), stable) == 0
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    header, *data = list(
        csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";")
    )
    assert header[2] == "Raum" and header[8] == "Person"
    assert [row[7] for row in data] == [r["text"] for r in rows]
    assert {row[2] for row in data} == {"Testraum"}  # room name recorded by the bot
    assert {row[8] for row in data} == {pseudonym(alice.user_id, KEY.encode())}
    assert alice.user_id.encode() not in raw

    xlsx = tmp_path / "export.xlsx"
    code = await cli(
        "export", "feedback", "--config", config, "--format", "xlsx", "--output", str(xlsx)
    )
    assert code == 0
    sheet = load_workbook(xlsx, read_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][6] == 4 and values[1][7] == "Sehr hilfreich; <b>danke</b>"
    refused = await cli("export", "feedback", "--config", config, "--with-user-ids")
    assert refused != 0


async def test_feedback_in_dm_anonymous_rating_and_rate_limit(make_chat: ChatFactory) -> None:
    bot, alice, dm = await make_chat(encrypted=True, feedback={"rate_limit": 2})
    anonymous = await alice.ask(dm, "!feedback --anonym Bitte mehr Beispiele")
    assert "ohne Namen" in body_of(anonymous)
    rated = await alice.ask(dm, "!feedback 5/5")
    assert "5/5" in body_of(rated)
    limited = await alice.ask(dm, "!feedback Noch etwas")
    assert "2 Rückmeldungen" in body_of(limited) and "nicht gespeichert" in body_of(limited)
    rows = await stored(bot)
    assert [(r["text"], r["rating"], r["user_id"]) for r in rows] == [
        ("Bitte mehr Beispiele", None, None),
        ("", 5, alice.user_id),
    ]


@PLAIN_AND_ENCRYPTED
async def test_export_upload_for_team_in_dm_and_refusals(
    make_chat: ChatFactory, make_user: UserFactory, encrypted: bool
) -> None:
    bot, carla, dm = await make_chat(encrypted, name="carla", role="team")
    bob = await make_user("bob")
    assert bot.app is not None
    for n, text in enumerate(["Gut", "=1+1", "Umlaute äöü"]):
        record = FeedbackRecord(
            1_795_000_000_000 + n, "!r:x", "feedback", text, f"$s{n}", bob.user_id
        )
        await bot.app.store.add_feedback(record)
    done = await carla.ask(dm, "!export feedback")
    assert "3 Einträge" in body_of(done)
    upload = await carla.wait_for(dm, file_from(bot.user_id))
    assert content_of(upload)["body"].endswith(".xlsx")
    assert ("file" in content_of(upload)) is encrypted
    sheet = load_workbook(io.BytesIO(await download(carla, upload)), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert [r[7] for r in rows[1:]] == ["Gut", "'=1+1", "Umlaute äöü"]
    assert all(r[8].startswith("p-") for r in rows[1:])

    seen = len(carla.events)
    await carla.ask(dm, "!export feedback csv")
    upload = await carla.wait_for(dm, file_from(bot.user_id), since=seen)
    text = (await download(carla, upload)).decode("utf-8-sig")
    assert [row[7] for row in csv.reader(io.StringIO(text, newline=""), delimiter=";")][1:] == [
        "Gut",
        "'=1+1",
        "Umlaute äöü",
    ]
    usage = await carla.ask(dm, "!export umfragen pdf")
    assert "!export feedback csv" in body_of(usage)

    bob_dm = await room_with_bot(bob, bot, encrypted)
    refused = await bob.ask(bob_dm, "!export feedback")
    assert "Initiativteam" in body_of(refused)
    assert not bob.find(bob_dm, file_from(bot.user_id))

    group = await group_room(carla, [bob], bot, encrypted)
    in_room = await carla.ask(group, "!export feedback")
    assert "Direktchat" in body_of(in_room)
    assert not carla.find(group, file_from(bot.user_id))


async def test_my_data_arrives_in_dm_then_forget_deletes_everything(
    make_group: GroupFactory,
) -> None:
    bot, (alice, _), room = await make_group("alice", "bob", encrypted=True)
    sent = await alice.say(room, "!feedback Die Impulse sind <i>prima</i>")
    await alice.wait_for(room, reaction_to(sent))

    answer = await alice.ask(room, "!meine-daten")
    assert "Direktchat" in body_of(answer)
    dm, event = await wait_any(alice, file_from(bot.user_id), timeout=60)
    assert dm != room and "file" in content_of(event)  # the new DM is encrypted
    document = json.loads(await download(alice, event))
    assert document["user_id"] == alice.user_id
    assert [f["text"] for f in document["data"]["feedback"]] == ["Die Impulse sind <i>prima</i>"]
    assert not alice.find(room, file_from(bot.user_id))  # nothing personal in the room

    in_dm = await alice.ask(dm, "!mydata")
    assert "1 Rückmeldung" in body_of(in_dm)

    nothing_pending = await alice.ask(room, "!vergessen bestätigen")
    assert "keine Löschanfrage" in body_of(nothing_pending)
    await alice.ask(room, "!vergessen")
    assert bot.app is not None  # let the request age beyond the 5 minutes
    bot.app.state.get(ForgetRequests).pending[alice.user_id] -= 6 * 60 * 1000
    expired = await alice.ask(room, "!vergessen bestätigen")
    assert "abgelaufen" in body_of(expired) and await stored(bot)
    question = await alice.ask(room, "!vergessen")
    assert "1 Rückmeldung" in body_of(question) and "!vergessen bestätigen" in body_of(question)
    assert await stored(bot)  # nothing deleted before the confirmation
    deleted = await alice.ask(room, "!forget confirm")
    assert "Gelöscht: 1 Rückmeldung" in body_of(deleted)
    assert await stored(bot) == []
    again = await alice.ask(room, "!vergessen")
    assert "nichts gespeichert" in body_of(again)


@PLAIN_AND_ENCRYPTED
async def test_privacy_notice_overview_and_retention(
    make_chat: ChatFactory, make_user: UserFactory, encrypted: bool
) -> None:
    bot, alice, room = await make_chat(
        encrypted,
        role="team",
        privacy={"contact": "Datenschutz <dsb@example.org>", "retention_days": 90},
    )
    bob = await make_user("bob")
    notice = await alice.ask(room, "!datenschutz")
    assert "90 Tagen" in body_of(notice) and "dsb@example.org" in body_of(notice)
    # Retention per category, from the declarations (bot/personal_data.py).
    assert "Umfragen und namentliche Stimmen: 90 Tage nach dem Ende der Umfrage" in body_of(notice)
    assert "Anonymes Suchprotokoll des Angebotskatalogs: 90 Tage" in body_of(notice)
    assert "&lt;dsb@example.org&gt;" in html_of(notice)

    for rating in (3, 4):  # a room of two counts as a direct chat: confirmed by a notice
        confirmed = await alice.ask(room, f"!feedback {rating}/5 ok")
        assert f"{rating}/5" in body_of(confirmed)
    assert bot.app is not None
    old_ms = int((dt.datetime.now(dt.UTC) - dt.timedelta(days=100)).timestamp() * 1000)
    await bot.app.store.add_feedback(FeedbackRecord(old_ms, room, "feedback", "alt", "$old"))
    overview = await alice.ask(room, "!feedback übersicht")
    assert "Einträge insgesamt: 2" in body_of(overview)
    assert "3,5 von 5" in body_of(overview)
    # One person in the room: below the minimum group, so the room is not named on its own.
    assert "Testraum" not in body_of(overview)
    assert "weitere Räume und Direktchats (zusammengefasst" in body_of(overview)
    assert alice.user_id not in body_of(overview)

    bob_dm = await room_with_bot(bob, bot, encrypted=False)
    refused = await bob.ask(bob_dm, "!feedback übersicht")
    assert "Initiativteam" in body_of(refused)

    # The daily job, run with a clock 100 days in the future: only the old entry is older than
    # 90 days today; then everything is.
    assert (await retention_job(bot.app, dt.datetime.now(dt.UTC))).get("feedback") == 1
    assert [r["text"] for r in await stored(bot)] == ["ok", "ok"]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=100)
    assert (await retention_job(bot.app, later)).get("feedback") == 2
    assert await stored(bot) == []
