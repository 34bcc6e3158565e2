"""Lean Coffee session logic: dots, phases, timers, extension votes, persistence, parsing."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
import yaml

from bot.features.leancoffee import flow, model, parse, posts, reactions, render, voting
from bot.features.leancoffee.codec import (
    session_from_dict,
    session_to_dict,
    summary_from_dict,
    summary_to_dict,
)
from bot.features.leancoffee.model import (
    LeanCoffeeSession,
    LeanCoffeeSettings,
    Phase,
    TopicStatus,
)
from bot.features.leancoffee.outcomes import (
    DiscussionStarted,
    DoneReason,
    DotsCast,
    ExtensionDecided,
    ExtensionVoteOpened,
    NoTopicsLeft,
    TopicDone,
    VotingClosed,
)
from bot.features.leancoffee.parse import LcAction
from bot.features.leancoffee.posts import BOARD, PROMPT, TOPIC, Post
from bot.outcome import Outcome, Rejected
from bot.text.i18n import Message, Texts

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
    session, _ = flow.start("!room:kommune-a.de", HOST, T0, settings)
    for text in topics:
        assert voting.add_topic(session, text).ok
    return session


def voting_session(*topics: str, dots: int = 3) -> LeanCoffeeSession:
    session = new_session(*topics, dots=dots)
    assert voting.open_voting(session, HOST).ok
    return session


def discussing(session: LeanCoffeeSession, now: dt.datetime = T0) -> DiscussionStarted:
    outcomes = flow.advance(session, now, HOST)
    started = outcomes[-1]
    assert isinstance(started, DiscussionStarted)
    return started


def roundtrip(session: LeanCoffeeSession) -> LeanCoffeeSession:
    return session_from_dict(json.loads(json.dumps(session_to_dict(session))))


# ---- dots: stacking and the per-person limit -------------------------------------------------


def test_dots_stack_on_one_topic_up_to_the_limit() -> None:
    session = voting_session("E-Akte", "KI im Bürgeramt")
    first = voting.cast_dots(session, ANNA, 1, 2)
    assert isinstance(first, DotsCast)
    assert (first.on_topic, first.remaining) == (2, 1)
    second = voting.cast_dots(session, ANNA, 1)
    assert isinstance(second, DotsCast)
    assert (second.on_topic, second.remaining) == (3, 0)
    assert session.votes_for(1) == 3


def test_a_dot_beyond_the_limit_is_refused_and_changes_nothing() -> None:
    session = voting_session("E-Akte", "KI im Bürgeramt")
    voting.cast_dots(session, ANNA, 1, 3)
    before = session_to_dict(session)
    refused = voting.cast_dots(session, ANNA, 2)
    assert isinstance(refused, Rejected) and refused.reason == "no_dots_left"
    assert session_to_dict(session) == before
    assert "3" in refused.message(DE).plain


def test_asking_for_more_dots_than_left_names_the_rest() -> None:
    session = voting_session("E-Akte", "KI im Bürgeramt")
    voting.cast_dots(session, ANNA, 1, 2)
    refused = voting.cast_dots(session, ANNA, 2, 2)
    assert isinstance(refused, Rejected) and refused.reason == "not_enough_dots"
    text = refused.message(DE).plain
    assert "2 Punkte" in text and "1 Punkt" in text
    assert session.remaining_dots(ANNA) == 1


def test_each_person_has_their_own_dots() -> None:
    session = voting_session("E-Akte", dots=2)
    assert voting.cast_dots(session, ANNA, 1, 2).ok
    assert voting.cast_dots(session, BEN, 1, 2).ok
    assert session.votes_for(1) == 4
    assert session.remaining_dots(CARLA) == 2


def test_dots_need_an_open_vote_and_a_known_topic() -> None:
    session = new_session("E-Akte")
    assert voting.cast_dots(session, ANNA, 1).reason == "voting_not_open"  # type: ignore[union-attr]
    voting.open_voting(session, HOST)
    assert voting.cast_dots(session, ANNA, 7).reason == "topic_unknown"  # type: ignore[union-attr]
    assert voting.cast_dots(session, ANNA, 1, 0).reason == "dots_count_invalid"  # type: ignore[union-attr]
    discussing(session)
    assert voting.cast_dots(session, ANNA, 1).reason == "voting_closed"  # type: ignore[union-attr]


def test_taking_dots_back_frees_them_and_cannot_go_below_zero() -> None:
    session = voting_session("E-Akte", "KI")
    voting.cast_dots(session, ANNA, 1, 2)
    back = voting.retract_dots(session, ANNA, 1, 5)
    assert back.ok and session.remaining_dots(ANNA) == 3 and session.votes_for(1) == 0
    again = voting.retract_dots(session, ANNA, 1)
    assert isinstance(again, Rejected) and again.reason == "no_dots_to_retract"


# ---- reactions ---------------------------------------------------------------------------------


def with_topic_events(session: LeanCoffeeSession) -> None:
    for topic in session.topics:
        session.attach_topic_event(topic.number, f"$topic{topic.number}")


def test_keycap_reaction_on_a_topic_gives_that_many_dots() -> None:
    session = voting_session("E-Akte", "KI")
    with_topic_events(session)
    outcome = reactions.on_reaction(session, ANNA, "$topic2", "2️⃣", "$r1")
    assert isinstance(outcome, DotsCast) and outcome.remaining == 1
    assert session.votes_for(2) == 2
    # Some clients drop the variation selector.
    assert reactions.on_reaction(session, BEN, "$topic1", "3\u20e3", "$r2").ok  # type: ignore[union-attr]
    assert session.votes_for(1) == 3


def test_replayed_reaction_is_not_counted_twice() -> None:
    session = voting_session("E-Akte")
    with_topic_events(session)
    reactions.on_reaction(session, ANNA, "$topic1", "1️⃣", "$r1")
    assert reactions.on_reaction(session, ANNA, "$topic1", "1️⃣", "$r1") is None
    assert session.votes_for(1) == 1


def test_removing_a_reaction_takes_back_exactly_its_dots() -> None:
    session = voting_session("E-Akte", "KI")
    with_topic_events(session)
    reactions.on_reaction(session, ANNA, "$topic1", "2️⃣", "$r1")
    voting.cast_dots(session, ANNA, 1)  # one more by command
    reactions.on_reaction_removed(session, "$r1")
    assert session.votes_for(1) == 1
    assert session.remaining_dots(ANNA) == 2


def test_removing_a_refused_reaction_leaves_other_dots_alone() -> None:
    session = voting_session("E-Akte", dots=2)
    with_topic_events(session)
    reactions.on_reaction(session, ANNA, "$topic1", "2️⃣", "$r1")
    refused = reactions.on_reaction(session, ANNA, "$topic1", "3️⃣", "$r2")
    assert isinstance(refused, Rejected)
    assert reactions.on_reaction_removed(session, "$r2") is None
    assert session.votes_for(1) == 2


def test_unrelated_reactions_are_ignored() -> None:
    session = voting_session("E-Akte")
    with_topic_events(session)
    assert reactions.on_reaction(session, ANNA, "$topic1", "❤️", "$r1") is None
    assert reactions.on_reaction(session, ANNA, "$elsewhere", "1️⃣", "$r2") is None
    assert session.votes_for(1) == 0


def test_reaction_key_helpers() -> None:
    assert reactions.dots_for_reaction("1️⃣") == 1
    assert reactions.dots_for_reaction("9\u20e3") == 9
    assert reactions.dots_for_reaction("0️⃣") is None
    assert reactions.extension_vote_for_reaction("👍🏽") is True
    assert reactions.extension_vote_for_reaction("👎") is False
    assert reactions.extension_vote_for_reaction("🎉") is None
    assert reactions.dot_reaction_keys(5) == ["1️⃣", "2️⃣", "3️⃣"]


# ---- choosing the next topic ------------------------------------------------------------------


def test_most_dots_first_and_ties_go_to_the_earlier_topic() -> None:
    session = voting_session("A", "B", "C")
    voting.cast_dots(session, ANNA, 3, 2)
    voting.cast_dots(session, BEN, 2, 2)
    voting.cast_dots(session, CARLA, 1, 1)
    assert [t.number for t in session.ranking()] == [2, 3, 1]
    started = discussing(session)
    assert started.number == 2 and started.votes == 2
    # After topic 2: topic 3 (2 dots) before topic 1 (1 dot).
    following = flow.advance(session, T0 + minutes(1), HOST)
    assert [o.number for o in following if isinstance(o, DiscussionStarted)] == [3]


def test_closing_the_vote_reports_totals_and_forgets_who_voted() -> None:
    session = voting_session("A", "B")
    voting.cast_dots(session, ANNA, 1, 3)
    voting.cast_dots(session, BEN, 2, 1)
    closed, _ = flow.advance(session, T0, HOST)
    assert isinstance(closed, VotingClosed)
    assert (closed.voters, closed.dots_cast) == (2, 4)
    state = json.dumps(session_to_dict(session))
    assert ANNA not in state and BEN not in state
    assert session.votes_for(1) == 3 and session.votes_for(2) == 1


def test_skipping_the_vote_discusses_in_submission_order() -> None:
    session = new_session("Erstes", "Zweites")
    closed, started = flow.advance(session, T0, HOST)
    assert isinstance(closed, VotingClosed) and closed.skipped
    assert isinstance(started, DiscussionStarted) and started.number == 1


def test_late_topics_queue_behind_voted_ones_and_the_end_is_announced() -> None:
    session = voting_session("A", "B")
    voting.cast_dots(session, ANNA, 2)
    discussing(session)
    assert voting.add_topic(session, "Nachzügler").ok
    numbers = []
    for _ in range(3):
        outcomes = flow.advance(session, T0, HOST)
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
    (opened,) = flow.on_timer(session, T0 + minutes(8))
    assert isinstance(opened, ExtensionVoteOpened)
    for user, up in votes:
        flow.vote_extension(session, user, up)
    return session


def test_timer_before_the_deadline_does_nothing() -> None:
    session = voting_session("A")
    discussing(session)
    before = session_to_dict(session)
    assert flow.on_timer(session, T0 + minutes(7)) == []
    assert session_to_dict(session) == before


def test_timebox_end_asks_for_an_extension_with_its_own_window() -> None:
    session = at_extension_vote()
    assert session.phase is Phase.EXTENSION_VOTE
    assert session.next_deadline() == T0 + minutes(9)


def test_majority_thumbs_up_extends_by_the_extension_time() -> None:
    session = at_extension_vote((ANNA, True), (BEN, True), (CARLA, False))
    (decided,) = flow.on_timer(session, T0 + minutes(9))
    assert isinstance(decided, ExtensionDecided) and decided.extended
    assert (decided.yes, decided.no) == (2, 1)
    assert session.phase is Phase.DISCUSSING
    assert session.deadline == T0 + minutes(13)


@pytest.mark.parametrize(
    "votes", [(), ((ANNA, True), (BEN, False)), ((ANNA, False),)], ids=["silence", "tie", "no"]
)
def test_without_a_majority_the_topic_is_done(votes: tuple[tuple[str, bool], ...]) -> None:
    session = at_extension_vote(*votes)
    (decided,) = flow.on_timer(session, T0 + minutes(9))
    assert isinstance(decided, ExtensionDecided) and not decided.extended
    assert session.topic(1).status is TopicStatus.DONE  # type: ignore[union-attr]
    assert session.phase is Phase.BETWEEN and session.next_deadline() is None


def test_a_topic_is_extended_only_once() -> None:
    session = at_extension_vote((ANNA, True))
    flow.on_timer(session, T0 + minutes(9))
    (done,) = flow.on_timer(session, T0 + minutes(13))
    assert isinstance(done, TopicDone) and done.reason is DoneReason.EXTENSION_USED
    assert session.phase is Phase.BETWEEN


def test_latest_vote_of_a_person_counts_and_can_be_withdrawn() -> None:
    session = at_extension_vote((ANNA, True))
    flow.vote_extension(session, ANNA, False)
    assert session.extension_votes == {ANNA: False}
    assert flow.withdraw_extension_vote(session, ANNA, True) is False
    assert flow.withdraw_extension_vote(session, ANNA, False) is True
    assert session.extension_votes == {}


def test_thumb_reactions_on_the_prompt_vote_and_removal_withdraws() -> None:
    session = at_extension_vote()
    session.extension_prompt_event_id = "$prompt"
    reactions.on_reaction(session, ANNA, "$prompt", "👍", "$r1")
    reactions.on_reaction(session, BEN, "$prompt", "👍🏻", "$r2")
    reactions.on_reaction(session, CARLA, "$prompt", "👎", "$r3")
    reactions.on_reaction_removed(session, "$r2")
    (decided,) = flow.on_timer(session, T0 + minutes(9))
    assert isinstance(decided, ExtensionDecided)
    assert (decided.yes, decided.no, decided.extended) == (1, 1, False)


def test_vote_by_command_outside_a_vote_is_refused() -> None:
    session = voting_session("A")
    refused = flow.vote_extension_command(session, ANNA, True)
    assert isinstance(refused, Rejected) and refused.reason == "no_extension_vote"
    discussing(session)
    flow.on_timer(session, T0 + minutes(8))
    recorded = flow.vote_extension_command(session, ANNA, True)
    assert recorded.ok and "1" in recorded.message(DE).plain


def test_moving_on_during_the_vote_honours_the_majority() -> None:
    extend = at_extension_vote((ANNA, True))
    outcomes = flow.advance(extend, T0 + minutes(8.5), HOST)
    assert [type(o) for o in outcomes] == [ExtensionDecided]
    assert extend.current == 1 and extend.phase is Phase.DISCUSSING

    stop = at_extension_vote((ANNA, False))
    outcomes = flow.advance(stop, T0 + minutes(8.5), HOST)
    assert [type(o) for o in outcomes] == [ExtensionDecided, DiscussionStarted]
    assert stop.current == 2


def test_timer_fires_once_even_if_called_twice() -> None:
    session = voting_session("A")
    discussing(session)
    assert len(flow.on_timer(session, T0 + minutes(8))) == 1
    assert flow.on_timer(session, T0 + minutes(8)) == []


def test_naive_datetimes_are_refused() -> None:
    session = voting_session("A")
    with pytest.raises(ValueError):
        flow.advance(session, dt.datetime(2025, 10, 13, 9, 0), HOST)


# ---- steering, notes, end ---------------------------------------------------------------------


def test_only_host_or_moderator_steer_the_session() -> None:
    session = new_session("A")
    assert voting.open_voting(session, ANNA).reason == "not_host"  # type: ignore[union-attr]
    assert flow.advance(session, T0, ANNA)[0].ok is False
    assert flow.end(session, T0, ANNA).reason == "not_host"  # type: ignore[union-attr]
    assert voting.open_voting(session, ANNA, moderator=True).ok
    assert HOST in voting.open_voting(session, ANNA).message(DE).plain  # type: ignore[union-attr]


def test_topics_are_numbered_and_checked() -> None:
    session = new_session("E-Akte")
    assert voting.add_topic(session, "  e-akte ").reason == "topic_duplicate"  # type: ignore[union-attr]
    assert voting.add_topic(session, "   ").reason == "topic_empty"  # type: ignore[union-attr]
    too_long = voting.add_topic(session, "x" * (model.MAX_TOPIC_LENGTH + 1))
    assert too_long.reason == "topic_too_long"  # type: ignore[union-attr]
    added = voting.add_topic(session, "Open Data")
    assert added.ok and added.number == 2  # type: ignore[union-attr]


def test_notes_go_to_the_current_or_just_finished_topic() -> None:
    session = voting_session("A", "B")
    assert flow.add_note(session, "zu früh").reason == "note_no_topic"  # type: ignore[union-attr]
    discussing(session)
    assert flow.add_note(session, "Erkenntnis eins").ok
    flow.advance(session, T0 + minutes(3), HOST)  # topic 1 done, topic 2 starts
    assert flow.add_note(session, "zu B").ok
    assert flow.add_note(session, "nachgereicht", number=1).ok
    assert session.topic(1).notes == ["Erkenntnis eins", "nachgereicht"]  # type: ignore[union-attr]
    assert session.topic(2).notes == ["zu B"]  # type: ignore[union-attr]


def test_notes_on_topics_not_yet_discussed_are_refused() -> None:
    session = voting_session("A", "B")
    discussing(session)
    refused = flow.add_note(session, "vorgegriffen", number=2)
    assert isinstance(refused, Rejected) and refused.reason == "note_topic_open"


def test_end_gives_a_summary_with_discussed_topics_first() -> None:
    session = voting_session("A", "B", "C")
    voting.cast_dots(session, ANNA, 2, 2)
    voting.cast_dots(session, ANNA, 3, 1)
    discussing(session)  # B
    flow.add_note(session, "B-Erkenntnis")
    ended = flow.end(session, T0 + minutes(30), HOST)
    assert ended.ok
    summary = ended.summary  # type: ignore[union-attr]
    assert [(t.number, t.discussed) for t in summary.topics] == [(2, True), (3, False), (1, False)]
    assert summary.topics[0].notes == ("B-Erkenntnis",)
    assert session.phase is Phase.ENDED and session.next_deadline() is None
    assert voting.add_topic(session, "später").reason == "ended"  # type: ignore[union-attr]
    stored = json.dumps(summary_to_dict(summary))
    assert ANNA not in stored
    assert summary_from_dict(json.loads(stored)) == summary


# ---- persistence and isolation ----------------------------------------------------------------


def test_restart_mid_discussion_keeps_the_timer() -> None:
    session = voting_session("A", "B")
    voting.cast_dots(session, ANNA, 2, 3)
    discussing(session)
    restored = roundtrip(session)
    assert session_to_dict(restored) == session_to_dict(session)
    assert restored.next_deadline() == T0 + minutes(8)
    # The bot was down past the deadline: the vote opens on wake-up with a full window.
    (opened,) = flow.on_timer(restored, T0 + minutes(20))
    assert isinstance(opened, ExtensionVoteOpened)
    assert restored.next_deadline() == T0 + minutes(21)


def test_restart_during_voting_keeps_dots_and_reaction_records() -> None:
    session = voting_session("A")
    with_topic_events(session)
    reactions.on_reaction(session, ANNA, "$topic1", "2️⃣", "$r1")
    restored = roundtrip(session)
    assert restored.remaining_dots(ANNA) == 1
    reactions.on_reaction_removed(restored, "$r1")
    assert restored.remaining_dots(ANNA) == 3


def test_unknown_state_version_is_refused() -> None:
    data = session_to_dict(new_session("A"))
    data["version"] = 99
    with pytest.raises(ValueError):
        session_from_dict(data)
    del data["version"]
    with pytest.raises(ValueError):
        session_from_dict(data)


def test_two_rooms_do_not_interfere() -> None:
    one, _ = flow.start("!one:x", HOST, T0)
    two, _ = flow.start("!two:x", HOST, T0)
    voting.add_topic(one, "nur in eins")
    voting.open_voting(one, HOST)
    voting.cast_dots(one, ANNA, 1, 3)
    assert two.topics == [] and two.phase is Phase.COLLECTING
    voting.add_topic(two, "nur in zwei")
    voting.open_voting(two, HOST)
    assert two.remaining_dots(ANNA) == 3


# ---- parsing ----------------------------------------------------------------------------------


def test_start_without_options_uses_the_standard_protocol() -> None:
    command = parse.parse_command("start")
    assert isinstance(command, parse.LcCommand) and command.action is LcAction.START
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
    command = parse.parse_command(args)
    if expected is None:
        assert isinstance(command, Rejected)
        return
    assert isinstance(command, parse.LcCommand) and command.settings is not None
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
    result = parse.parse_command(args)
    assert isinstance(result, Rejected) and result.reason == reason
    text = result.message(DE, prefix="?").plain
    assert text and "{" not in text


def test_option_errors_name_the_option_and_the_allowed_range() -> None:
    result = parse.parse_command("start --zeit 2h")
    assert isinstance(result, Rejected)
    assert result.message(DE).plain == "`--zeit` muss zwischen 1 und 60 Minuten liegen."


@pytest.mark.parametrize(
    ("args", "topic", "count"),
    [("punkt 2", 2, 1), ("punkt #3 2", 3, 2), ("dot 1 -1", 1, -1), ("punkt 4 x2", 4, 2)],
)
def test_dot_command(args: str, topic: int, count: int) -> None:
    command = parse.parse_command(args)
    assert isinstance(command, parse.LcCommand) and command.action is LcAction.DOT
    assert (command.topic_no, command.count) == (topic, count)


def test_note_command_with_and_without_topic_number() -> None:
    plain = parse.parse_command("notiz Pilot im 1. Quartal")
    numbered = parse.parse_command("notiz #2 Ansprechpartner klären")
    assert isinstance(plain, parse.LcCommand) and plain.topic_no is None
    assert plain.text == "Pilot im 1. Quartal"
    assert isinstance(numbered, parse.LcCommand) and numbered.topic_no == 2
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
    command = parse.parse_command(word)
    assert isinstance(command, parse.LcCommand) and command.action is action


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("8m", 480),
        ("8min", 480),
        ("8", 480),
        ("1,5", 90),
        ("90s", 90),
        ("1h", 3600),
        ("20m30s", 1230),
    ],
)
def test_durations_are_read_by_the_shared_parser(value: str, seconds: int) -> None:
    command = parse.parse_command(f"start --zeit {value}")
    assert isinstance(command, parse.LcCommand) and command.settings is not None
    assert command.settings.timebox_seconds == seconds


def test_a_duration_nobody_can_read_names_the_option() -> None:
    refused = parse.parse_command("start --verlaengerung acht")
    assert isinstance(refused, Rejected) and refused.reason == "duration_invalid"
    assert "`--verlaengerung`" in refused.message(DE).plain


# ---- rendering --------------------------------------------------------------------------------


def test_board_shows_the_three_columns_and_escapes_user_text() -> None:
    session = voting_session("<b>Fett</b> & Co", "Open Data", "E-Akte")
    voting.cast_dots(session, ANNA, 3, 2)
    discussing(session)  # E-Akte
    flow.advance(session, T0 + minutes(2), HOST)  # E-Akte done, topic 1 next (tie with 2)
    board = render.render_board(session, DE, prefix="!", now=T0 + minutes(4))
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
    flow.add_note(session, "Datensätze sammeln")
    ended = flow.end(session, T0 + minutes(10), HOST)
    for texts, heading, date in ((DE, "Besprochen", "13.10.2025"), (EN, "Discussed", "2025-10-13")):
        text = ended.message(texts).plain
        assert heading in text and "Datensätze sammeln" in text and date in text


def test_outcome_messages_render_without_leftover_placeholders() -> None:
    session = voting_session("A", "B")
    outcomes: list[Outcome] = [
        voting.cast_dots(session, ANNA, 1, 2),
        voting.retract_dots(session, ANNA, 1),
    ]
    outcomes += flow.advance(session, T0, HOST)
    outcomes += flow.on_timer(session, T0 + minutes(8))
    outcomes += [flow.vote_extension_command(session, ANNA, True)]
    outcomes += flow.on_timer(session, T0 + minutes(9))
    outcomes += flow.on_timer(session, T0 + minutes(13))
    outcomes += [flow.add_note(session, "x")]
    outcomes += flow.advance(session, T0 + minutes(14), HOST)
    outcomes += flow.advance(session, T0 + minutes(15), HOST)
    outcomes += [flow.end(session, T0 + minutes(16), HOST)]
    for outcome in outcomes:
        for texts in (DE, EN):
            message = outcome.message(texts, prefix="!")
            assert message.plain and not re.search(r"\{\w+\}", message.plain), message.plain


# ---- posts: what the session remembers of the messages the shell sent -------------------------


def test_the_session_remembers_board_topic_and_prompt_ids_once() -> None:
    session = new_session("E-Akte")
    assert posts.remember(session, Post(Message("b", "b"), BOARD), "$board")
    assert posts.remember(session, Post(Message("t", "t"), TOPIC, topic=1), "$topic1")
    assert posts.remember(session, Post(Message("p", "p"), PROMPT), "$prompt")
    assert not posts.remember(session, Post(Message("p", "p"), PROMPT), "$prompt")
    assert not posts.remember(session, Post(Message("x", "x")), "$other")
    assert not posts.remember(None, Post(Message("b", "b"), BOARD), "$board")
    assert (session.board_event_id, session.extension_prompt_event_id) == ("$board", "$prompt")
    assert session.topic(1).event_id == "$topic1"  # type: ignore[union-attr]


def test_posts_survive_the_store_and_timer_posts_have_stable_names() -> None:
    post = Post(Message("Thema 1", "<b>Thema 1</b>"), TOPIC, topic=1)
    assert Post.from_dict(json.loads(json.dumps(post.to_dict()))) == post
    session = voting_session("A")
    discussing(session)
    [opened] = flow.on_timer(session, T0 + minutes(8))
    named = posts.marker(session, opened)
    assert named == posts.marker(roundtrip(session), opened) and "extension-vote:1" in named
    kinds = [p.kind for p in posts.posts_for([opened], DE, "!")]
    assert kinds == [PROMPT]


# ---- locale files -----------------------------------------------------------------------------

LOCALES = Path(__file__).resolve().parent.parent / "bot" / "text" / "locales"


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


def source_of(feature: str) -> str:
    """A feature's code: its module, or every module of its package under bot/features."""
    bot = Path(__file__).resolve().parent.parent / "bot"
    files = [bot / f"{feature}.py"] if (bot / f"{feature}.py").exists() else []
    files += sorted((bot / "features" / feature).glob("*.py"))
    return "".join(file.read_text(encoding="utf-8") for file in files)


def test_every_refusal_reason_in_the_code_has_a_text() -> None:
    de = texts_of("de")
    for module, section in (("leancoffee", "lc"), ("tandem", "tandem"), ("wol", "wol")):
        source = source_of(module)
        reasons = set(re.findall(r'\b_?reject\(\s*"(\w+)"', source))
        assert reasons, module
        missing = {r for r in reasons if f"austausch.{section}.err.{r}" not in de}
        assert not missing, (module, missing)
