"""Working Out Loud circles: sizes, mixing, schedule, reminders, guide links, commands."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.config import WOL_OFFICIAL_SITE, GuideLinks
from bot.features.wol.circles import Circle
from bot.features.wol.formation import Seeker, circle_sizes, form_circles
from bot.features.wol.parse import WolCommand, parse_command
from bot.features.wol.render import (
    CircleEnded,
    TimeSet,
    render_formation,
    render_reminder,
    render_seekers,
    render_week,
    render_welcome,
    retro_poll,
)
from bot.features.wol.schedule import CircleState
from bot.outcome import Rejected
from bot.text.i18n import Texts

BERLIN = ZoneInfo("Europe/Berlin")
DE = Texts("de")
EN = Texts("en")


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)  # type: ignore[misc]


# ---- sizes -----------------------------------------------------------------------------------


def splits_into_fours_and_fives(n: int) -> bool:
    return any(4 * a + 5 * b == n for a in range(n // 4 + 1) for b in range(n // 5 + 1))


@pytest.mark.parametrize("n", range(3, 41))
def test_sizes_are_four_or_five_whenever_possible_and_never_above_five(n: int) -> None:
    sizes = circle_sizes(n)
    assert sum(sizes) == n
    assert all(3 <= s <= 5 for s in sizes)
    if splits_into_fours_and_fives(n):
        assert set(sizes) <= {4, 5}
    else:
        assert 3 in sizes


@pytest.mark.parametrize(
    ("n", "expected"),
    [(2, []), (3, [3]), (6, [3, 3]), (7, [4, 3]), (9, [5, 4]), (11, [4, 4, 3]), (12, [4, 4, 4])],
)
def test_documented_size_decisions(n: int, expected: list[int]) -> None:
    assert circle_sizes(n) == expected


# ---- formation -------------------------------------------------------------------------------


def seekers(departments: list[str], servers: int = 1) -> list[Seeker]:
    return [Seeker(f"@p{i}:kommune-{i % servers}.de", dept) for i, dept in enumerate(departments)]


def test_too_few_people_keep_waiting() -> None:
    formation = form_circles(seekers(["Bauamt", "Kämmerei"]), rng_seed=1)
    assert formation.circles == [] and len(formation.waiting) == 2
    assert "mindestens 3" in render_formation(formation, DE).plain


def test_everyone_is_placed_exactly_once() -> None:
    people = seekers([f"Amt{i % 4}" for i in range(23)], servers=3)
    formation = form_circles(people, rng_seed=3)
    placed = [m for c in formation.circles for m in c]
    assert sorted(placed) == sorted(p.user_id for p in people)
    assert sorted(len(c) for c in formation.circles) == sorted(circle_sizes(23))
    assert formation.waiting == []


def test_departments_are_spread_across_circles() -> None:
    # Two departments of four: each circle of four gets two from each.
    people = seekers(["Bauamt"] * 4 + ["Ordnungsamt"] * 4)
    by_id = {p.user_id: p.department for p in people}
    for seed in range(5):
        formation = form_circles(people, rng_seed=seed)
        for circle in formation.circles:
            assert Counter(by_id[m] for m in circle) == {"Bauamt": 2, "Ordnungsamt": 2}


def test_one_large_department_is_split_as_evenly_as_possible() -> None:
    people = seekers(["Schulamt"] * 6 + ["Bauamt", "IT", "Kämmerei", "Personal"])
    by_id = {p.user_id: p.department for p in people}
    formation = form_circles(people, rng_seed=2)
    assert [len(c) for c in formation.circles] == [5, 5]
    assert sorted(Counter(by_id[m] for m in c)["Schulamt"] for c in formation.circles) == [3, 3]


def test_without_departments_home_servers_are_mixed() -> None:
    people = [Seeker(f"@p{i}:kommune-{i % 2}.de") for i in range(8)]
    formation = form_circles(people, rng_seed=4)
    for circle in formation.circles:
        assert Counter(m.split(":")[1] for m in circle) == {"kommune-0.de": 2, "kommune-1.de": 2}


def brute_force_best(people: list[Seeker]) -> tuple[int, int]:
    """Fewest same-department pairs, then fewest same-server pairs, over every split."""

    def cost(group: tuple[Seeker, ...]) -> tuple[int, int]:
        pairs = list(itertools.combinations(group, 2))
        same_dept = sum(1 for a, b in pairs if a.department and a.department == b.department)
        return same_dept, sum(1 for a, b in pairs if a.server == b.server)

    def splits(rest: list[Seeker], sizes: list[int]):  # type: ignore[no-untyped-def]
        if not sizes:
            yield []
            return
        for others in itertools.combinations(rest[1:], sizes[0] - 1):
            group = (rest[0], *others)
            remaining = [p for p in rest if p not in group]
            for tail in splits(remaining, sizes[1:]):
                yield [group, *tail]

    return min(
        tuple(map(sum, zip(*(cost(g) for g in split), strict=True)))  # type: ignore[misc]
        for split in splits(people, circle_sizes(len(people)))
    )


@pytest.mark.parametrize("seed", range(12))
def test_circles_mix_departments_first_then_home_servers_optimally(seed: int) -> None:
    rng = random.Random(seed)
    size = rng.choice([7, 8, 9, 10])
    people = [
        Seeker(f"@p{i}:kommune-{rng.randint(0, 2)}.de", rng.choice(["Bau", "Schule", "IT", None]))
        for i in range(size)
    ]
    by_id = {p.user_id: p for p in people}
    formation = form_circles(people, rng_seed=seed)
    achieved = [0, 0]
    for circle in formation.circles:
        for a, b in itertools.combinations([by_id[m] for m in circle], 2):
            achieved[0] += bool(a.department and a.department == b.department)
            achieved[1] += a.server == b.server
    assert tuple(achieved) == brute_force_best(people)


def test_formation_is_deterministic_for_a_seed() -> None:
    people = seekers([f"Amt{i % 3}" for i in range(14)], servers=2)
    assert form_circles(people, 9) == form_circles(list(reversed(people)), 9)


# ---- schedule --------------------------------------------------------------------------------

FORMED = berlin(2025, 10, 13, 9, 0)  # a Monday


def scheduled(weekday: int = 1, at: dt.time = dt.time(14, 0)) -> Circle:
    circle = Circle("c1", ["@a:x", "@b:y", "@c:z", "@d:x"], FORMED)
    assert circle.set_time(weekday, at, FORMED).ok
    return circle


def test_first_meeting_is_at_least_a_day_away() -> None:
    # Monday 09:00 → "Monday 10:00" would be too soon: the week-1 meeting is a week later.
    circle = scheduled(weekday=0, at=dt.time(10, 0))
    assert circle.meeting_at(1) == berlin(2025, 10, 20, 10, 0)
    assert scheduled().meeting_at(1) == berlin(2025, 10, 14, 14, 0)


def test_twelve_weekly_meetings_keep_the_wall_clock_time_across_dst() -> None:
    schedule = scheduled().schedule()
    assert [week for week, _ in schedule] == list(range(1, 13))
    assert all(when.hour == 14 and when.weekday() == 1 for _, when in schedule)
    offsets = {when.utcoffset() for _, when in schedule}
    assert offsets == {dt.timedelta(hours=2), dt.timedelta(hours=1)}  # CEST → CET on 26 Oct
    # Same-zone subtraction in Python is wall-clock arithmetic; compare real elapsed time.
    gaps = {
        b.astimezone(dt.UTC) - a.astimezone(dt.UTC)
        for (_, a), (_, b) in itertools.pairwise(schedule)
    }
    assert dt.timedelta(days=7, hours=1) in gaps  # the DST week is an hour longer in real time


def test_status_walks_from_upcoming_to_finished() -> None:
    circle = Circle("c1", ["@a:x"], FORMED)
    assert circle.status(FORMED).state == CircleState.NOT_SCHEDULED
    circle.set_time(1, dt.time(14, 0), FORMED)
    status = circle.status(FORMED)
    assert (status.state, status.week, status.next_week) == (CircleState.UPCOMING, 0, 1)
    status = circle.status(berlin(2025, 10, 22, 9, 0))
    assert (status.state, status.week, status.next_week) == (CircleState.RUNNING, 2, 3)
    assert status.next_meeting == berlin(2025, 10, 28, 14, 0)
    assert circle.status(berlin(2025, 12, 30, 14, 0)).state == CircleState.FINISHED


def test_moving_the_meeting_mid_circle_keeps_the_week_numbers() -> None:
    circle = scheduled()
    now = berlin(2025, 10, 29, 9, 0)  # three Tuesday meetings are behind them
    moved = circle.set_time(3, dt.time(9, 30), now)  # to Thursdays 09:30
    assert isinstance(moved, TimeSet) and moved.week == 4
    assert moved.next_meeting == berlin(2025, 10, 30, 9, 30)
    assert circle.meetings_held(now) == 3
    assert circle.meeting_at(4) == berlin(2025, 10, 30, 9, 30)
    assert circle.meeting_at(12) == berlin(2025, 12, 25, 9, 30)
    assert circle.due_reminder(now) is None  # no reminder for the weeks already held


def test_a_finished_or_ended_circle_cannot_be_rescheduled() -> None:
    circle = scheduled()
    assert circle.set_time(2, dt.time(9), berlin(2026, 1, 5, 9, 0)).reason == "circle_finished"  # type: ignore[union-attr]
    circle.end(berlin(2026, 1, 5, 9, 0), "@a:x")
    assert circle.set_time(2, dt.time(9), berlin(2026, 1, 5, 9, 0)).reason == "circle_ended"  # type: ignore[union-attr]


# ---- reminders -------------------------------------------------------------------------------


def test_reminder_is_due_at_the_meeting_time_once() -> None:
    circle = scheduled()
    assert circle.next_wakeup(FORMED) == berlin(2025, 10, 14, 14, 0)
    assert circle.due_reminder(berlin(2025, 10, 14, 13, 59)) is None
    assert circle.due_reminder(berlin(2025, 10, 14, 14, 0)) == 1
    circle.mark_reminded(1)
    assert circle.due_reminder(berlin(2025, 10, 14, 14, 5)) is None
    assert circle.next_wakeup(berlin(2025, 10, 14, 14, 5)) == berlin(2025, 10, 21, 14, 0)


def test_a_reminder_missed_while_offline_is_skipped_not_posted_late() -> None:
    circle = scheduled()
    assert circle.due_reminder(berlin(2025, 10, 14, 15, 30)) == 1  # within two hours
    assert circle.due_reminder(berlin(2025, 10, 15, 9, 0)) is None  # a day late: skip
    # After a long outage only the current week is reminded, not a backlog.
    assert circle.due_reminder(berlin(2025, 11, 4, 14, 30)) == 4


def test_reminder_state_survives_a_restart() -> None:
    circle = scheduled()
    circle.room_id = "!circle:x"
    circle.mark_reminded(2)
    restored = Circle.from_dict(json.loads(json.dumps(circle.to_dict())))
    assert restored == circle
    assert restored.due_reminder(berlin(2025, 10, 21, 14, 10)) is None
    assert restored.due_reminder(berlin(2025, 10, 28, 14, 10)) == 3


def test_ended_circle_gets_no_more_reminders() -> None:
    circle = scheduled()
    ended = circle.end(berlin(2025, 10, 22, 9, 0), "@b:y")
    assert isinstance(ended, CircleEnded) and ended.meetings_held == 2
    assert circle.due_reminder(berlin(2025, 10, 28, 14, 0)) is None
    assert circle.next_wakeup(berlin(2025, 10, 28, 9, 0)) is None


def test_only_members_or_moderators_end_a_circle() -> None:
    circle = scheduled()
    assert circle.end(FORMED, "@stranger:x").reason == "not_member"  # type: ignore[union-attr]
    assert circle.end(FORMED, "@mod:x", moderator=True).ok
    assert circle.end(FORMED, "@a:x").reason == "circle_ended"  # type: ignore[union-attr]


# ---- guide links -----------------------------------------------------------------------------


def test_guide_links_fall_back_to_the_overview() -> None:
    links = GuideLinks(overview="https://intranet.example.org/wol", weeks={3: "https://e.org/w3"})
    assert links.for_week(3) == "https://e.org/w3"
    assert links.for_week(4) == "https://intranet.example.org/wol"
    assert GuideLinks().for_week(1) == WOL_OFFICIAL_SITE


@pytest.mark.parametrize(
    "data",
    [
        {"overview": "http://insecure.example.org"},
        {"weeks": {13: "https://e.org/x"}},
        {"weeks": {0: "https://e.org/x"}},
        {"overview": "https://e.org", "pdfs": True},
    ],
)
def test_guide_link_config_is_strict(data: dict) -> None:
    with pytest.raises(ValidationError):
        GuideLinks.model_validate(data)


def test_reminder_links_the_guide_of_that_week() -> None:
    links = GuideLinks(weeks={5: "https://e.org/woche-5"})
    circle = scheduled()
    message = render_reminder(5, circle.meeting_at(5), links, DE)
    assert "Woche 5 von 12" in message.plain and "https://e.org/woche-5" in message.plain
    last = render_reminder(12, circle.meeting_at(12), links, EN, prefix="?")
    assert "last meeting" in last.plain and "`?wol end`" in last.plain


def test_week_overview_names_the_next_meeting_and_its_guide() -> None:
    circle = scheduled()
    text = render_week(circle, berlin(2025, 10, 22, 9, 0), GuideLinks(), DE).plain
    assert "2 von 12" in text and "Woche 3" in text and "28.10.2025" in text
    assert WOL_OFFICIAL_SITE in text


def test_welcome_asks_for_a_time_or_shows_the_schedule() -> None:
    links = GuideLinks()
    unscheduled = Circle("c", ["@a:x", "@b:y", "@c:z"], FORMED)
    assert "wol zeit" in render_welcome(unscheduled, links, DE).plain
    text = render_welcome(scheduled(), links, DE).plain
    assert "Woche 12/12" in text and "keine Ziele" in text


# ---- commands --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "weekday", "hour", "minute"),
    [
        ("zeit Di 14:00", 1, 14, 0),
        ("zeit dienstag 9.30", 1, 9, 30),
        ("time Thu 14 Uhr", 3, 14, 0),
        ("bilden Mo 8:15", 0, 8, 15),
        # The shared parser (bot.text.weekdays) also reads these.
        ("zeit dienstags um 14 Uhr", 1, 14, 0),
        ("zeit Thu 2:30 pm", 3, 14, 30),
    ],
)
def test_slot_parsing(args: str, weekday: int, hour: int, minute: int) -> None:
    command = parse_command(args)
    assert isinstance(command, WolCommand)
    assert (command.weekday, command.at) == (weekday, dt.time(hour, minute))


DAY_NAMES = (
    ("mo", "mon", "montag", "monday"),
    ("di", "tue", "dienstag", "tuesday", "tu"),
    ("mi", "wed", "mittwoch", "wednesday"),
    ("do", "thu", "donnerstag", "thursday", "th"),
    ("fr", "fri", "freitag", "friday"),
    ("sa", "sat", "samstag", "saturday"),
    ("so", "sun", "sonntag", "sunday"),
)
CLOCKS = {
    "9": (9, 0),
    "09:05": (9, 5),
    "9.30": (9, 30),
    "14 Uhr": (14, 0),
    "14uhr": (14, 0),
    "14:30 Uhr": (14, 30),
    "23.59 UHR": (23, 59),
    "0:00": (0, 0),
}


@pytest.mark.parametrize(("day", "names"), list(enumerate(DAY_NAMES)))
def test_every_slot_spelling_accepted_so_far_still_is(day: int, names: tuple[str, ...]) -> None:
    for name in names:
        for spelling in (name, name.upper(), name.capitalize() + ".", name + ","):
            for clock, (hour, minute) in CLOCKS.items():
                command = parse_command(f"zeit {spelling} {clock}")
                assert isinstance(command, WolCommand), (spelling, clock)
                assert (command.weekday, command.at) == (day, dt.time(hour, minute))


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ("zeit", "slot_missing"),
        ("zeit Di", "slot_missing"),
        ("zeit Funday 14:00", "weekday_invalid"),
        ("zeit Di 25:00", "time_invalid"),
        ("woche 3", "unexpected_argument"),
        ("kreis", "unknown_subcommand"),
        ("an " + "x" * 61, "department_too_long"),
    ],
)
def test_bad_wol_commands_are_explained(args: str, reason: str) -> None:
    result = parse_command(args)
    assert isinstance(result, Rejected) and result.reason == reason
    assert "{" not in result.message(DE, prefix="!").plain


def test_join_list_form_and_end_commands() -> None:
    joined = parse_command("an Bauamt  Süd")
    assert isinstance(joined, WolCommand) and joined.department == "Bauamt Süd"
    for args, action in (("suche", "list"), ("bilden", "form"), ("ende", "end"), ("", "help")):
        command = parse_command(args)
        assert isinstance(command, WolCommand) and command.action == action
    plain_form = parse_command("bilden")
    assert isinstance(plain_form, WolCommand) and plain_form.weekday is None


def test_seeker_list_shows_departments_and_how_to_form() -> None:
    text = render_seekers([Seeker("@b:y"), Seeker("@a:x", "Bauamt")], DE, prefix="!").plain
    assert text.index("@a:x – Bauamt") < text.index("@b:y")
    assert "`!wol bilden`" in text
    assert "niemand" in render_seekers([], DE).plain


def test_retro_poll_in_both_languages() -> None:
    for texts in (DE, EN):
        question, answers = retro_poll(texts)
        assert question.endswith("?") and len(answers) == 4 and len(set(answers)) == 4
