"""Quick polls: command parsing, MSC3381 events, counting rules, rendering."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.features.polls.announce import (
    anonymous_announcement,
    build_end_content,
    build_start_content,
    message_content,
)
from bot.features.polls.errors import PollInputError
from bot.features.polls.msc3381 import (
    KIND_DISCLOSED,
    KIND_UNDISCLOSED,
    POLL_END,
    POLL_START,
    TEXT,
    EndMark,
    Response,
    parse_end,
    parse_response,
    parse_start,
)
from bot.features.polls.parse import MAX_ANSWER_LENGTH, parse_poll_command
from bot.features.polls.render import bar, render_results
from bot.features.polls.tally import Tally, effective_end_ts, tally
from bot.features.polls.vote import (
    VoteCommand,
    VoteInputError,
    parse_vote_command,
    selection_for,
    text_vote,
)
from bot.store.poll_votes import Vote
from bot.store.polls import Poll
from bot.text.i18n import Texts

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "bot" / "text" / "locales"


def make_poll(answers: int = 3, max_selections: int = 1, **kwargs: object) -> Poll:
    spec = parse_poll_command(
        "Frage? | " + " | ".join(f"Antwort {i}" for i in range(1, answers + 1))
    )
    poll = spec.poll
    return Poll(
        poll.question,
        poll.answers,
        max_selections,
        bool(kwargs.get("disclosed", True)),
        bool(kwargs.get("anonymous", False)),
    )


def error_key(args: str) -> str:
    with pytest.raises(PollInputError) as caught:
        parse_poll_command(args)
    return caught.value.key.removeprefix("umfrage.")


# --- Creating: !umfrage ------------------------------------------------------------------------


def test_pipe_form_gives_question_and_answers_in_order() -> None:
    spec = parse_poll_command("  Wann treffen wir uns?  |  Dienstag | Mittwoch  |Donnerstag ")
    assert spec.question == "Wann treffen wir uns?"
    assert spec.answers == ("Dienstag", "Mittwoch", "Donnerstag")
    assert (spec.max_selections, spec.disclosed, spec.anonymous, spec.duration) == (
        1,
        True,
        False,
        None,
    )


QUOTE_STYLES = (
    '"Kaffee oder Tee?" "Kaffee" "Tee mit Milch"',
    "„Kaffee oder Tee?“ „Kaffee“ „Tee mit Milch“",
    "“Kaffee oder Tee?” “Kaffee” “Tee mit Milch”",
    '„Kaffee oder Tee?“ "Kaffee" “Tee mit Milch”',
    'Kaffee oder Tee? "Kaffee" "Tee mit Milch"',
)
OPTION_SPELLINGS = (
    "--mehrfach=2 --verdeckt --dauer 2h Frage | A | B | C",
    "Frage --dauer=2h | A --mehrfach=2 | B | C --verdeckt",
    "Frage | A | B | C --MEHRFACH=2 --Verdeckt --dauer 2 Std.",
    "Frage | A | B | C —mehrfach=2 –verdeckt —dauer 120min",
    "Frage | A | B | C --multiple 2 --hidden --duration 2 hours",
)
KAFFEE = ("Kaffee oder Tee?", ("Kaffee", "Tee mit Milch"), 1, True, None)
FRAGE = ("Frage", ("A", "B", "C"), 2, False, timedelta(hours=2))


@pytest.mark.parametrize(
    ("args", "expected"),
    [*((args, KAFFEE) for args in QUOTE_STYLES), *((args, FRAGE) for args in OPTION_SPELLINGS)],
)
def test_quote_styles_and_option_spellings(args: str, expected: tuple[object, ...]) -> None:
    """Every quote style, and options anywhere in every spelling."""
    spec = parse_poll_command(args)
    assert (spec.question, spec.answers, spec.max_selections, spec.disclosed, spec.duration) == (
        expected
    )


def test_quotes_protect_pipes_and_dashes_only_in_quoted_form() -> None:
    spec = parse_poll_command('"Was heißt --mehrfach?" "Option A" "Option B"')
    assert spec.question == "Was heißt --mehrfach?"
    assert spec.max_selections == 1


def test_one_item_per_line_form() -> None:
    spec = parse_poll_command("Was essen wir?\nPizza\n\n  Salat  \n--anonym")
    assert spec.question == "Was essen wir?"
    assert spec.answers == ("Pizza", "Salat")
    assert spec.anonymous


def test_pipe_form_keeps_inner_quotes_and_strips_wrapping_ones() -> None:
    spec = parse_poll_command('Was heißt „agil“? | "Schnell" | Flexibel')
    assert spec.question == "Was heißt „agil“?"
    assert spec.answers == ("Schnell", "Flexibel")


def test_empty_pipe_segments_are_ignored() -> None:
    assert parse_poll_command("Frage | A || B |").answers == ("A", "B")


def test_mehrfach_without_number_allows_all_answers() -> None:
    assert parse_poll_command("F | A | B | C | D --mehrfach").max_selections == 4


def test_unknown_dash_words_stay_text_but_unknown_double_dash_options_are_errors() -> None:
    assert parse_poll_command("Ja –oder nein? | A | B").question == "Ja –oder nein?"
    assert error_key("Frage | A | B --sofort") == "err_unknown_option"


def test_closes_at_adds_duration() -> None:
    start = datetime(2025, 3, 30, 1, 30, tzinfo=ZoneInfo("UTC"))
    spec = parse_poll_command("F | A | B --dauer 1d")
    assert spec.closes_at(start) == start + timedelta(days=1)
    assert parse_poll_command("F | A | B").closes_at(start) is None


@pytest.mark.parametrize(
    ("args", "key"),
    [
        ("", "err_no_answers"),
        ("Nur eine Frage?", "err_no_answers"),
        ("--mehrfach", "err_no_answers"),
        ("| A | B", "err_empty_question"),
        ('"" "A" "B"', "err_empty_question"),
        ("Frage | Nur eine", "err_too_few_answers"),
        ("Frage |", "err_too_few_answers"),
        ("Frage\nNur eine", "err_too_few_answers"),
        ("Frage | " + " | ".join(f"A{i}" for i in range(21)), "err_too_many_answers"),
        ("Frage | Pizza | pizza", "err_duplicate_answer"),
        ("Frage | Zwei  Wörter | zwei wörter", "err_duplicate_answer"),
        ("Frage | A | " + "x" * (MAX_ANSWER_LENGTH + 1), "err_answer_too_long"),
        ("F" * 501 + " | A | B", "err_question_too_long"),
        ("Frage | A | B --geheim", "err_unknown_option"),
        ("Frage | A | B --verdeckt --verdeckt", "err_duplicate_option"),
        ("Frage | A | B --verdeckt=ja", "err_option_value"),
        ("Frage | A | B --mehrfach=viele", "err_bad_selections"),
        ("Frage | A | B --mehrfach=3", "err_selections_range"),
        ("Frage | A | B --mehrfach=0", "err_selections_range"),
        ("Frage | A | B --dauer", "parse.duration.missing"),
        ("Frage | A | B --dauer=", "parse.duration.missing"),
        ("Frage | A | B --dauer bald", "parse.duration.invalid"),
        ("Frage | A | B --dauer 30s", "parse.duration.range"),
        ("Frage | A | B --dauer 0m", "parse.duration.range"),
        ("Frage | A | B --dauer 31d", "parse.duration.range"),
        ('"Frage?" "A" "B', "err_unclosed_quote"),
    ],
)
def test_bad_input_is_a_structured_error(args: str, key: str) -> None:
    assert error_key(args) == key


def test_exactly_twenty_answers_and_max_length_are_accepted() -> None:
    spec = parse_poll_command("Frage | " + " | ".join(f"A{i}" for i in range(20)))
    assert len(spec.answers) == 20
    long = "x" * MAX_ANSWER_LENGTH
    assert parse_poll_command(f"Frage | A | {long}").answers[1] == long


def test_duration_bounds_are_inclusive() -> None:
    assert parse_poll_command("F | A | B --dauer 1m").duration == timedelta(minutes=1)
    assert parse_poll_command("F | A | B --dauer 30d").duration == timedelta(days=30)


ERROR_INPUTS = [
    "",
    "| A | B",
    "Frage | A",
    "Frage | A | a",
    "Frage | A | B --foo",
    "Frage | A | B --mehrfach=9",
    "Frage | A | B --dauer 99d",
    "Frage | A | B --dauer nie",
    '"Frage',
]


@pytest.mark.parametrize("lang", ["de", "en"])
@pytest.mark.parametrize("args", ERROR_INPUTS)
def test_error_messages_are_filled_in_and_carry_working_examples(lang: str, args: str) -> None:
    with pytest.raises(PollInputError) as caught:
        parse_poll_command(args)
    message = caught.value.render(Texts(lang), prefix="?")
    assert "{" not in message.plain and "{" not in message.html
    examples = re.findall(r"`\?(?:umfrage|poll) ([^`]+)`", message.plain)
    assert len(examples) >= 2
    for example in examples:
        assert len(parse_poll_command(example).answers) >= 2


def test_duration_range_error_is_worded_in_readers_language() -> None:
    with pytest.raises(PollInputError) as caught:
        parse_poll_command("F | A | B --dauer 45d")
    german = caught.value.render(Texts("de")).plain
    english = caught.value.render(Texts("en")).plain
    assert "45d" in german and "1 Minute" in german and "4 Wochen 2 Tage" in german
    assert "1 minute" in english and "4 weeks 2 days" in english
    assert "--mehrfach" in german  # the poll's own example follows the shared parser's text


def test_user_text_in_errors_is_escaped_in_html() -> None:
    with pytest.raises(PollInputError) as caught:
        parse_poll_command("Frage | <b>x</b> | <B>X</B>")
    html = caught.value.render(Texts("de")).html
    assert "&lt;B&gt;X&lt;/B&gt;" in html and "<B>" not in html


# --- Durations (the shared parser, bot.text.durations) -------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30", timedelta(minutes=30)),  # a bare number means minutes, as in every command
        ("90", timedelta(minutes=90)),
        ("30m", timedelta(minutes=30)),
        ("30min", timedelta(minutes=30)),
        ("30 Minuten", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("2 Std", timedelta(hours=2)),
        ("2 Std.", timedelta(hours=2)),
        ("1,5 Stunden", timedelta(minutes=90)),
        ("1.5h", timedelta(minutes=90)),
        ("1h30m", timedelta(minutes=90)),
        ("1d", timedelta(days=1)),
        ("3 Tage", timedelta(days=3)),
        ("2 Wochen", timedelta(days=14)),
        ("1 day", timedelta(days=1)),
    ],
)
def test_dauer_reads_every_duration_form(text: str, expected: timedelta) -> None:
    assert parse_poll_command(f"Frage | A | B --dauer {text}").duration == expected
    assert parse_poll_command(f"Frage --dauer={text.replace(' ', '')} | A | B").duration == expected


def test_bare_number_after_dauer_is_minutes_and_the_question_stays() -> None:
    spec = parse_poll_command("--dauer 30 Kommen Sie? | Ja | Nein")
    assert spec.duration == timedelta(minutes=30)
    assert spec.question == "Kommen Sie?"


@pytest.mark.parametrize("text", ["bald", "2Jahre", "h2", "9" * 30 + "d"])
def test_dauer_rejects_unclear_values(text: str) -> None:
    with pytest.raises(PollInputError) as caught:
        parse_poll_command(f"Frage | A | B --dauer={text}")
    assert caught.value.key.startswith("parse.duration.")


# --- Building events ---------------------------------------------------------------------------


def test_start_content_is_what_element_renders() -> None:
    poll = parse_poll_command("Mittag? | Pizza | Salat | Suppe --mehrfach=2").poll
    content = build_start_content(poll, prefix="!")
    block = content[POLL_START]
    assert block["kind"] == KIND_DISCLOSED
    assert block["max_selections"] == 2
    assert block["question"] == {TEXT: "Mittag?"}
    assert block["answers"] == [
        {"id": "a1", TEXT: "Pizza"},
        {"id": "a2", TEXT: "Salat"},
        {"id": "a3", TEXT: "Suppe"},
    ]
    fallback = content[TEXT]
    assert content["body"] == fallback
    assert content["m.mentions"] == {}
    assert "msgtype" not in content
    for line in ("Mittag?", "1. Pizza", "2. Salat", "3. Suppe", "`!abstimmen 2`"):
        assert line in fallback


def test_start_fallback_uses_prefix_poll_number_and_closing_time() -> None:
    poll = parse_poll_command("F? | A | B --verdeckt").poll
    closes = datetime(2025, 6, 3, 14, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    content = build_start_content(poll, prefix="?", number=4, closes_at=closes)
    assert content[POLL_START]["kind"] == KIND_UNDISCLOSED
    fallback = content[TEXT]
    assert "`?abstimmen 4 2`" in fallback
    assert "03.06.2025" in fallback and "14:30" in fallback
    assert "erst nach dem Ende" in fallback
    english = build_start_content(poll, number=4, lang="en")[TEXT]
    assert "`!vote 4 2`" in english


def test_start_content_round_trips_through_parse_start() -> None:
    poll = parse_poll_command("F? | A | B | C --mehrfach=2 --verdeckt").poll
    assert parse_start(POLL_START, build_start_content(poll)) == poll


def test_anonymous_poll_is_an_ordinary_html_message_with_honest_privacy_text() -> None:
    poll = parse_poll_command("Wie <i>zufrieden</i>? | Sehr | Mittel | Wenig --anonym").poll
    content = message_content(anonymous_announcement(poll, number=7, prefix="!", min_group=5))
    assert content["msgtype"] == "m.text"
    assert content["format"] == "org.matrix.custom.html"
    assert POLL_START not in content
    assert "&lt;i&gt;zufrieden&lt;/i&gt;" in content["formatted_body"]
    body = content["body"]
    assert "Wie <i>zufrieden</i>?" in body
    assert "`!abstimmen 7 2`" in body
    assert "Direktnachricht" in body
    assert "Nutzer-ID" in body and "Hash" in body
    assert "mindestens 5 Personen" in body
    assert "3. Wenig" in body


def test_end_content_references_start_and_carries_the_result() -> None:
    poll = make_poll()
    result = tally(poll, [Vote("@a:x", 1, ("a2",)), Vote("@b:x", 2, ("a2",))])
    content = build_end_content(poll, "$start", result)
    assert content["m.relates_to"] == {"rel_type": "m.reference", "event_id": "$start"}
    assert content[POLL_END] == {}
    assert content["body"] == content[TEXT]
    assert "beendet" in content[TEXT]
    assert "2. Antwort 2 🏆" in content[TEXT]
    assert "2 Stimmen · 100 %" in content[TEXT]


# --- Reading events ----------------------------------------------------------------------------

STABLE_START = {
    "m.text": [{"mimetype": "text/plain", "body": "Fallback"}],
    "m.poll": {
        "kind": "m.disclosed",
        "max_selections": 2,
        "question": {"m.text": [{"mimetype": "text/html", "body": "<b>Q</b>"}, {"body": "Q"}]},
        "answers": [
            {"m.id": "pizza", "m.text": [{"body": "Pizza"}]},
            {"m.id": "wings", "m.text": [{"body": "Wings"}]},
        ],
    },
}


def test_parse_start_reads_the_stable_form() -> None:
    poll = parse_start("m.poll.start", STABLE_START)
    assert poll is not None
    assert poll.question == "Q"
    assert poll.answer_ids == ("pizza", "wings")
    assert poll.answers[1].text == "Wings"
    assert poll.max_selections == 2
    assert poll.disclosed


@pytest.mark.parametrize(
    ("kind", "disclosed"),
    [
        ("org.matrix.msc3381.poll.disclosed", True),
        ("m.poll.disclosed", True),
        ("m.disclosed", True),
        ("org.matrix.msc3381.poll.undisclosed", False),
        ("m.poll.undisclosed", False),
        ("com.example.secret", False),
        (None, False),
        (["m.disclosed"], False),
    ],
)
def test_every_kind_spelling_and_unknown_kinds_count_as_undisclosed(
    kind: object, disclosed: bool
) -> None:
    content = build_start_content(make_poll())
    content[POLL_START]["kind"] = kind
    poll = parse_start(POLL_START, content)
    assert poll is not None and poll.disclosed is disclosed


def test_parse_start_falls_back_to_one_selection_and_truncates_to_twenty_answers() -> None:
    content = build_start_content(make_poll())
    block = content[POLL_START]
    block["answers"] = [{"id": f"x{i}", TEXT: f"A{i}"} for i in range(25)]
    for bad in (0, -1, "3", True, None):
        block["max_selections"] = bad
        poll = parse_start(POLL_START, content)
        assert poll is not None and poll.max_selections == 1
        assert len(poll.answers) == 20


def test_parse_start_rejects_unusable_polls() -> None:
    content = build_start_content(make_poll())
    content[POLL_START]["answers"].append({"id": "a9"})  # answer without text
    assert parse_start(POLL_START, content) is None
    assert parse_start("m.room.message", build_start_content(make_poll())) is None
    assert parse_start(POLL_START, {TEXT: "only a fallback"}) is None


def test_parse_response_both_forms() -> None:
    relation = {"rel_type": "m.reference", "event_id": "$poll"}
    unstable = {"m.relates_to": relation, "org.matrix.msc3381.poll.response": {"answers": ["a1"]}}
    stable = {"m.relates_to": relation, "m.selections": ["a2", "a3"]}
    assert parse_response("org.matrix.msc3381.poll.response", unstable) == Response(
        "$poll", ("a1",)
    )
    assert parse_response("m.poll.response", stable) == Response("$poll", ("a2", "a3"))


def test_response_with_broken_selections_is_spoiled_not_dropped() -> None:
    relation = {"rel_type": "m.reference", "event_id": "$poll"}
    for block in ({"answers": "a1"}, {"answers": [1]}, {}, None):
        content = {"m.relates_to": relation, "org.matrix.msc3381.poll.response": block}
        response = parse_response("org.matrix.msc3381.poll.response", content)
        assert response is not None and response.spoiled


def test_response_without_reference_is_not_a_response() -> None:
    block = {"answers": ["a1"]}
    for relation in (None, {"rel_type": "m.thread", "event_id": "$p"}, {"rel_type": "m.reference"}):
        content = {"m.relates_to": relation, "org.matrix.msc3381.poll.response": block}
        assert parse_response("org.matrix.msc3381.poll.response", content) is None


def test_parse_end_both_forms() -> None:
    relation = {"rel_type": "m.reference", "event_id": "$poll"}
    unstable = {"m.relates_to": relation, POLL_END: {}, TEXT: "Beendet"}
    stable = {"m.relates_to": relation, "m.text": [{"body": "Closed"}]}
    assert parse_end(POLL_END, unstable) == parse_end(POLL_END, unstable)
    end = parse_end(POLL_END, unstable)
    assert end is not None and (end.poll_event_id, end.text) == ("$poll", "Beendet")
    stable_end = parse_end("m.poll.end", stable)
    assert stable_end is not None and stable_end.text == "Closed"
    assert parse_end(POLL_END, {POLL_END: {}}) is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "m.relates_to",
                    "rel_type",
                    "event_id",
                    "answers",
                    "m.selections",
                    "org.matrix.msc3381.poll.response",
                    POLL_START,
                    "m.poll",
                    "question",
                    "kind",
                    "max_selections",
                    "id",
                    "m.id",
                    TEXT,
                    "m.text",
                    "body",
                    "mimetype",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)
event_types = st.sampled_from(
    [
        POLL_START,
        "m.poll.start",
        "org.matrix.msc3381.poll.response",
        "m.poll.response",
        POLL_END,
        "m.poll.end",
    ]
)


@settings(max_examples=300, deadline=None)
@given(event_type=event_types, content=json_values)
def test_malformed_content_never_raises(event_type: str, content: object) -> None:
    parse_start(event_type, content)
    parse_response(event_type, content)
    parse_end(event_type, content)


# --- Counting (MSC3381 rules) ------------------------------------------------------------------


def test_only_the_latest_response_per_user_counts() -> None:
    poll = make_poll()
    votes = [Vote("@a", 10, ("a1",)), Vote("@a", 30, ("a3",)), Vote("@a", 20, ("a2",))]
    result = tally(poll, votes)
    assert result.counts == {"a1": 0, "a2": 0, "a3": 1}
    assert result.voters == 1


def test_equal_timestamps_later_response_in_input_wins() -> None:
    poll = make_poll()
    votes = [Vote("@a", 10, ("a1",), "$1"), Vote("@a", 10, ("a2",), "$2")]
    assert tally(poll, votes).counts["a2"] == 1
    assert tally(poll, list(reversed(votes))).counts["a1"] == 1


def test_answers_beyond_max_selections_are_truncated_keeping_the_first() -> None:
    poll = make_poll(max_selections=2)
    result = tally(poll, [Vote("@a", 1, ("a3", "a1", "a2"))])
    assert result.counts == {"a1": 1, "a2": 0, "a3": 1}


def test_unknown_answer_id_spoils_the_vote_even_beyond_max_selections() -> None:
    poll = make_poll(max_selections=1)
    votes = [Vote("@a", 1, ("a1",)), Vote("@a", 2, ("a2", "nope")), Vote("@b", 1, ("a1",))]
    result = tally(poll, votes)
    assert result.counts == {"a1": 1, "a2": 0, "a3": 0}
    assert (result.voters, result.spoiled) == (1, 1)


def test_latest_response_counts_even_when_spoiled() -> None:
    poll = make_poll()
    response = parse_response(
        "m.poll.response",
        {"m.relates_to": {"rel_type": "m.reference", "event_id": "$p"}, "m.selections": 5},
    )
    assert response is not None
    votes = [Vote("@a", 1, ("a1",)), response.to_vote(sender="@a", origin_server_ts=2)]
    result = tally(poll, votes)
    assert result.counts["a1"] == 0 and result.spoiled == 1


def test_duplicate_ids_count_once_after_truncation() -> None:
    poll = make_poll(max_selections=2)
    result = tally(poll, [Vote("@a", 1, ("a1", "a1", "a2"))])
    # Truncation to two keeps a1, a1 - counted once; a2 was cut off.
    assert result.counts == {"a1": 1, "a2": 0, "a3": 0}


def test_empty_selection_withdraws_the_vote() -> None:
    poll = make_poll()
    result = tally(poll, [Vote("@a", 1, ("a1",)), Vote("@a", 2, ())])
    assert result.counts["a1"] == 0
    assert (result.voters, result.spoiled) == (0, 0)


def test_redacted_response_restores_the_previous_one() -> None:
    poll = make_poll()
    votes = [Vote("@a", 1, ("a1",), "$1"), Vote("@a", 2, ("a2",), "$2", redacted=True)]
    assert tally(poll, votes).counts == {"a1": 1, "a2": 0, "a3": 0}


def test_responses_after_the_end_are_ignored_but_at_the_end_still_count() -> None:
    poll = make_poll()
    votes = [
        Vote("@a", 100, ("a1",)),
        Vote("@a", 101, ("a2",)),  # changed mind too late
        Vote("@b", 100, ("a3",)),  # exactly at the end
        Vote("@c", 5, ("a3",)),  # before the start event (clock drift) still counts
    ]
    assert tally(poll, votes, end_ts=100).counts == {"a1": 1, "a2": 0, "a3": 2}
    assert tally(poll, votes).counts == {"a1": 0, "a2": 1, "a3": 2}


def test_each_user_is_counted_independently() -> None:
    poll = make_poll(max_selections=3)
    votes = [Vote(f"@u{i}", i, ("a1", "a2") if i % 2 else ("a3",)) for i in range(10)]
    result = tally(poll, votes)
    assert result.voters == 10
    assert result.counts == {"a1": 5, "a2": 5, "a3": 5}
    assert result.percent("a1") == 50


def test_first_valid_end_event_closes_the_poll() -> None:
    ends = [EndMark("@mallory", 50), EndMark("@mod", 80), EndMark("@creator", 70)]
    moderators = {"@mod"}
    assert effective_end_ts(ends, creator="@creator", may_redact=moderators.__contains__) == 70
    assert (
        effective_end_ts(ends[:1], creator="@creator", may_redact=moderators.__contains__) is None
    )


# --- Voting by command: !abstimmen -------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("2", VoteCommand(None, (2,))),
        ("1,3", VoteCommand(None, (1, 3))),
        ("1, 3", VoteCommand(None, (1, 3))),
        ("3,1,3", VoteCommand(None, (3, 1))),
        ("4 2", VoteCommand(4, (2,))),
        ("1 3", VoteCommand(1, (3,))),
        ("#4 1,3", VoteCommand(4, (1, 3))),
        ("Nr.4 2", VoteCommand(4, (2,))),
        ("zurückziehen", VoteCommand(None, ())),
        ("4 withdraw", VoteCommand(4, ())),
    ],
)
def test_parse_vote_command(args: str, expected: VoteCommand) -> None:
    assert parse_vote_command(args) == expected


@pytest.mark.parametrize(
    ("args", "key"),
    [
        ("", "err_vote_syntax"),
        ("1 2 3", "err_vote_syntax"),
        (",", "err_vote_syntax"),
        ("Pizza", "err_vote_not_number"),
        ("1,x", "err_vote_not_number"),
        ("x 2", "err_vote_poll_number"),
        ("0 2", "err_vote_poll_number"),
    ],
)
def test_parse_vote_command_errors(args: str, key: str) -> None:
    with pytest.raises(VoteInputError) as caught:
        parse_vote_command(args)
    assert caught.value.key == "umfrage." + key
    message = caught.value.render(Texts("de"))
    assert "`!abstimmen 2`" in message.plain


def test_selection_for_checks_range_and_maximum() -> None:
    poll = make_poll(answers=3, max_selections=2)
    assert selection_for(poll, VoteCommand(None, (3, 1))) == ("a3", "a1")
    for numbers, key in (
        ((4,), "err_vote_range"),
        ((0,), "err_vote_range"),
        ((1, 2, 3), "err_vote_too_many"),
    ):
        with pytest.raises(VoteInputError) as caught:
            selection_for(poll, VoteCommand(None, numbers))
        assert caught.value.key == "umfrage." + key
    with pytest.raises(VoteInputError) as caught:
        selection_for(poll, VoteCommand(None, (7,)))
    assert "1 bis 3" in caught.value.render(Texts("de")).plain


def test_text_votes_and_native_votes_are_counted_together() -> None:
    poll = make_poll()
    native = Vote("@a", 1, ("a1",))
    typed = text_vote(poll, parse_vote_command("3"), sender="@a", origin_server_ts=2)
    withdraw = text_vote(poll, parse_vote_command("zurück"), sender="@b", origin_server_ts=3)
    result = tally(poll, [native, typed, Vote("@b", 1, ("a2",)), withdraw])
    assert result.counts == {"a1": 0, "a2": 0, "a3": 1}


# --- Rendering ---------------------------------------------------------------------------------


def test_bar() -> None:
    assert bar(5, 10) == "▓▓▓▓▓░░░░░"
    assert bar(0, 10) == "░" * 10
    assert bar(1, 1000) == "▓" + "░" * 9  # a single vote is never shown as none
    assert bar(0, 0) == "░" * 10


def test_results_show_bars_counts_percent_and_turnout() -> None:
    poll = make_poll()
    votes = [Vote(f"@u{i}", i, ("a1",) if i < 4 else ("a2",)) for i in range(7)]
    text = render_results(poll, tally(poll, votes), ended=False, member_count=12).plain
    assert "Zwischenstand" in text
    assert "1. Antwort 1\n▓▓▓▓▓▓░░░░ 4 Stimmen · 57 %" in text
    assert "2. Antwort 2\n▓▓▓▓░░░░░░ 3 Stimmen · 43 %" in text
    assert "0 Stimmen · 0 %" in text
    assert "7 Stimmen von 12 Mitgliedern (58 %)" in text
    assert "🏆" not in text
    ended = render_results(poll, tally(poll, votes), ended=True).plain
    assert "Ergebnis" in ended and "1. Antwort 1 🏆" in ended and "2. Antwort 2 🏆" not in ended
    assert "7 Stimmen insgesamt" in ended


def test_results_escape_answer_text_in_html() -> None:
    poll = parse_poll_command("<script>? | <b>A</b> | B").poll
    html = render_results(poll, tally(poll, []), ended=True).html
    assert "<script>" not in html and "&lt;b&gt;A&lt;/b&gt;" in html


def test_undisclosed_poll_shows_only_the_number_of_votes_until_it_ends() -> None:
    poll = make_poll(disclosed=False)
    votes = [Vote("@a", 1, ("a1",)), Vote("@b", 1, ("a2",)), Vote("@c", 1, ("a2",))]
    open_text = render_results(poll, tally(poll, votes), ended=False).plain
    assert "3 Stimmen" in open_text
    assert "▓" not in open_text and "%" not in open_text
    assert "sobald die Umfrage endet" in open_text
    closed = render_results(poll, tally(poll, votes), ended=True).plain
    assert "2 Stimmen · 67 %" in closed


def test_anonymous_results_only_after_the_end_and_from_the_minimum_group_size() -> None:
    poll = make_poll(anonymous=True)
    few = Tally.from_counts(poll, {"a1": 3, "a2": 1}, voters=4)
    enough = Tally.from_counts(poll, {"a1": 3, "a2": 2}, voters=5)
    # No interim totals at all, however many voted: two interim results compared reveal a vote.
    for interim in (few, enough):
        text = render_results(poll, interim, ended=False, min_anonymous_group=5).plain
        assert "keinen Zwischenstand" in text and "▓" not in text
        assert not any(digit in text.replace("5 Personen", "") for digit in "1234")
    ended = render_results(poll, few, ended=True, min_anonymous_group=5).plain
    assert "zu wenige stimmen für ein anonymes ergebnis" in ended.lower() and "▓" not in ended
    shown = render_results(poll, enough, ended=True, min_anonymous_group=5).plain
    assert "3 Stimmen · 60 %" in shown and "anonymen Stimmen" in shown


def test_multiple_choice_and_spoiled_notes() -> None:
    poll = make_poll(max_selections=3)
    votes = [Vote("@a", 1, ("a1", "a2")), Vote("@b", 1, ("a1",)), Vote("@c", 1, ("bogus",))]
    text = render_results(poll, tally(poll, votes), ended=True).plain
    assert "2 Stimmen · 100 %" in text and "1 Stimme · 50 %" in text
    assert "Mehrfachauswahl" in text
    assert "1 ungültige Stimme wurde nicht gezählt" in text


def test_results_without_votes() -> None:
    poll = make_poll()
    assert "Noch keine Stimmen" in render_results(poll, tally(poll, []), ended=False).plain
    ended = render_results(poll, tally(poll, []), ended=True, lang="en").plain
    assert "No votes were cast" in ended and "🏆" not in ended


# --- Texts -------------------------------------------------------------------------------------


def _flat(node: object, prefix: str = "") -> set[str]:
    if not isinstance(node, dict):
        return {prefix.rstrip(".")}
    return {key for name, value in node.items() for key in _flat(value, f"{prefix}{name}.")}


def _keys(lang: str) -> set[str]:
    data = yaml.safe_load((LOCALES / lang / "umfrage.yaml").read_text(encoding="utf-8"))
    assert list(data) == ["umfrage", "cmd"]
    assert set(data["cmd"]) == {"poll", "vote", "results"}
    return set(data["umfrage"])


def test_german_and_english_texts_have_the_same_keys() -> None:
    assert _keys("de") == _keys("en")
    de, en = (
        _flat(yaml.safe_load((LOCALES / lang / "umfrage.yaml").read_text(encoding="utf-8")))
        for lang in ("de", "en")
    )
    assert de == en


def test_every_text_the_poll_commands_use_exists() -> None:
    commands = ROOT / "commands"
    used: set[str] = set()
    sources = [commands / name for name in ("umfrage.py", "abstimmen.py", "ergebnis.py")]
    sources += sorted((ROOT / "bot" / "features" / "polls").glob("*.py"))
    for path in sources:
        source = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'_T \+ "([a-z_]+)"', source))
    used |= {"err_vote_unknown_poll", "err_vote_no_open_poll", "err_results_no_poll"}
    assert len(used) > 8
    assert used <= _keys("de")
    for lang in ("de", "en"):
        for command in ("poll", "vote", "results"):
            assert Texts(lang)(f"cmd.{command}.usage", prefix="!").plain.startswith("!")
            assert Texts(lang)(f"cmd.{command}.help", prefix="!").plain


def test_every_text_the_code_uses_exists() -> None:
    source = "\n".join(
        path.read_text(encoding="utf-8")
        for path in sorted((ROOT / "bot" / "features" / "polls").glob("*.py"))
    )
    used = set(re.findall(r'_T \+ "([a-z_]+)"', source))
    plural = set(re.findall(r'_plural\(t, "([a-z_]+)"', source))
    used |= {f"{k}_{n}" for k in plural for n in ("one", "other")}
    for prefix in ("start_header", "result_header", "interim_header"):
        used |= {prefix, prefix + "_numbered"}
    assert used - {"start_header", "result_header", "interim_header"}  # the scan found keys
    assert used <= _keys("de")


# --- Store, export and command glue (no Matrix) --------------------------------------------------


def _new_poll(room: str, source: str, poll: Poll | None = None, **kwargs: object) -> object:
    from bot.store.polls import NewPoll

    return NewPoll(
        room_id=room,
        creator=str(kwargs.get("creator", "@ann:example.org")),
        source_event_id=source,
        poll=poll or make_poll(),
        lang="de",
        created_at=int(kwargs.get("created_at", 1_700_000_000_000)),  # type: ignore[call-overload]
        closes_at=kwargs.get("closes_at"),  # type: ignore[arg-type]
    )


@pytest.fixture
async def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    from bot.store import Store

    async with Store(tmp_path / "data" / "impulsbot.db") as opened:
        yield opened


def _vote(sender: str, ts: int, *answers: str, event_id: str = "") -> Vote:
    return Vote(sender, ts, answers, event_id or f"${sender}{ts}")


async def test_polls_are_created_once_per_command_and_numbered_across_rooms(store) -> None:  # type: ignore[no-untyped-def]
    first = await store.create_poll(_new_poll("!a:x", "$cmd1"))
    again = await store.create_poll(_new_poll("!a:x", "$cmd1"))
    other_room = await store.create_poll(_new_poll("!b:x", "$cmd2"))
    assert again.id == first.id and first.status == "pending"
    assert other_room.id == first.id + 1
    assert await store.latest_poll("!a:x", open_only=False) is None  # not posted yet
    await store.mark_poll_open(first.id, "$start1")
    latest = await store.latest_poll("!a:x", open_only=True)
    assert latest is not None and latest.id == first.id and latest.poll == make_poll()
    assert (await store.poll_by_start_event("$start1")).id == first.id  # type: ignore[union-attr]


async def test_end_is_begun_once_resumable_and_frozen(store) -> None:  # type: ignore[no-untyped-def]
    record = await store.create_poll(_new_poll("!a:x", "$cmd", closes_at=5_000))
    assert await store.begin_poll_end(record.id, 1_000) is None  # never posted: nothing to end
    await store.mark_poll_open(record.id, "$start")
    assert [r.id for r in await store.polls_to_close(4_999)] == []
    assert [r.id for r in await store.polls_to_close(5_000)] == [record.id]
    ending = await store.begin_poll_end(record.id, 5_000)
    assert ending is not None and ending.status == "ending" and ending.ended_at == 5_000
    # A crash before the end event was sent: the job sees it again, with the same end time.
    resumed = await store.begin_poll_end(record.id, 9_999)
    assert resumed is not None and resumed.ended_at == 5_000
    assert [r.id for r in await store.polls_to_close(0)] == [record.id]
    await store.finish_poll_end(record.id, "$end", {"a1": 2, "a2": 0, "a3": 1}, 3)
    assert await store.begin_poll_end(record.id, 9_999) is None
    assert await store.polls_to_close(10**13) == []
    ended = await store.get_poll(record.id)
    assert ended.status == "ended" and ended.final_counts == {"a1": 2, "a2": 0, "a3": 1}


async def test_stored_responses_count_by_the_msc_rules_and_redaction_restores(store) -> None:  # type: ignore[no-untyped-def]
    record = await store.create_poll(_new_poll("!a:x", "$cmd"))
    await store.mark_poll_open(record.id, "$start")
    assert await store.add_poll_response(record.id, _vote("@b:x", 10, "a1", event_id="$r1"))
    assert not await store.add_poll_response(record.id, _vote("@b:x", 10, "a1", event_id="$r1"))
    await store.add_poll_response(record.id, _vote("@b:x", 20, "a2", event_id="$r2"))
    await store.add_poll_response(record.id, _vote("@c:x", 15, "a3", event_id="$t1"), source="text")
    result = tally(record.poll, await store.poll_votes(record.id))
    assert (result.count("a1"), result.count("a2"), result.count("a3")) == (0, 1, 1)
    assert await store.redact_poll_response("$r2")
    result = tally(record.poll, await store.poll_votes(record.id))
    assert (result.count("a1"), result.count("a2")) == (1, 0)


async def test_anonymous_votes_keep_sums_and_refuse_double_votes(store) -> None:  # type: ignore[no-untyped-def]
    from bot.privacy import vote_key

    key = b"k" * 32
    record = await store.create_poll(_new_poll("!a:x", "$cmd", make_poll(anonymous=True)))
    assert await store.add_anonymous_vote(record.id, vote_key(record.id, "@b:x", key), ("a1",))
    assert not await store.add_anonymous_vote(record.id, vote_key(record.id, "@b:x", key), ("a2",))
    assert await store.add_anonymous_vote(record.id, vote_key(record.id, "@c:x", key), ("a1",))
    assert await store.anonymous_counts(record.id) == ({"a1": 2}, 2)
    files = [store.path, store.path.with_name(store.path.name + "-wal")]
    raw = b"".join(f.read_bytes() for f in files if f.exists())
    assert b"@b:x" not in raw and b"@c:x" not in raw


async def test_forgetting_a_user_removes_votes_but_not_ended_results(store) -> None:  # type: ignore[no-untyped-def]
    record = await store.create_poll(_new_poll("!a:x", "$cmd", creator="@b:x"))
    await store.mark_poll_open(record.id, "$start")
    await store.add_poll_response(record.id, _vote("@b:x", 10, "a1"))
    await store.add_poll_response(record.id, _vote("@c:x", 11, "a2"))
    await store.begin_poll_end(record.id, 100)
    await store.finish_poll_end(record.id, "$end", {"a1": 1, "a2": 1, "a3": 0}, 2)
    data = await store.personal_data_polls("@b:x")
    assert [p["poll"] for p in data["polls_created"]] == [record.id]
    assert [v["answers"] for v in data["poll_votes"]] == [["a1"]]
    counts = await store.forget_user("@b:x")
    assert (counts["vote"], counts["poll"]) == (1, 1)
    assert await store.personal_data_polls("@b:x") == {}
    assert len(await store.poll_votes(record.id)) == 1
    assert (await store.get_poll(record.id)).final_counts == {"a1": 1, "a2": 1, "a3": 0}


async def test_export_has_one_row_per_answer_and_hides_what_the_room_cannot_see(
    store,  # type: ignore[no-untyped-def]
) -> None:
    import io
    import json

    from bot.config import Config
    from bot.features.export.options import ExportOptions
    from bot.features.export.polls import export

    config = Config.model_validate(
        {"matrix": {"homeserver": "https://hs.example", "user_id": "@bot:example.org"}}
    )
    plain = await store.create_poll(_new_poll("!a:x", "$c1"))
    hidden = await store.create_poll(_new_poll("!a:x", "$c2", make_poll(disclosed=False)))
    anonymous = await store.create_poll(_new_poll("!b:x", "$c3", make_poll(anonymous=True)))
    for record, start in ((plain, "$s1"), (hidden, "$s2"), (anonymous, "$s3")):
        await store.mark_poll_open(record.id, start)
    await store.add_poll_response(plain.id, _vote("@b:x", 10, "a2"))
    await store.add_poll_response(hidden.id, _vote("@b:x", 10, "a1"))
    await store.add_anonymous_vote(anonymous.id, "k1", ("a3",))
    out = io.BytesIO()
    assert await export(store, config, ExportOptions(fmt="json"), out) == 9
    rows = json.loads(out.getvalue())
    by_poll = {(r["poll"], r["answer_number"]): r for r in rows}
    assert by_poll[(plain.id, 2)]["count"] == 1 and by_poll[(plain.id, 1)]["count"] == 0
    assert by_poll[(plain.id, 2)]["answer"] == "Antwort 2"
    assert (
        by_poll[(plain.id, 2)]["status"] == "läuft" and by_poll[(plain.id, 2)]["ended_at"] is None
    )
    assert by_poll[(hidden.id, 1)]["count"] is None  # hidden until it ends
    assert by_poll[(anonymous.id, 3)]["count"] is None  # 1 voter < min_anonymous_group
    assert "@b:x" not in out.getvalue().decode()
    csv_out = io.BytesIO()
    await export(store, config, ExportOptions(fmt="csv", room_id="!b:x"), csv_out)
    lines = csv_out.getvalue().decode("utf-8-sig").splitlines()
    assert len(lines) == 4 and lines[0].startswith("Umfrage-Nr.;Raum-ID;Frage")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("beenden", (True, None)),
        ("beenden 4", (True, 4)),
        ("end #12", (True, 12)),
        ("Beenden Nr. 3", (True, 3)),
        ("Beenden wir früher? | Ja | Nein", (False, None)),
        ("Wann? | Mo | Di", (False, None)),
    ],
)
def test_end_subcommand_is_told_apart_from_questions(
    args: str, expected: tuple[bool, int | None]
) -> None:
    from bot.features.polls.parse import parse_end_request

    assert parse_end_request(args) == expected
