"""Element's count next to typed votes: who counts where, and how the result reads."""

from __future__ import annotations

import pytest

from bot.pollkit.result import PollResult, element_voters, split_tally
from bot.polls import (
    MAX_POLL_NUMBER,
    Poll,
    PollAnswer,
    Tally,
    Vote,
    VoteInputError,
    build_end_content,
    parse_vote_command,
    render_results,
)

POLL = Poll("Wann?", tuple(PollAnswer(f"a{i}", t) for i, t in enumerate(["Di", "Mi", "Do"], 1)))


def typed(sender: str, ts: int, *answers: str) -> Vote:
    return Vote(sender, ts, answers, typed=True)


def test_element_count_ignores_typed_votes_and_typed_count_skips_element_voters() -> None:
    votes = [
        Vote("@a", 1, ("a1",)),
        typed("@a", 2, "a3"),  # @a voted in Element: the Element vote counts
        typed("@b", 1, "a2"),
        typed("@c", 1, "a2"),
        Vote("@d", 1, ("bogus",)),  # spoiled in Element: nothing shows there ...
        typed("@d", 2, "a3"),  # ... so @d's typed vote counts
    ]
    result = split_tally(POLL, votes)
    assert dict(result.element.counts) == {"a1": 1, "a2": 0, "a3": 0}
    assert result.element.spoiled == 1
    assert dict(result.typed.counts) == {"a1": 0, "a2": 2, "a3": 1}
    assert result.typed.voters == 3
    assert dict(result.combined.counts) == {"a1": 1, "a2": 2, "a3": 1}
    assert element_voters(POLL, votes) == {"@a"}


def test_withdrawing_in_element_lets_the_typed_vote_count_and_the_end_cuts_both() -> None:
    votes = [
        Vote("@a", 1, ("a1",)),
        typed("@a", 2, "a2"),
        Vote("@a", 3, ()),  # withdrawn in Element
        typed("@b", 9, "a3"),  # after the end
    ]
    result = split_tally(POLL, votes, end_ts=5)
    assert result.element.voters == 0
    assert dict(result.typed.counts) == {"a1": 0, "a2": 1, "a3": 0}


def test_result_shows_element_numbers_and_a_labelled_typed_line() -> None:
    votes = [Vote("@a", 1, ("a1",)), Vote("@b", 1, ("a1",)), typed("@c", 1, "a2")]
    result = split_tally(POLL, votes)
    text = render_results(
        POLL, result.element, ended=False, typed=result.typed, member_count=5
    ).plain
    assert "2 Stimmen in Element · 100 %" in text
    assert "+ 1 Stimme per Befehl, in Element nicht sichtbar" in text
    assert "3 Stimmen (2 Stimmen in Element + 1 Stimme per Befehl) von 5 Mitgliedern" in text
    assert "🏆" not in text  # no winner before the end


def test_winner_states_its_count_and_names_a_different_element_leader() -> None:
    votes = [
        Vote("@a", 1, ("a1",)),
        typed("@b", 1, "a2"),
        typed("@c", 1, "a2"),
    ]
    result = split_tally(POLL, votes)
    text = render_results(POLL, result.element, ended=True, typed=result.typed).plain
    assert "🏆 Vorn: 2. Mi – gezählt sind alle 3 Stimmen, davon 2 Stimmen per Befehl" in text
    assert "Nur nach den Stimmen in Element läge vorn: 1. Di." in text
    english = render_results(POLL, result.element, ended=True, typed=result.typed, lang="en").plain
    assert "+ 2 votes by command, not visible in Element" in english


def test_without_typed_votes_the_winner_rests_on_element_and_the_chart_is_unchanged() -> None:
    result = split_tally(POLL, [Vote("@a", 1, ("a3",))])
    text = render_results(POLL, result.element, ended=True, typed=result.typed).plain
    assert "1 Stimme · 100 %" in text and "per Befehl" not in text
    assert "gezählt sind die Stimmen in Element, genau wie in der Umfrage-Anzeige" in text


def test_element_only_result_and_end_marker_without_result() -> None:
    only = PollResult.element_only(Tally({"a1": 1, "a2": 0, "a3": 0}, 1))
    assert not only.has_typed and only.combined.counts == only.element.counts
    content = build_end_content(POLL, "$start")
    assert "folgt" in content["body"] and "▓" not in content["body"]
    assert content["m.relates_to"] == {"rel_type": "m.reference", "event_id": "$start"}


@pytest.mark.parametrize("args", ["99999999999999999999 1", "1000000000 2", "#12345678901 1"])
def test_huge_poll_numbers_are_refused_with_the_range(args: str) -> None:
    with pytest.raises(VoteInputError) as caught:
        parse_vote_command(args)
    assert caught.value.key == "umfrage.err_vote_poll_number_range"
    assert caught.value.params["max"] == MAX_POLL_NUMBER
    assert parse_vote_command(f"{MAX_POLL_NUMBER} 1").poll_number == MAX_POLL_NUMBER
