"""Pure checks of the event size arithmetic (matrix/outgoing.py) and bounded numbers (text/).

The real-homeserver side (that Synapse accepts what we predict fits) is in
tests/test_limits_integration.py.
"""

from __future__ import annotations

import json

import pytest
import vodozemac

from bot import privacy, transport
from bot.features.leancoffee import parse as leancoffee
from bot.features.polls import errors, vote
from bot.features.polls import parse as polls
from bot.matrix import outgoing
from bot.matrix.outgoing import CONTENT_BUDGET, ELLIPSIS, MAX_PARTS, Target, fit
from bot.outcome import Rejected
from bot.text import bounds
from bot.text.i18n import Message, Texts, escape

ROOM = "!abcdefghijklmnop:example.org"
PLAIN = Target(ROOM, encrypted=False)
ENCRYPTED = Target(ROOM, encrypted=True, device_id="ABCDEFGHIJ")
HINT = Texts("de")("limits.cut_hint", prefix="!")
MARKER = '<b class="fuzz">'


def message(plain: str, html: str | None = None) -> dict:
    return {
        "msgtype": "m.notice",
        "body": plain,
        "format": "org.matrix.custom.html",
        "formatted_body": escape(plain) if html is None else html,
        "m.relates_to": {"m.in_reply_to": {"event_id": "$cmd"}},
    }


@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 100, 4_000, 30_000, 70_000])
def test_megolm_prediction_bounds_real_ciphertext_tightly(size: int) -> None:
    content = {"body": "ä" * size}
    plaintext = json.dumps(
        {"content": content, "type": "m.room.message", "room_id": ROOM}, separators=(",", ":")
    )
    session = vodozemac.GroupSession()
    for _ in range(300):  # message index beyond one varint byte
        session.encrypt(b"x")
    actual = len(session.encrypt(plaintext.encode()).to_base64())
    predicted = outgoing.megolm_ciphertext_size("m.room.message", content, ROOM)
    assert actual <= predicted <= actual + 8


def test_encryption_inflates_non_ascii_text() -> None:
    content = message("ä" * 5_000)
    assert PLAIN.size("m.room.message", content) < 25_000
    assert ENCRYPTED.size("m.room.message", content) > 2 * 25_000


def test_small_messages_are_left_alone() -> None:
    content = message("Hallo **Welt**", "Hallo <b>Welt</b>")
    assert fit("m.room.message", content, ENCRYPTED, HINT) == [content]


@pytest.mark.parametrize("target", [PLAIN, ENCRYPTED], ids=["plain", "encrypted"])
def test_one_huge_echoed_line_is_cut_visibly_and_escaped(target: Target) -> None:
    echo = (MARKER + "ä") * 20_000
    content = message(f"Zu „{echo}“ finde ich nichts.\nEine Übersicht gibt !hilfe.")
    parts = fit("m.room.message", content, target, HINT)
    assert parts is not None and len(parts) == 2
    assert parts[0]["body"].endswith(ELLIPSIS)
    assert parts[1]["body"] == "Eine Übersicht gibt !hilfe."
    for part in parts:
        assert target.size("m.room.message", part) <= CONTENT_BUDGET
        assert MARKER not in part["formatted_body"]
        assert part["m.relates_to"] == content["m.relates_to"]
    assert target.size("m.room.message", parts[0]) > CONTENT_BUDGET * 0.9  # not wastefully short


@pytest.mark.parametrize("target", [PLAIN, ENCRYPTED], ids=["plain", "encrypted"])
def test_many_lines_are_split_then_cut_with_a_hint(target: Target) -> None:
    lines = [f"{n}. <b>Treffer</b> „ÄÖÜ“ " + "x" * 200 for n in range(2_000)]
    content = message("\n".join(lines), "<br>".join(f"<i>{escape(x)}</i>" for x in lines))
    parts = fit("m.room.message", content, target, HINT)
    assert parts is not None and len(parts) == MAX_PARTS
    assert parts[-1]["body"].endswith(HINT.plain)
    assert parts[-1]["formatted_body"].endswith(HINT.html)
    kept = "\n".join(p["body"] for p in parts).split("\n")
    assert kept[: len(kept) - 1] == lines[: len(kept) - 1]  # in order, none lost in between
    for part in parts:
        assert target.size("m.room.message", part) <= CONTENT_BUDGET
        assert "<i>" in part["formatted_body"]  # formatting kept where lines line up


def test_a_few_long_lines_are_split_without_hint() -> None:
    lines = ["ä" * 3_000 for _ in range(3)]  # 48 KB each once encrypted
    content = message("\n".join(lines))
    parts = fit("m.room.message", content, ENCRYPTED, HINT)
    assert parts is not None and 1 < len(parts) <= MAX_PARTS
    assert "\n".join(p["body"] for p in parts) == content["body"]


