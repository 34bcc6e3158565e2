"""Kaffee-Tandem: pairing rules, schedule, commands and conversation starters."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.features.tandem.members import (
    TandemMember,
    active_participants,
    opt_in,
    opt_out,
    pause,
    status,
)
from bot.features.tandem.pairing import (
    Participant,
    groups_to_round,
    home_server,
    pair_participants,
    repeated_pairs,
)
from bot.features.tandem.parse import TandemCommand, parse_command
from bot.features.tandem.render import render_introduction, render_round_report
from bot.features.tandem.schedule import interval_weeks, next_round_at, round_due
from bot.features.tandem.starters import (
    STARTERS_FILE,
    ContentError,
    ConversationStarter,
    choose_starter,
    known_topics,
    load_starters,
)
from bot.features.tandem.topics import shared_topics
from bot.outcome import Rejected
from bot.text.i18n import Texts

BERLIN = ZoneInfo("Europe/Berlin")
DE = Texts("de")
EN = Texts("en")
CONTENT = Path(__file__).resolve().parent.parent / "content" / STARTERS_FILE


def people(*user_ids: str, topics: dict[str, set[str]] | None = None) -> list[Participant]:
    topics = topics or {}
    return [Participant(u, frozenset(topics.get(u, set()))) for u in user_ids]


def pairs_of(groups: list[tuple[str, ...]]) -> set[frozenset[str]]:
    return {frozenset(p) for g in groups for p in itertools.combinations(g, 2)}


def assert_partition(groups: list[tuple[str, ...]], ids: list[str]) -> None:
    members = [m for g in groups for m in g]
    assert sorted(members) == sorted(ids)
    sizes = sorted(len(g) for g in groups)
    assert sizes.count(3) == len(ids) % 2 and set(sizes) <= {2, 3}


# ---- sizes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1])
def test_nobody_or_one_person_gives_no_tandem(count: int) -> None:
    ids = [f"@p{i}:a.de" for i in range(count)]
    assert pair_participants(people(*ids), set(), [], rng_seed=1) == []


@pytest.mark.parametrize("count", [2, 3, 4, 5, 7, 9, 12, 13, 31])
def test_everyone_is_placed_once_and_odd_counts_make_one_trio(count: int) -> None:
    ids = [f"@p{i}:s{i % 3}.de" for i in range(count)]
    groups = pair_participants(people(*ids), set(), [], rng_seed=7)
    assert_partition(groups, ids)


def test_duplicate_participants_count_once() -> None:
    groups = pair_participants(people("@a:x", "@a:x", "@b:y"), set(), [], rng_seed=1)
    assert groups == [("@a:x", "@b:y")]


# ---- rules -----------------------------------------------------------------------------------


def test_last_rounds_pairs_are_not_repeated_when_avoidable() -> None:
    ids = ["@a:x", "@b:x", "@c:x", "@d:x"]
    history = [{frozenset({"@a:x", "@b:x"}), frozenset({"@c:x", "@d:x"})}]
    for seed in range(10):
        groups = pair_participants(people(*ids), set(), history, rng_seed=seed)
        assert not repeated_pairs(groups, history)


def test_eight_people_meet_someone_new_for_four_rounds() -> None:
    ids = [f"@p{i}:stadt.de" for i in range(8)]
    history: list[set[frozenset[str]]] = []
    met: set[frozenset[str]] = set()
    for round_no in range(4):
        groups = pair_participants(people(*ids), set(), history, rng_seed=round_no)
        assert not (pairs_of(groups) & met), f"repeat in round {round_no + 1}"
        met |= pairs_of(groups)
        history.append(groups_to_round(groups))
    assert len(met) == 16


def test_when_every_option_repeats_the_oldest_meeting_is_chosen() -> None:
    a, b, c, d = "@a:x", "@b:x", "@c:x", "@d:x"
    history = [
        {frozenset({a, d}), frozenset({b, c})},  # oldest
        {frozenset({a, b}), frozenset({c, d})},
        {frozenset({a, c}), frozenset({b, d})},  # last round
    ]
    for seed in range(8):
        groups = pair_participants(people(a, b, c, d), set(), history, rng_seed=seed)
        assert pairs_of(groups) == {frozenset({a, d}), frozenset({b, c})}


def test_even_an_old_meeting_is_not_repeated_for_a_better_match() -> None:
    # a and c would be the ideal match, but they met six rounds ago.
    topics = {"@a:x": {"KI", "Vergabe"}, "@c:y": {"KI", "Vergabe"}}
    ids = ["@a:x", "@b:x", "@c:y", "@d:y"]
    history = [{frozenset({"@a:x", "@c:y"})}] + [set() for _ in range(5)]
    for seed in range(4):
        groups = pair_participants(people(*ids, topics=topics), set(), history, rng_seed=seed)
        assert not repeated_pairs(groups, history)


def test_two_people_who_met_last_time_still_get_paired() -> None:
    history = [{frozenset({"@a:x", "@b:y"})}]
    assert pair_participants(people("@a:x", "@b:y"), set(), history, 1) == [("@a:x", "@b:y")]


def test_a_trio_in_history_counts_for_each_of_its_pairs() -> None:
    ids = ["@a:x", "@b:x", "@c:x", "@d:x", "@e:x", "@f:x"]
    history = [{frozenset({"@a:x", "@b:x", "@c:x"}), frozenset({"@d:x", "@e:x", "@f:x"})}]
    groups = pair_participants(people(*ids), set(), history, rng_seed=5)
    assert not repeated_pairs(groups, history)


def test_people_from_different_home_servers_are_preferred() -> None:
    ids = ["@a:kommune-a.de", "@b:kommune-a.de", "@c:kommune-b.de", "@d:kommune-b.de"]
    for seed in range(10):
        groups = pair_participants(people(*ids), set(), [], rng_seed=seed)
        assert all(home_server(g[0]) != home_server(g[1]) for g in groups)


def test_people_who_share_a_room_are_kept_apart() -> None:
    a, b, c, d = "@a:x", "@b:x", "@c:x", "@d:x"
    shared = {frozenset({a, b}), frozenset({c, d})}
    for seed in range(10):
        groups = pair_participants(people(a, b, c, d), shared, [], rng_seed=seed)
        assert not (pairs_of(groups) & shared)


def test_shared_topics_break_ties() -> None:
    topics = {"@a:x": {"KI"}, "@b:x": {"Vergabe"}, "@c:x": {"ki"}, "@d:x": {"#vergabe"}}
    groups = pair_participants(people(*topics, topics=topics), set(), [], rng_seed=2)
    assert pairs_of(groups) == {frozenset({"@a:x", "@c:x"}), frozenset({"@b:x", "@d:x"})}


def test_topics_never_outweigh_a_different_municipality() -> None:
    topics = {"@a:x": {"KI", "Vergabe"}, "@b:x": {"KI", "Vergabe"}}
    ids = ["@a:x", "@b:x", "@c:y", "@d:y"]
    groups = pair_participants(people(*ids, topics=topics), set(), [], rng_seed=2)
    assert all(home_server(g[0]) != home_server(g[1]) for g in groups)


def test_avoiding_a_repeat_beats_every_other_preference() -> None:
    # a and c are the ideal match (other server, no shared room, shared topics) but met last time.
    topics = {"@a:x": {"KI", "Vergabe"}, "@c:y": {"KI", "Vergabe"}}
    ids = ["@a:x", "@b:x", "@c:y", "@d:y"]
    shared = {frozenset({"@a:x", "@b:x"})}
    history = [{frozenset({"@a:x", "@c:y"}), frozenset({"@b:x", "@d:y"})}]
    groups = pair_participants(people(*ids, topics=topics), shared, history, rng_seed=1)
    assert not repeated_pairs(groups, history)


def test_large_groups_use_local_search_and_still_follow_the_rules() -> None:
    ids = [f"@p{i}:kommune-{i % 2}.de" for i in range(30)]
    first = pair_participants(people(*ids), set(), [], rng_seed=11)
    assert_partition(first, ids)
    assert all(home_server(g[0]) != home_server(g[1]) for g in first)
    second = pair_participants(people(*ids), set(), [groups_to_round(first)], rng_seed=12)
    assert_partition(second, ids)
    assert not repeated_pairs(second, [groups_to_round(first)])
    assert all(home_server(g[0]) != home_server(g[1]) for g in second)


def test_same_seed_same_pairs_other_seeds_vary_among_equals() -> None:
    ids = [f"@p{i}:x" for i in range(6)]
    runs = {tuple(pair_participants(people(*ids), set(), [], rng_seed=s)) for s in range(12)}
    assert len(runs) > 1
    once = pair_participants(people(*ids), set(), [], rng_seed=4)
    assert pair_participants(list(reversed(people(*ids))), set(), [], rng_seed=4) == once


# ---- schedule --------------------------------------------------------------------------------


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


TWO_WEEKS = 14 * 86400
TEN = dt.time(10, 0)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (berlin(2025, 10, 12, 18, 0), berlin(2025, 10, 13, 10, 0)),  # Sunday → Monday
        (berlin(2025, 10, 13, 9, 59), berlin(2025, 10, 13, 10, 0)),  # same morning
        (berlin(2025, 10, 13, 10, 1), berlin(2025, 10, 20, 10, 0)),  # just missed
    ],
)
def test_first_round_is_the_next_configured_slot(now: dt.datetime, expected: dt.datetime) -> None:
    assert next_round_at(now, TWO_WEEKS, 0, TEN, BERLIN) == expected


def test_next_round_follows_the_interval_at_local_time_across_dst() -> None:
    last = berlin(2025, 3, 17, 10, 0)  # CET
    nxt = next_round_at(berlin(2025, 3, 18, 9, 0), TWO_WEEKS, 0, TEN, BERLIN, last)
    assert nxt == berlin(2025, 3, 31, 10, 0)
    assert nxt.utcoffset() == dt.timedelta(hours=2)  # CEST: still 10:00 on the wall clock
    assert nxt.astimezone(dt.UTC).hour == 8


def test_an_overdue_round_is_due_once() -> None:
    last = berlin(2025, 10, 13, 10, 0)
    wake = berlin(2025, 10, 29, 8, 0)  # bot was offline on the 27th
    assert round_due(wake, TWO_WEEKS, 0, TEN, BERLIN, last)
    assert not round_due(wake, TWO_WEEKS, 0, TEN, BERLIN, wake)


def test_the_first_round_runs_at_its_slot_but_not_days_later() -> None:
    def due(now: dt.datetime) -> bool:
        return round_due(now, TWO_WEEKS, 0, TEN, BERLIN, None)

    assert not due(berlin(2025, 10, 13, 9, 59))
    assert due(berlin(2025, 10, 13, 10, 0))
    assert due(berlin(2025, 10, 13, 14, 0))  # started a little late that morning
    assert not due(berlin(2025, 10, 14, 10, 0))  # a day late: wait for next Monday


def test_interval_is_whole_weeks() -> None:
    assert interval_weeks(TWO_WEEKS) == 2
    assert interval_weeks(86400) == 1
    assert interval_weeks(10 * 86400) == 2


# ---- member state ----------------------------------------------------------------------------

NOW = berlin(2025, 10, 14, 12, 0)


def test_pause_lasts_until_the_start_of_the_day_and_excludes_from_rounds() -> None:
    member = TandemMember("@a:x", ["KI"])
    result = pause(member, NOW, 28, BERLIN)
    assert not isinstance(result, Rejected)
    paused, outcome = result
    assert paused.paused_until == berlin(2025, 11, 11, 0, 0)
    assert "11.11.2025" in outcome.message(DE).plain
    assert active_participants([paused], berlin(2025, 11, 10, 10, 0)) == []
    assert active_participants([paused], berlin(2025, 11, 11, 10, 0)) == [
        Participant("@a:x", frozenset({"KI"}))
    ]


def test_opting_in_again_lifts_a_pause_and_keeps_topics() -> None:
    member = TandemMember("@a:x", ["KI"], paused_until=berlin(2025, 12, 1, 0, 0))
    updated, outcome = opt_in(member, "@a:x", [], berlin(2025, 10, 20, 10, 0))
    assert updated.paused_until is None and updated.topics == ["KI"] and outcome.already
    replaced, _ = opt_in(updated, "@a:x", ["Vergabe"], berlin(2025, 10, 20, 10, 0))
    assert replaced.topics == ["Vergabe"]


def test_status_and_opt_out_for_strangers() -> None:
    assert opt_out(None).reason == "not_enrolled"  # type: ignore[union-attr]
    assert isinstance(pause(None, NOW, 7, BERLIN), Rejected)
    assert "nicht" in status(None, NOW, None).message(DE, prefix="!").plain
    member = TandemMember("@a:x", [], paused_until=berlin(2025, 11, 1, 0, 0))
    assert "pausieren" in status(member, NOW, None).message(DE).plain


def test_member_roundtrip_is_json_compatible() -> None:
    member = TandemMember("@a:x", ["KI"], paused_until=berlin(2025, 11, 1, 0, 0))
    assert TandemMember.from_dict(member.to_dict()) == member


# ---- commands --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "topics"),
    [
        ("an", ()),
        ("an KI Vergabe", ("KI", "Vergabe")),
        ("an Künstliche Intelligenz, #Bürgerservice", ("Künstliche Intelligenz", "Bürgerservice")),
        ("on KI, ki", ("KI",)),
    ],
)
def test_opt_in_topics(args: str, topics: tuple[str, ...]) -> None:
    command = parse_command(args)
    assert isinstance(command, TandemCommand) and command.action == "on"
    assert command.topics == topics


@pytest.mark.parametrize(
    ("args", "days"),
    [
        ("pause 4w", 28),
        ("pause 4 Wochen", 28),
        ("pause 10 Tage", 10),
        # The shared parser (bot.text.durations) also reads these; a part-day counts as a day.
        ("pause 2 Wochen und 3 Tage", 17),
        ("pause 1,5 Wochen", 11),
        ("pause 36h", 2),
    ],
)
def test_pause_durations(args: str, days: int) -> None:
    command = parse_command(args)
    assert isinstance(command, TandemCommand) and command.pause_days == days


WEEK_UNITS = ("w", "W", "wo", "woche", "Wochen", "week", "weeks")
DAY_UNITS = ("d", "t", "tag", "Tage", "TAGE", "day", "days")


@pytest.mark.parametrize("unit", WEEK_UNITS + DAY_UNITS)
@pytest.mark.parametrize("space", ["", " "])
@pytest.mark.parametrize("dot", ["", "."])
def test_every_pause_spelling_accepted_so_far_still_is(unit: str, space: str, dot: str) -> None:
    command = parse_command(f"pause 3{space}{unit}{dot}")
    assert isinstance(command, TandemCommand)
    assert command.pause_days == (21 if unit in WEEK_UNITS else 3)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ("pause", "pause_missing"),
        ("pause bald", "pause_invalid"),
        ("pause 30w", "pause_range"),
        ("pause 0d", "pause_range"),
        ("pause 3", "pause_range"),  # a bare number is minutes, as everywhere
        ("pause 27 Wochen", "pause_range"),
        ("status jetzt", "unexpected_argument"),
        ("vielleicht", "unknown_subcommand"),
        ("an " + ", ".join(f"T{i}" for i in range(11)), "too_many_topics"),
        ("an " + "x" * 41, "topic_too_long"),
    ],
)
def test_bad_tandem_commands_are_explained(args: str, reason: str) -> None:
    result = parse_command(args)
    assert isinstance(result, Rejected) and result.reason == reason
    assert "{" not in result.message(DE, prefix="!").plain


def test_other_subcommands() -> None:
    for args, action in (("aus", "off"), ("status", "status"), ("", "help"), ("off", "off")):
        command = parse_command(args)
        assert isinstance(command, TandemCommand) and command.action == action


# ---- conversation starters and introductions -------------------------------------------------


def test_the_shipped_starters_load_and_are_in_formal_german() -> None:
    starters = load_starters(CONTENT)
    assert len(starters) >= 20
    informal = re.compile(r"\b(du|dich|dir|dein\w*|euch|euer\w*)\b", re.IGNORECASE)
    for starter in starters:
        assert not informal.search(starter.text), starter.text
        assert starter.text.endswith("?")
    assert len(known_topics(starters)) >= 8


def test_starter_file_with_unknown_keys_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "anstoesse.yaml"
    bad.write_text('- text: "Wie geht es Ihnen heute?"\n  themen: [A]\n  quelle: x\n')
    with pytest.raises(ContentError, match=r"quelle"):
        load_starters(bad)
    bad.write_text('- text: "Wie geht es Ihnen heute?"\n  themen: []\n')
    with pytest.raises(ContentError):
        load_starters(bad)


def test_starter_prefers_a_shared_topic() -> None:
    starters = load_starters(CONTENT)
    for seed in range(5):
        chosen = choose_starter(starters, ["buergerservice"], seed)
        assert "Bürgerservice" in chosen.themen
    assert choose_starter(starters, ["Gartenbau"], 1) in starters


def test_introduction_mentions_everyone_safely() -> None:
    starter = ConversationStarter(text="Was macht Ihnen Freude?", themen=["Kennenlernen"])
    group = ("@a:x", "@b<script>:y", "@c:z")
    message = render_introduction(group, starter, ["KI"], DE, prefix="!")
    assert "zu dritt" in message.plain and "@b<script>:y" in message.plain
    assert "<script>" not in message.html and 'href="https://matrix.to/#/@a:x"' in message.html
    assert "<i>Was macht Ihnen Freude?</i>" in message.html
    assert "pair" in render_introduction(group[:2], starter, [], EN).plain


def test_shared_topics_of_a_group() -> None:
    topics = {"@a:x": ["KI", "Vergabe"], "@b:y": ["ki", "Bauen"]}
    assert shared_topics(("@a:x", "@b:y"), topics) == ["KI"]


def test_round_report_has_counts_but_no_names() -> None:
    report = render_round_report([("@a:x", "@b:y"), ("@c:x", "@d:y", "@e:z")], 0, DE)
    assert "2 Gruppen" in report.plain and "5 Personen" in report.plain
    assert "@a:x" not in report.plain


# ---- store: minimal storage and data-protection hooks -----------------------------------------


async def test_store_keeps_members_rounds_and_forgets_a_person_everywhere() -> None:
    from bot.store import Store

    store = Store(":memory:")
    await store.open()
    try:
        await store.save_tandem_member("@a:x", ["KI"], None)
        await store.save_tandem_member("@b:y", [], "2026-12-01T00:00:00+01:00")
        first = await store.create_tandem_round(
            "slot:1", "2026-11-30T09:00:00+00:00", [["@a:x", "@b:y"]], 6
        )
        again = await store.create_tandem_round("slot:1", "2026-11-30T09:00:00+00:00", [], 6)
        assert again == first  # a re-run completes the stored round, it does not pair anew
        assert await store.tandem_history(6) == [[["@a:x", "@b:y"]]]
        await store.add_wol_seeker("@a:x", "Bauamt", "2026-11-24T10:00:00+00:00")
        await store.save_lc_session(
            "!r:x",
            {"room_id": "!r:x", "host": "@a:x", "dots": {"@a:x": {"1": 2}}, "reactions": {}},
            None,
        )

        mine = await store.personal_data("@a:x")
        assert mine["kaffee_tandem"]["topics"] == ["KI"]
        assert mine["kaffee_tandem_runden"][0]["members"] == ["@a:x", "@b:y"]
        assert mine["wol_suche"]["department"] == "Bauamt"
        assert mine["lean_coffee"] == [{"room_id": "!r:x", "host": True, "dots": {"1": 2}}]

        counts = await store.forget_user("@a:x")
        assert {k: n for k, n in counts.items() if n} == {
            "kaffee_tandem": 2,
            "wol_suche": 1,
            "lean_coffee": 1,
        }
        left = await store.personal_data("@a:x")
        ours = ("kaffee_tandem", "kaffee_tandem_runden", "wol_suche", "wol_circles", "lean_coffee")
        assert not any(key in left for key in ours)
        # The other person keeps their enrolment but no longer a history with the forgotten one.
        assert (await store.tandem_member("@b:y"))["paused_until"] is not None
        assert await store.tandem_history(6) == [[]]
    finally:
        await store.close()


async def test_store_keeps_only_the_last_rounds() -> None:
    from bot.store import Store

    store = Store(":memory:")
    await store.open()
    try:
        for n in range(5):
            await store.create_tandem_round(f"slot:{n}", f"2026-11-{10 + n}T09:00:00+00:00", [], 3)
        assert len(await store.tandem_history(10)) == 3
        assert await store.last_tandem_round() == "2026-11-14T09:00:00+00:00"
    finally:
        await store.close()
