"""Lean Coffee session logic: dots, phases, timers, extension votes, persistence, parsing."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
import yaml

from bot.features.leancoffee import session as lc
from bot.features.leancoffee.session import (
    DiscussionStarted,
    DotsCast,
    ExtensionDecided,
    ExtensionVoteOpened,
    LcAction,
    LeanCoffeeSession,
    LeanCoffeeSettings,
    NoTopicsLeft,
    Phase,
    Rejected,
    TopicDone,
    TopicStatus,
    VotingClosed,
)
from bot.text.i18n import Texts

UTC = dt.UTC
T0 = dt.datetime(2025, 10, 13, 9, 0, tzinfo=UTC)
HOST = "@host:kommune-a.de"
ANNA = "@anna:kommune-a.de"
BEN = "@ben:kommune-b.de"
CARLA = "@carla:kommune-c.de"
DE = Texts("de")
EN = Texts("en")


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def new_session(*topics: str, dots: int = 3) -> LeanCoffeeSession:
    settings = LeanCoffeeSettings(dots_per_person=dots)
    session, _ = LeanCoffeeSession.start("!room:kommune-a.de", HOST, T0, settings)
    for text in topics:
        assert session.add_topic(text).ok
    return session


def voting_session(*topics: str, dots: int = 3) -> LeanCoffeeSession:
    session = new_session(*topics, dots=dots)
    assert session.open_voting(HOST).ok
    return session


def discussing(session: LeanCoffeeSession, now: dt.datetime = T0) -> DiscussionStarted:
    outcomes = session.advance(now, HOST)
    started = outcomes[-1]
    assert isinstance(started, DiscussionStarted)
    return started


def roundtrip(session: LeanCoffeeSession) -> LeanCoffeeSession:
    return LeanCoffeeSession.from_dict(json.loads(json.dumps(session.to_dict())))


# ---- dots: stacking and the per-person limit -------------------------------------------------


def test_dots_stack_on_one_topic_up_to_the_limit() -> None:
    session = voting_session("E-Akte", "KI im Bürgeramt")
    first = session.cast_dots(ANNA, 1, 2)
    assert isinstance(first, DotsCast)
    assert (first.on_topic, first.remaining) == (2, 1)
    second = session.cast_dots(ANNA, 1)
    assert isinstance(second, DotsCast)
    assert (second.on_topic, second.remaining) == (3, 0)
    assert session.votes_for(1) == 3


def test_a_dot_beyond_the_limit_is_refused_and_changes_nothing() -> None:
    session = voting_session("E-Akte", "KI im Bürgeramt")
    session.cast_dots(ANNA, 1, 3)
    before = session.to_dict()
    refused = session.cast_dots(ANNA, 2)
    assert isinstance(refused, Rejected) and refused.reason == "no_dots_left"
    assert session.to_dict() == before
    assert "3" in refused.message(DE).plain


def test_asking_for_more_dots_than_left_names_the_rest() -> None:
    session = voting_session("E-Akte", "KI im Bürgeramt")
    session.cast_dots(ANNA, 1, 2)
    refused = session.cast_dots(ANNA, 2, 2)
    assert isinstance(refused, Rejected) and refused.reason == "not_enough_dots"
    text = refused.message(DE).plain
    assert "2 Punkte" in text and "1 Punkt" in text
    assert session.remaining_dots(ANNA) == 1


def test_each_person_has_their_own_dots() -> None:
    session = voting_session("E-Akte", dots=2)
    assert session.cast_dots(ANNA, 1, 2).ok
    assert session.cast_dots(BEN, 1, 2).ok
    assert session.votes_for(1) == 4
    assert session.remaining_dots(CARLA) == 2


def test_dots_need_an_open_vote_and_a_known_topic() -> None:
    session = new_session("E-Akte")
    assert session.cast_dots(ANNA, 1).reason == "voting_not_open"  # type: ignore[union-attr]
    session.open_voting(HOST)
    assert session.cast_dots(ANNA, 7).reason == "topic_unknown"  # type: ignore[union-attr]
    assert session.cast_dots(ANNA, 1, 0).reason == "dots_count_invalid"  # type: ignore[union-attr]
    discussing(session)
    assert session.cast_dots(ANNA, 1).reason == "voting_closed"  # type: ignore[union-attr]


def test_taking_dots_back_frees_them_and_cannot_go_below_zero() -> None:
    session = voting_session("E-Akte", "KI")
    session.cast_dots(ANNA, 1, 2)
    back = session.retract_dots(ANNA, 1, 5)
    assert back.ok and session.remaining_dots(ANNA) == 3 and session.votes_for(1) == 0
    again = session.retract_dots(ANNA, 1)
    assert isinstance(again, Rejected) and again.reason == "no_dots_to_retract"


# ---- reactions ---------------------------------------------------------------------------------


def with_topic_events(session: LeanCoffeeSession) -> None:
    for topic in session.topics:
        session.attach_topic_event(topic.number, f"$topic{topic.number}")


def test_keycap_reaction_on_a_topic_gives_that_many_dots() -> None:
    session = voting_session("E-Akte", "KI")
    with_topic_events(session)
    outcome = session.on_reaction(ANNA, "$topic2", "2️⃣", "$r1")
    assert isinstance(outcome, DotsCast) and outcome.remaining == 1
    assert session.votes_for(2) == 2
    # Some clients drop the variation selector.
    assert session.on_reaction(BEN, "$topic1", "3\u20e3", "$r2").ok  # type: ignore[union-attr]
    assert session.votes_for(1) == 3


def test_replayed_reaction_is_not_counted_twice() -> None:
    session = voting_session("E-Akte")
    with_topic_events(session)
    session.on_reaction(ANNA, "$topic1", "1️⃣", "$r1")
    assert session.on_reaction(ANNA, "$topic1", "1️⃣", "$r1") is None
    assert session.votes_for(1) == 1


def test_removing_a_reaction_takes_back_exactly_its_dots() -> None:
    session = voting_session("E-Akte", "KI")
    with_topic_events(session)
    session.on_reaction(ANNA, "$topic1", "2️⃣", "$r1")
    session.cast_dots(ANNA, 1)  # one more by command
    session.on_reaction_removed("$r1")
    assert session.votes_for(1) == 1
    assert session.remaining_dots(ANNA) == 2


def test_removing_a_refused_reaction_leaves_other_dots_alone() -> None:
    session = voting_session("E-Akte", dots=2)
    with_topic_events(session)
    session.on_reaction(ANNA, "$topic1", "2️⃣", "$r1")
    refused = session.on_reaction(ANNA, "$topic1", "3️⃣", "$r2")
    assert isinstance(refused, Rejected)
    assert session.on_reaction_removed("$r2") is None
    assert session.votes_for(1) == 2


def test_unrelated_reactions_are_ignored() -> None:
    session = voting_session("E-Akte")
    with_topic_events(session)
    assert session.on_reaction(ANNA, "$topic1", "❤️", "$r1") is None
    assert session.on_reaction(ANNA, "$elsewhere", "1️⃣", "$r2") is None
    assert session.votes_for(1) == 0


def test_reaction_key_helpers() -> None:
    assert lc.dots_for_reaction("1️⃣") == 1
    assert lc.dots_for_reaction("9\u20e3") == 9
    assert lc.dots_for_reaction("0️⃣") is None
    assert lc.extension_vote_for_reaction("👍🏽") is True
    assert lc.extension_vote_for_reaction("👎") is False
    assert lc.extension_vote_for_reaction("🎉") is None
    assert lc.dot_reaction_keys(5) == ["1️⃣", "2️⃣", "3️⃣"]


# ---- choosing the next topic ------------------------------------------------------------------


def test_most_dots_first_and_ties_go_to_the_earlier_topic() -> None:
    session = voting_session("A", "B", "C")
    session.cast_dots(ANNA, 3, 2)
    session.cast_dots(BEN, 2, 2)
    session.cast_dots(CARLA, 1, 1)
    assert [t.number for t in session.ranking()] == [2, 3, 1]
    started = discussing(session)
    assert started.number == 2 and started.votes == 2
    # After topic 2: topic 3 (2 dots) before topic 1 (1 dot).
    following = session.advance(T0 + minutes(1), HOST)
    assert [o.number for o in following if isinstance(o, DiscussionStarted)] == [3]


def test_closing_the_vote_reports_totals_and_forgets_who_voted() -> None:
    session = voting_session("A", "B")
    session.cast_dots(ANNA, 1, 3)
    session.cast_dots(BEN, 2, 1)
    closed, _ = session.advance(T0, HOST)
    assert isinstance(closed, VotingClosed)
    assert (closed.voters, closed.dots_cast) == (2, 4)
    state = json.dumps(session.to_dict())
    assert ANNA not in state and BEN not in state
    assert session.votes_for(1) == 3 and session.votes_for(2) == 1


def test_skipping_the_vote_discusses_in_submission_order() -> None:
    session = new_session("Erstes", "Zweites")
    closed, started = session.advance(T0, HOST)
    assert isinstance(closed, VotingClosed) and closed.skipped
    assert isinstance(started, DiscussionStarted) and started.number == 1


def test_late_topics_queue_behind_voted_ones_and_the_end_is_announced() -> None:
    session = voting_session("A", "B")
    session.cast_dots(ANNA, 2)
    discussing(session)
    assert session.add_topic("Nachzügler").ok
    numbers = []
    for _ in range(3):
        outcomes = session.advance(T0, HOST)
        numbers += [o.number for o in outcomes if isinstance(o, DiscussionStarted)]
    assert numbers == [1, 3]
    assert isinstance(outcomes[-1], NoTopicsLeft)


def test_timebox_deadline_comes_from_the_settings() -> None:
    session = voting_session("A")
    session.settings = LeanCoffeeSettings(timebox_seconds=5 * 60)
    started = discussing(session, T0 + minutes(2))
    assert started.deadline == T0 + minutes(7)
    assert session.next_deadline() == T0 + minutes(7)


# ---- timebox and extension vote ---------------------------------------------------------------


def at_extension_vote(*votes: tuple[str, bool]) -> LeanCoffeeSession:
    session = voting_session("A", "B")
    discussing(session)
    (opened,) = session.on_timer(T0 + minutes(8))
    assert isinstance(opened, ExtensionVoteOpened)
    for user, up in votes:
        session.vote_extension(user, up)
    return session


def test_timer_before_the_deadline_does_nothing() -> None:
    session = voting_session("A")
    discussing(session)
    before = session.to_dict()
    assert session.on_timer(T0 + minutes(7)) == []
    assert session.to_dict() == before


def test_timebox_end_asks_for_an_extension_with_its_own_window() -> None:
    session = at_extension_vote()
    assert session.phase is Phase.EXTENSION_VOTE
    assert session.next_deadline() == T0 + minutes(9)


def test_majority_thumbs_up_extends_by_the_extension_time() -> None:
    session = at_extension_vote((ANNA, True), (BEN, True), (CARLA, False))
    (decided,) = session.on_timer(T0 + minutes(9))
    assert isinstance(decided, ExtensionDecided) and decided.extended
    assert (decided.yes, decided.no) == (2, 1)
    assert session.phase is Phase.DISCUSSING
    assert session.deadline == T0 + minutes(13)


@pytest.mark.parametrize(
    "votes", [(), ((ANNA, True), (BEN, False)), ((ANNA, False),)], ids=["silence", "tie", "no"]
)
def test_without_a_majority_the_topic_is_done(votes: tuple[tuple[str, bool], ...]) -> None:
    session = at_extension_vote(*votes)
    (decided,) = session.on_timer(T0 + minutes(9))
    assert isinstance(decided, ExtensionDecided) and not decided.extended
    assert session.topic(1).status is TopicStatus.DONE  # type: ignore[union-attr]
    assert session.phase is Phase.BETWEEN and session.next_deadline() is None


def test_a_topic_is_extended_only_once() -> None:
    session = at_extension_vote((ANNA, True))
    session.on_timer(T0 + minutes(9))
    (done,) = session.on_timer(T0 + minutes(13))
    assert isinstance(done, TopicDone) and done.reason is lc.DoneReason.EXTENSION_USED
    assert session.phase is Phase.BETWEEN


def test_latest_vote_of_a_person_counts_and_can_be_withdrawn() -> None:
    session = at_extension_vote((ANNA, True))
    session.vote_extension(ANNA, False)
    assert session.extension_votes == {ANNA: False}
    assert session.withdraw_extension_vote(ANNA, True) is False
    assert session.withdraw_extension_vote(ANNA, False) is True
    assert session.extension_votes == {}


def test_thumb_reactions_on_the_prompt_vote_and_removal_withdraws() -> None:
    session = at_extension_vote()
    session.extension_prompt_event_id = "$prompt"
    session.on_reaction(ANNA, "$prompt", "👍", "$r1")
    session.on_reaction(BEN, "$prompt", "👍🏻", "$r2")
    session.on_reaction(CARLA, "$prompt", "👎", "$r3")
    session.on_reaction_removed("$r2")
    (decided,) = session.on_timer(T0 + minutes(9))
    assert isinstance(decided, ExtensionDecided)
    assert (decided.yes, decided.no, decided.extended) == (1, 1, False)


def test_vote_by_command_outside_a_vote_is_refused() -> None:
    session = voting_session("A")
    refused = session.vote_extension_command(ANNA, True)
    assert isinstance(refused, Rejected) and refused.reason == "no_extension_vote"
    discussing(session)
    session.on_timer(T0 + minutes(8))
    recorded = session.vote_extension_command(ANNA, True)
    assert recorded.ok and "1" in recorded.message(DE).plain


def test_moving_on_during_the_vote_honours_the_majority() -> None:
    extend = at_extension_vote((ANNA, True))
    outcomes = extend.advance(T0 + minutes(8.5), HOST)
    assert [type(o) for o in outcomes] == [ExtensionDecided]
    assert extend.current == 1 and extend.phase is Phase.DISCUSSING

    stop = at_extension_vote((ANNA, False))
    outcomes = stop.advance(T0 + minutes(8.5), HOST)
    assert [type(o) for o in outcomes] == [ExtensionDecided, DiscussionStarted]
    assert stop.current == 2


def test_timer_fires_once_even_if_called_twice() -> None:
    session = voting_session("A")
    discussing(session)
    assert len(session.on_timer(T0 + minutes(8))) == 1
    assert session.on_timer(T0 + minutes(8)) == []


def test_naive_datetimes_are_refused() -> None:
    session = voting_session("A")
    with pytest.raises(ValueError):
        session.advance(dt.datetime(2025, 10, 13, 9, 0), HOST)


# ---- steering, notes, end ---------------------------------------------------------------------


def test_only_host_or_moderator_steer_the_session() -> None:
    session = new_session("A")
    assert session.open_voting(ANNA).reason == "not_host"  # type: ignore[union-attr]
    assert session.advance(T0, ANNA)[0].ok is False
    assert session.end(T0, ANNA).reason == "not_host"  # type: ignore[union-attr]
    assert session.open_voting(ANNA, moderator=True).ok
    assert HOST in session.open_voting(ANNA).message(DE).plain  # type: ignore[union-attr]


def test_topics_are_numbered_and_checked() -> None:
    session = new_session("E-Akte")
    assert session.add_topic("  e-akte ").reason == "topic_duplicate"  # type: ignore[union-attr]
    assert session.add_topic("   ").reason == "topic_empty"  # type: ignore[union-attr]
    too_long = session.add_topic("x" * (lc.MAX_TOPIC_LENGTH + 1))
    assert too_long.reason == "topic_too_long"  # type: ignore[union-attr]
    added = session.add_topic("Open Data")
    assert added.ok and added.number == 2  # type: ignore[union-attr]


def test_notes_go_to_the_current_or_just_finished_topic() -> None:
    session = voting_session("A", "B")
    assert session.add_note("zu früh").reason == "note_no_topic"  # type: ignore[union-attr]
    discussing(session)
    assert session.add_note("Erkenntnis eins").ok
    session.advance(T0 + minutes(3), HOST)  # topic 1 done, topic 2 starts
    assert session.add_note("zu B").ok
    assert session.add_note("nachgereicht", number=1).ok
    assert session.topic(1).notes == ["Erkenntnis eins", "nachgereicht"]  # type: ignore[union-attr]
    assert session.topic(2).notes == ["zu B"]  # type: ignore[union-attr]


def test_notes_on_topics_not_yet_discussed_are_refused() -> None:
    session = voting_session("A", "B")
    discussing(session)
    refused = session.add_note("vorgegriffen", number=2)
    assert isinstance(refused, Rejected) and refused.reason == "note_topic_open"


def test_end_gives_a_summary_with_discussed_topics_first() -> None:
    session = voting_session("A", "B", "C")
    session.cast_dots(ANNA, 2, 2)
    session.cast_dots(ANNA, 3, 1)
    discussing(session)  # B
    session.add_note("B-Erkenntnis")
    ended = session.end(T0 + minutes(30), HOST)
    assert ended.ok
    summary = ended.summary  # type: ignore[union-attr]
    assert [(t.number, t.discussed) for t in summary.topics] == [(2, True), (3, False), (1, False)]
    assert summary.topics[0].notes == ("B-Erkenntnis",)
    assert session.phase is Phase.ENDED and session.next_deadline() is None
    assert session.add_topic("später").reason == "ended"  # type: ignore[union-attr]
    stored = json.dumps(summary.to_dict())
    assert ANNA not in stored
    assert lc.LeanCoffeeSummary.from_dict(json.loads(stored)) == summary


# ---- persistence and isolation ----------------------------------------------------------------


def test_restart_mid_discussion_keeps_the_timer() -> None:
    session = voting_session("A", "B")
    session.cast_dots(ANNA, 2, 3)
    discussing(session)
    restored = roundtrip(session)
    assert restored.to_dict() == session.to_dict()
    assert restored.next_deadline() == T0 + minutes(8)
    # The bot was down past the deadline: the vote opens on wake-up with a full window.
    (opened,) = restored.on_timer(T0 + minutes(20))
    assert isinstance(opened, ExtensionVoteOpened)
    assert restored.next_deadline() == T0 + minutes(21)


def test_restart_during_voting_keeps_dots_and_reaction_records() -> None:
    session = voting_session("A")
    with_topic_events(session)
    session.on_reaction(ANNA, "$topic1", "2️⃣", "$r1")
    restored = roundtrip(session)
    assert restored.remaining_dots(ANNA) == 1
    restored.on_reaction_removed("$r1")
    assert restored.remaining_dots(ANNA) == 3


def test_unknown_state_version_is_refused() -> None:
    data = new_session("A").to_dict()
    data["version"] = 99
    with pytest.raises(ValueError):
        LeanCoffeeSession.from_dict(data)
    del data["version"]
    with pytest.raises(ValueError):
        LeanCoffeeSession.from_dict(data)


def test_two_rooms_do_not_interfere() -> None:
    one, _ = LeanCoffeeSession.start("!one:x", HOST, T0)
    two, _ = LeanCoffeeSession.start("!two:x", HOST, T0)
    one.add_topic("nur in eins")
    one.open_voting(HOST)
    one.cast_dots(ANNA, 1, 3)
    assert two.topics == [] and two.phase is Phase.COLLECTING
    two.add_topic("nur in zwei")
    two.open_voting(HOST)
    assert two.remaining_dots(ANNA) == 3


# ---- parsing ----------------------------------------------------------------------------------


def test_start_without_options_uses_the_standard_protocol() -> None:
    command = lc.parse_command("start")
    assert isinstance(command, lc.LcCommand) and command.action is LcAction.START
    assert command.settings == LeanCoffeeSettings(3, 480, 240)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("start --punkte 5 --zeit 10m --verlaengerung 3m", (5, 600, 180)),
        ("start --punkte=2 --zeit=6 --verlängerung 90s", (2, 360, 90)),
        ("start —zeit 5 min", None),  # em dash from a phone keyboard; "min" is a stray word
        ("start —zeit 5min", (3, 300, 240)),
        ("start --points 4 --time 1h", (4, 3600, 240)),
    ],
)
def test_start_options(args: str, expected: tuple[int, int, int] | None) -> None:
    command = lc.parse_command(args)
    if expected is None:
        assert isinstance(command, Rejected)
        return
    assert isinstance(command, lc.LcCommand) and command.settings is not None
    settings = command.settings
    assert (settings.dots_per_person, settings.timebox_seconds, settings.extension_seconds) == (
        expected
    )


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ("start --punkte 0", "dots_invalid"),
        ("start --punkte drei", "dots_invalid"),
        ("start --zeit bald", "duration_invalid"),
        ("start --zeit 2h", "duration_range"),
        ("start --verlaengerung 30s", "duration_range"),
        ("start --farbe blau", "option_unknown"),
        ("start --zeit", "option_missing_value"),
        ("kaffee", "unknown_subcommand"),
        ("punkt", "topic_number_missing"),
        ("punkt zwei", "topic_number_invalid"),
        ("punkt 2 viele", "dots_count_invalid"),
        ("thema", "topic_empty"),
        ("notiz", "note_empty"),
        ("weiter jetzt", "unexpected_argument"),
    ],
)
def test_bad_arguments_get_a_german_explanation(args: str, reason: str) -> None:
    result = lc.parse_command(args)
    assert isinstance(result, Rejected) and result.reason == reason
    text = result.message(DE, prefix="?").plain
    assert text and "{" not in text


def test_option_errors_name_the_option_and_the_allowed_range() -> None:
    result = lc.parse_command("start --zeit 2h")
    assert isinstance(result, Rejected)
    assert result.message(DE).plain == "`--zeit` muss zwischen 1 und 60 Minuten liegen."


@pytest.mark.parametrize(
    ("args", "topic", "count"),
    [("punkt 2", 2, 1), ("punkt #3 2", 3, 2), ("dot 1 -1", 1, -1), ("punkt 4 x2", 4, 2)],
)
def test_dot_command(args: str, topic: int, count: int) -> None:
    command = lc.parse_command(args)
    assert isinstance(command, lc.LcCommand) and command.action is LcAction.DOT
    assert (command.topic_no, command.count) == (topic, count)


def test_note_command_with_and_without_topic_number() -> None:
    plain = lc.parse_command("notiz Pilot im 1. Quartal")
    numbered = lc.parse_command("notiz #2 Ansprechpartner klären")
    assert isinstance(plain, lc.LcCommand) and plain.topic_no is None
    assert plain.text == "Pilot im 1. Quartal"
    assert isinstance(numbered, lc.LcCommand) and numbered.topic_no == 2
    assert numbered.text == "Ansprechpartner klären"


@pytest.mark.parametrize(
    ("word", "action"),
    [
        ("thema X", LcAction.TOPIC),
        ("abstimmen", LcAction.VOTE),
        ("weiter", LcAction.NEXT),
        ("next", LcAction.NEXT),
        ("ende", LcAction.END),
        ("board", LcAction.BOARD),
        ("ja", LcAction.YES),
        ("nein", LcAction.NO),
        ("", LcAction.HELP),
    ],
)
def test_subcommand_names(word: str, action: LcAction) -> None:
    command = lc.parse_command(word)
    assert isinstance(command, lc.LcCommand) and command.action is action


def test_duration_text() -> None:
    assert lc.parse_duration_text("8m") == 480
    assert lc.parse_duration_text("8 min") == 480
    assert lc.parse_duration_text("1,5") == 90
    assert lc.parse_duration_text("45s") == 45
    assert lc.parse_duration_text("acht") is None


# ---- rendering --------------------------------------------------------------------------------


def test_board_shows_the_three_columns_and_escapes_user_text() -> None:
    session = voting_session("<b>Fett</b> & Co", "Open Data", "E-Akte")
    session.cast_dots(ANNA, 3, 2)
    discussing(session)  # E-Akte
    session.advance(T0 + minutes(2), HOST)  # E-Akte done, topic 1 next (tie with 2)
    board = lc.render_board(session, DE, prefix="!", now=T0 + minutes(4))
    lines = board.plain.split("\n")
    open_at, current_at, done_at = (
        lines.index("Zu besprechen"),
        lines.index("Wird besprochen"),
        lines.index("Erledigt"),
    )
    assert any("Open Data" in line for line in lines[open_at:current_at])
    assert any("<b>Fett</b> & Co" in line for line in lines[current_at:done_at])
    assert any("E-Akte (2 Punkte)" in line for line in lines[done_at:])
    assert "noch etwa 6 Minuten" in board.plain  # started at +2 min, 8-minute box
    assert "&lt;b&gt;Fett&lt;/b&gt; &amp; Co" in board.html and "<b>Fett</b>" not in board.html


def test_summary_renders_notes_in_both_languages() -> None:
    session = voting_session("Open Data")
    discussing(session)
    session.add_note("Datensätze sammeln")
    ended = session.end(T0 + minutes(10), HOST)
    for texts, heading, date in ((DE, "Besprochen", "13.10.2025"), (EN, "Discussed", "2025-10-13")):
        text = ended.message(texts).plain
        assert heading in text and "Datensätze sammeln" in text and date in text


def test_outcome_messages_render_without_leftover_placeholders() -> None:
    session = voting_session("A", "B")
    outcomes: list[lc.Outcome] = [session.cast_dots(ANNA, 1, 2), session.retract_dots(ANNA, 1)]
    outcomes += session.advance(T0, HOST)
    outcomes += session.on_timer(T0 + minutes(8))
    outcomes += [session.vote_extension_command(ANNA, True)]
    outcomes += session.on_timer(T0 + minutes(9))
    outcomes += session.on_timer(T0 + minutes(13))
    outcomes += [session.add_note("x")]
    outcomes += session.advance(T0 + minutes(14), HOST)
    outcomes += session.advance(T0 + minutes(15), HOST)
    outcomes += [session.end(T0 + minutes(16), HOST)]
    for outcome in outcomes:
        for texts in (DE, EN):
            message = outcome.message(texts, prefix="!")
            assert message.plain and not re.search(r"\{\w+\}", message.plain), message.plain


# ---- locale files -----------------------------------------------------------------------------

LOCALES = Path(__file__).resolve().parent.parent / "bot" / "locales"


def flatten(node: dict, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in node.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def texts_of(lang: str) -> dict[str, str]:
    data = yaml.safe_load((LOCALES / lang / "austausch.yaml").read_text(encoding="utf-8"))
    # Besides the feature's texts only the help entries of its own three commands.
    assert list(data) == ["austausch", "cmd"]
    assert set(data["cmd"]) == {"leancoffee", "tandem", "wol"}
    return flatten(data)


def test_german_and_english_have_the_same_texts_and_placeholders() -> None:
    de, en = texts_of("de"), texts_of("en")
    assert set(de) == set(en)
    for key in de:
        assert set(re.findall(r"\{(\w+)\}", de[key])) == set(re.findall(r"\{(\w+)\}", en[key])), key


def test_every_refusal_reason_in_the_code_has_a_text() -> None:
    source_dir = Path(__file__).resolve().parent.parent / "bot"
    de = texts_of("de")
    for module, section in (("leancoffee", "lc"), ("tandem", "tandem"), ("wol", "wol")):
        source = (source_dir / f"{module}.py").read_text(encoding="utf-8")
        reasons = set(re.findall(r'_reject\(\s*"(\w+)"', source))
        assert reasons, module
        missing = {r for r in reasons if f"austausch.{section}.err.{r}" not in de}
        assert not missing, (module, missing)