def test_events_that_cannot_be_split_are_refused() -> None:
    poll = {"org.matrix.msc3381.poll.start": {"question": {"body": "x" * 70_000}}}
    assert fit("org.matrix.msc3381.poll.start", poll, PLAIN, HINT) is None


def test_edits_are_cut_not_split() -> None:
    new = message("y" * 80_000)
    del new["m.relates_to"]
    edit = {**message("* " + "y" * 80_000), "m.new_content": new}
    edit["m.relates_to"] = {"rel_type": "m.replace", "event_id": "$old"}
    parts = fit("m.room.message", edit, PLAIN, HINT)
    assert parts is not None and len(parts) == 1
    assert parts[0]["m.new_content"]["body"].endswith(HINT.plain)
    assert PLAIN.size("m.room.message", parts[0]) <= CONTENT_BUDGET


def test_fallback_notice_keeps_reply_but_not_annotation() -> None:
    text = Message.text("zu groß")
    reply = {"m.in_reply_to": {"event_id": "$x"}}
    assert outgoing.notice_content(text, reply)["m.relates_to"] == reply
    annotation = {"rel_type": "m.annotation", "event_id": "$x", "key": "👍"}
    assert "m.relates_to" not in outgoing.notice_content(text, annotation)


def test_shorten() -> None:
    assert transport.shorten("abc") == "abc"
    assert transport.shorten("a" * 500) == "a" * 199 + ELLIPSIS


# ---------------------------------------------------------------------------- bounded numbers

HUGE_NUMBERS = ["99999999999999999999", "9" * 5_000, "1" + "0" * 19]


@pytest.mark.parametrize("text", HUGE_NUMBERS)
def test_huge_numbers_are_out_of_range_without_int(text: str) -> None:
    with pytest.raises(bounds.OutOfRange) as caught:
        bounds.bounded_int(text, 1, 20)
    assert (caught.value.low, caught.value.high) == (1, 20)
    assert len(caught.value.value) <= 30


@pytest.mark.parametrize("text", ["", "²", "٣", "1_000", " ", "-", "1.5", "0x10", "+3"])
def test_only_ascii_digits_are_numbers(text: str) -> None:
    with pytest.raises(bounds.NotANumber):
        bounds.bounded_int(text, 0, 10)


def test_bounded_int_accepts_its_range_and_signs_when_asked() -> None:
    assert bounds.bounded_int(" 007 ", 1, 10) == 7
    assert bounds.bounded_int("-3", -10, 10, signed=True) == -3
    with pytest.raises(bounds.OutOfRange):
        bounds.bounded_int("0", 1, 10)


def test_bounded_float() -> None:
    assert bounds.bounded_float("1,5", 10) == 1.5
    with pytest.raises(bounds.OutOfRange):
        bounds.bounded_float("9" * 400, 1e6)
    with pytest.raises(bounds.NotANumber):
        bounds.bounded_float("1,5,5", 10)


@pytest.mark.parametrize("number", HUGE_NUMBERS)
def test_vote_numbers_are_bounded_with_a_message_naming_the_range(number: str) -> None:
    for args, key in ((f"{number} 1", "poll_number_range"), (f"1 {number}", "answer_number_range")):
        with pytest.raises(vote.VoteInputError) as caught:
            vote.parse_vote_command(args)
        assert caught.value.key == f"limits.{key}"
        text = caught.value.render(Texts("de")).plain
        assert ("zwischen 1 und" in text and "…" in text) or number in text


def test_other_parsers_bound_their_numbers() -> None:
    huge = "9" * 5_000
    with pytest.raises(errors.PollInputError) as caught:
        polls.parse_poll_command(f"Frage? | a | b --mehrfach={huge}")
    assert caught.value.key == "limits.selections_range"
    assert polls.parse_poll_number(huge) is None
    assert polls.parse_poll_number("#4") == 4
    rejected = leancoffee.parse_command(f"punkt 2 {huge}")
    assert isinstance(rejected, Rejected) and rejected.reason == "dots_invalid"
    assert leancoffee.parse_command("punkt 2 -1").count == -1
    rejected = leancoffee.parse_command(f"start --zeit {huge}m")
    assert isinstance(rejected, Rejected) and rejected.reason == "duration_invalid"
    rejected = leancoffee.parse_command(f"start --punkte {huge}")
    assert isinstance(rejected, Rejected) and rejected.reason == "dots_invalid"
    rejected = leancoffee.parse_command("start --punkte ²")
    assert isinstance(rejected, Rejected) and rejected.reason == "dots_invalid"
    with pytest.raises(privacy.FeedbackInputError):
        privacy.parse_feedback(f"{huge}/5 gut")
