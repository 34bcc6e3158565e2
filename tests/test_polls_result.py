"""Element's count next to typed votes: who counts where, and how the result reads."""

from __future__ import annotations

import pytest

from bot.features.polls.announce import build_end_content
from bot.features.polls.render import render_results
from bot.features.polls.result import PollResult, element_voters, split_tally
from bot.features.polls.tally import Tally
from bot.features.polls.vote import MAX_POLL_NUMBER, VoteInputError, parse_vote_command
from bot.store.poll_votes import Vote
from bot.store.polls import Poll, PollAnswer

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
    assert caught.value.key == "limits.poll_number_range"
    assert caught.value.params["high"] == MAX_POLL_NUMBER
    assert parse_vote_command(f"{MAX_POLL_NUMBER} 1").poll_number == MAX_POLL_NUMBER


# --- store: polls from Element, frozen typed votes, personal data, retention -------------------


@pytest.fixture
async def store(tmp_path):  # type: ignore[no-untyped-def]
    from bot.store import Store

    async with Store(tmp_path / "data" / "impulsbot.db") as opened:
        yield opened


def _new(room: str, event_id: str, creator: str = "@ann:x") -> object:
    from bot.store.polls import NewPoll

    return NewPoll(room, creator, event_id, POLL, "de", 1_000, None)


async def test_element_poll_is_recorded_once_open_and_numbered(store) -> None:  # type: ignore[no-untyped-def]
    first = await store.record_poll_start(_new("!r:x", "$s1"), "$s1", origin="element")
    again = await store.record_poll_start(_new("!r:x", "$s1"), "$s1", origin="element")
    assert again.id == first.id and first.is_open and first.origin == "element"
    assert not first.started_by_bot and first.start_event_id == "$s1"
    assert (await store.latest_poll("!r:x", open_only=True)).id == first.id  # type: ignore[union-attr]
    wol = await store.record_poll_start(_new("!r:x", "$s2"), "$s2", origin="wol")
    assert wol.started_by_bot and wol.id == first.id + 1


async def test_typed_votes_are_stored_apart_and_frozen_apart(store) -> None:  # type: ignore[no-untyped-def]
    record = await store.record_poll_start(_new("!r:x", "$s"), "$s", origin="element")
    await store.add_poll_response(record.id, Vote("@a:x", 5, ("a1",), "$n1"))
    await store.add_poll_response(record.id, Vote("@b:x", 6, ("a2",), "$t1", typed=True))
    votes = await store.poll_votes(record.id)
    assert [v.typed for v in votes] == [False, True]
    result = split_tally(POLL, votes)
    await store.begin_poll_end(record.id, 10)
    await store.set_poll_end_event(record.id, "$end", 12)  # replaces the provisional 10
    await store.set_poll_end_event(record.id, "$later", 15)  # a later end does not count
    ending = await store.get_poll(record.id)
    assert ending.ended_at == 12 and ending.end_event_id == "$end"
    await store.set_poll_end_event(record.id, "$earlier", 11)  # the earliest valid end wins
    await store.set_poll_end_event(record.id, "$end", 12)
    ending = await store.get_poll(record.id)
    assert ending.ended_at == 11 and ending.end_event_id == "$earlier"
    await store.finish_poll_end(
        record.id, None, result.element.counts, 1, result.typed.counts, result.typed.voters
    )
    ended = await store.get_poll(record.id)
    assert ended.status == "ended" and ended.end_event_id == "$earlier"
    assert ended.final_counts == {"a1": 1, "a2": 0, "a3": 0}
    assert ended.final_typed_counts == {"a1": 0, "a2": 1, "a3": 0}
    assert ended.final_typed_voters == 1


async def test_element_poll_creators_and_voters_are_personal_data_and_retention_applies(
    store,  # type: ignore[no-untyped-def]
) -> None:
    record = await store.record_poll_start(_new("!r:x", "$s", "@ann:x"), "$s", origin="element")
    await store.add_poll_response(record.id, Vote("@ann:x", 5, ("a1",), "$n1"))
    await store.add_poll_response(record.id, Vote("@bob:x", 6, ("a2",), "$t1", typed=True))
    data = await store.personal_data_polls("@ann:x")
    assert data["polls_created"][0]["question"] == "Wann?"
    assert data["poll_votes"][0]["source"] == "native"
    assert (await store.personal_data_polls("@bob:x"))["poll_votes"][0]["source"] == "text"
    assert await store.delete_poll_votes_before(10**13) == 0  # still open: nothing goes
    await store.begin_poll_end(record.id, 100)
    await store.finish_poll_end(record.id, "$e", {"a1": 1}, 1, {"a2": 1}, 1)
    assert await store.delete_poll_votes_before(100) == 0  # ended at 100, not before
    assert await store.delete_poll_votes_before(101) == 2
    assert await store.personal_data_polls("@ann:x") == {}
    assert await store.personal_data_polls("@bob:x") == {}
    assert (await store.get_poll(record.id)).final_typed_counts == {"a2": 1}


async def test_export_keeps_typed_votes_apart_and_anonymous_sums_hidden_until_the_end(
    store,  # type: ignore[no-untyped-def]
) -> None:
    import io
    import json

    from bot.config import Config
    from bot.features.export.options import ExportOptions
    from bot.features.export.polls import export
    from bot.store.polls import NewPoll

    config = Config.model_validate(
        {
            "matrix": {"homeserver": "https://hs.example", "user_id": "@bot:example.org"},
            "polls": {"min_anonymous_group": 2},
        }
    )
    element = await store.record_poll_start(_new("!r:x", "$s1"), "$s1", origin="element")
    await store.add_poll_response(element.id, Vote("@a:x", 5, ("a1",), "$n1"))
    await store.add_poll_response(element.id, Vote("@b:x", 6, ("a2",), "$t1", typed=True))
    anonymous_poll = Poll(POLL.question, POLL.answers, anonymous=True)
    anonymous = await store.create_poll(
        NewPoll("!r:x", "@ann:x", "$c2", anonymous_poll, "de", 1_000, None)
    )
    await store.mark_poll_open(anonymous.id, "$s2")
    await store.add_anonymous_vote(anonymous.id, "k1", ("a3",))
    await store.add_anonymous_vote(anonymous.id, "k2", ("a3",))

    async def rows() -> dict[tuple[int, int], dict[str, object]]:
        out = io.BytesIO()
        await export(store, config, ExportOptions(fmt="json"), out)
        return {(r["poll"], r["answer_number"]): r for r in json.loads(out.getvalue())}

    running = await rows()
    assert running[(element.id, 1)]["count"] == 1 and running[(element.id, 1)]["typed_count"] == 0
    assert running[(element.id, 2)]["count"] == 0 and running[(element.id, 2)]["typed_count"] == 1
    assert running[(element.id, 1)]["origin"] == "Element"
    assert running[(anonymous.id, 3)]["count"] is None  # enough voters, but still running
    await store.begin_poll_end(anonymous.id, 2_000)
    await store.finish_poll_end(anonymous.id, None, {"a3": 2}, 2)
    assert (await rows())[(anonymous.id, 3)]["count"] == 2


@pytest.mark.parametrize(("lang", "label"), [("de", "per Befehl"), ("en", "by command")])
def test_help_explains_the_two_counts_and_the_end(lang: str, label: str) -> None:
    from bot.text.i18n import Texts

    text = Texts(lang)("cmd.poll.help", prefix="!").plain
    assert (
        label in text and "Element" in text and "!ergebnis" in text.replace("!results", "!ergebnis")
    )
