"""The shared weekday/time parser: what !impuls and !wol accept today, plus "montags und
donnerstags", English forms and am/pm; errors name the user's own spelling in both languages."""

from __future__ import annotations

import re
from datetime import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text.i18n import LANGUAGES, Texts, all_keys
from bot.text.problems import ParseProblem
from bot.text.weekdays import (
    EVERY_DAY,
    WORKDAYS,
    Weekly,
    parse_clock,
    parse_weekday,
    parse_weekly,
)
from tests.parse_problems import assert_names_the_part

NO_DAYS: frozenset[int] = frozenset()


@pytest.mark.parametrize(
    ("text", "days", "at"),
    [
        # the examples
        ("Mo-Fr 9:00", WORKDAYS, time(9)),
        ("dienstags 10 Uhr", {1}, time(10)),
        ("montags und donnerstags", {0, 3}, None),
        ("Di 14:30", {1}, time(14, 30)),
        ("mon, thu 9am", {0, 3}, time(9)),
        # what !impuls abonnieren accepted
        ("", NO_DAYS, None),
        ("Mo-Fr", WORKDAYS, None),
        ("täglich", EVERY_DAY, None),
        ("taeglich 7:45", EVERY_DAY, time(7, 45)),
        ("werktags 8:30", WORKDAYS, time(8, 30)),
        ("Mo,Mi,Fr", {0, 2, 4}, None),
        ("Mo, Mi, Fr 14:00", {0, 2, 4}, time(14)),
        ("MONTAG mittwoch Freitag", {0, 2, 4}, None),
        ("Di-Do 9 Uhr", {1, 2, 3}, time(9)),
        ("Mo bis Mi um 10 Uhr", {0, 1, 2}, time(10)),
        ("Mo – Fr 9.30", WORKDAYS, time(9, 30)),
        ("09:05", NO_DAYS, time(9, 5)),
        ("16:15 Sa,So", {5, 6}, time(16, 15)),
        ("Fr-Mo 7:00", {4, 5, 6, 0}, time(7)),
        ("Mo. und Do.", {0, 3}, None),
        ("Mon-Fri 8:00", WORKDAYS, time(8)),
        ("daily 0:00", EVERY_DAY, time(0)),
        ("Sonnabend 9h", {5}, time(9)),
        ("tues thurs", {1, 3}, None),
        ("Mo-Fr 9:00 9 Uhr", WORKDAYS, time(9)),  # the same time twice is one time
        # what !wol zeit accepted (weekday + time)
        ("dienstag 9.30", {1}, time(9, 30)),
        ("Tue 14 Uhr", {1}, time(14)),
        ("tu 14:00", {1}, time(14)),
        ("th 8", {3}, time(8)),
        ("Mi 14:00uhr", {2}, time(14)),
        # further natural spellings
        ("Montags bis freitags um 8 Uhr", WORKDAYS, time(8)),
        ("jeden Montag um 10", {0}, time(10)),
        ("jeden Tag 8:30", EVERY_DAY, time(8, 30)),
        ("every day at 2:30 p.m.", EVERY_DAY, time(14, 30)),
        ("on Mondays and Thursdays at 9 am", {0, 3}, time(9)),
        ("Mon through Fri 12am", WORKDAYS, time(0)),
        ("Mon to Fri 12pm", WORKDAYS, time(12)),
        ("am Wochenende 10h", {5, 6}, time(10)),
        ("wochentags 14 Uhr 30", WORKDAYS, time(14, 30)),
        ("Mo/Mi/Fr", {0, 2, 4}, None),
        ("Mo & Do", {0, 3}, None),
        ("von Mo bis Fr ab 7 Uhr", WORKDAYS, time(7)),
        ("weekends", {5, 6}, None),
        ("Fr—Mo", {4, 5, 6, 0}, None),
        ("Di 10 Uhr.", {1}, time(10)),
    ],
)
def test_weekly_accepts_what_people_type(text: str, days: set[int], at: time | None) -> None:
    assert parse_weekly(text) == Weekly(frozenset(days), at)


@pytest.mark.parametrize(
    ("text", "key", "shown"),
    [
        ("Mx-Fr", "parse.weekly.unknown", "Mx-Fr"),
        ("Montag, Feiertag", "parse.weekly.unknown", "Feiertag"),
        ("Mo-Fr 25:00", "parse.clock.invalid", "25:00"),
        ("9:75", "parse.clock.invalid", "9:75"),
        ("Mo 9:3", "parse.clock.invalid", "9:3"),
        ("Mo 13pm", "parse.clock.invalid", "13pm"),
        ("Mo 0am", "parse.clock.invalid", "0am"),
        ("Mo 9-17 Uhr", "parse.clock.invalid", "9-17Uhr"),
        ("Mo 9:30 Uhr 15", "parse.clock.invalid", "9:30Uhr15"),
        ("Mo 123", "parse.clock.invalid", "123"),
        ("Mo ٩:٠٠", "parse.clock.invalid", "٩:٠٠"),  # looks like a time, is none
        ("Mo-", "parse.weekly.range", "Mo-"),
        ("-Fr", "parse.weekly.range", "-Fr"),
        ("Mo-Mi-Fr", "parse.weekly.range", "Mo-Mi-Fr"),
        ("Mo-werktags", "parse.weekly.unknown", "Mo-werktags"),
    ],
)
def test_weekly_errors_name_the_wrong_part(text: str, key: str, shown: str) -> None:
    assert_names_the_part(parse_weekly, text, key, shown, LANGUAGES)


def test_two_different_times_are_rejected() -> None:
    with pytest.raises(ParseProblem) as caught:
        parse_weekly("Mo-Fr 9:00 10 Uhr")
    assert caught.value.key == "parse.weekly.two_times"
    assert caught.value.params == {"first": "9:00", "second": "10Uhr"}


def test_overlong_input_is_refused_early() -> None:
    with pytest.raises(ParseProblem) as caught:
        parse_weekly("Mo " * 10_000)
    assert len(caught.value.params["token"]) <= 30


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("Mo", 0), ("montag", 0), ("Montags", 0), ("monday", 0), ("Mon.", 0),
        ("Di", 1), ("tu", 1), ("Tues", 1), ("dienstags", 1),
        ("mi", 2), ("Mittwochs", 2), ("wed", 2),
        ("Do", 3), ("th", 3), ("Thur", 3), ("thursdays", 3),
        ("FR", 4), ("freitag,", 4), ("friday", 4),
        ("Sa", 5), ("Sonnabend", 5), ("saturday", 5),
        ("So", 6), ("sonntags", 6), (" Sun ", 6),
    ],
)  # fmt: skip
def test_one_weekday(text: str, day: int) -> None:
    assert parse_weekday(text) == day


@pytest.mark.parametrize(
    "text", ["", "Mx", "Mo-Fr", "werktags", "Montag Dienstag", "9", "Feiertag"]
)
def test_one_weekday_rejects_anything_else(text: str) -> None:
    with pytest.raises(ParseProblem) as caught:
        parse_weekday(text)
    assert caught.value.key == "parse.weekday.invalid"


@pytest.mark.parametrize(
    ("text", "at"),
    [
        ("9", time(9)), ("09", time(9)), ("9:30", time(9, 30)), ("09:30", time(9, 30)),
        ("14.30", time(14, 30)), ("10 Uhr", time(10)), ("10Uhr", time(10)),
        ("10:15 Uhr", time(10, 15)), ("14 Uhr 30", time(14, 30)), ("14h30", time(14, 30)),
        ("14h", time(14)), ("um 14 Uhr", time(14)), ("at 9", time(9)), ("0:00", time(0)),
        ("23:59", time(23, 59)), ("9am", time(9)), ("9 AM", time(9)), ("2:30 pm", time(14, 30)),
        ("12am", time(0)), ("12 p.m.", time(12)), ("11pm", time(23)),
    ],
)  # fmt: skip
def test_clock(text: str, at: time) -> None:
    assert parse_clock(text) == at


@pytest.mark.parametrize(
    "text",
    ["", "Uhr", "24:00", "9:60", "9:3", "9:300", "123", "13pm", "0am", "9 30", "9:30:00", "-1",
     "neun", "Mo 9", "9 Uhr Mo", "14:30 Uhr 15", "٩", "9" * 5000],
)  # fmt: skip
def test_clock_rejects_anything_else(text: str) -> None:
    with pytest.raises(ParseProblem) as caught:
        parse_clock(text)
    assert caught.value.key == "parse.clock.invalid"
    assert len(caught.value.params["value"]) <= 30


def test_weekly_checks_its_parts() -> None:
    with pytest.raises(ValueError):
        Weekly(frozenset({7}), None)
    with pytest.raises(ValueError):
        Weekly(frozenset({1}), time(9, 0, 30))


_PARSERS = {
    "parse.weekly.": parse_weekly,
    "parse.weekday.": parse_weekday,
    "parse.clock.": parse_clock,
}


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("prefix", sorted(_PARSERS))
def test_every_example_in_the_texts_parses(lang: str, prefix: str) -> None:
    texts = Texts(lang)
    keys = sorted(k for k in all_keys(lang) if k.startswith(prefix))
    assert keys
    for key in keys:
        examples = re.findall(r"`([^`]+)`", texts.raw(key))
        assert examples, key
        for example in examples:
            _PARSERS[prefix](example)
        assert "<code>" in texts(key, token="x", value="x", first="x", second="y").html


# --------------------------------------------------------------------------------- properties

SPELLINGS = (
    ("Mo", "montag", "Montags", "mon", "Monday"),
    ("Di", "Dienstag", "dienstags", "tue", "Tuesdays"),
    ("Mi", "mittwoch", "Mittwochs", "wed", "wednesday"),
    ("Do", "Donnerstag", "donnerstags", "thu", "Thursday"),
    ("Fr", "freitag", "Freitags", "fri", "fridays"),
    ("Sa", "Samstag", "samstags", "sat", "Saturday"),
    ("So", "sonntag", "Sonntags", "sun", "sundays"),
)
CLOCKS = ("{h}:{m:02d}", "{h:02d}:{m:02d}", "{h}.{m:02d}", "{h} Uhr {m:02d}", "{h}h{m:02d}")


@settings(deadline=None)  # a loaded CI machine is no parser bug
@given(
    days=st.lists(st.integers(0, 6), min_size=1, max_size=7),
    spelling=st.integers(0, 4),
    joiner=st.sampled_from([", ", " und ", " and ", " ", "/", " & "]),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
    clock=st.sampled_from(CLOCKS),
    time_first=st.booleans(),
)
def test_lists_of_days_with_a_time_round_trip(
    days: list[int],
    spelling: int,
    joiner: str,
    hour: int,
    minute: int,
    clock: str,
    time_first: bool,
) -> None:
    day_text = joiner.join(SPELLINGS[d][spelling] for d in days)
    at_text = "um " + clock.format(h=hour, m=minute)
    text = f"{at_text} {day_text}" if time_first else f"{day_text} {at_text}"
    assert parse_weekly(text) == Weekly(frozenset(days), time(hour, minute))


@settings(deadline=None)  # a loaded CI machine is no parser bug
@given(first=st.integers(0, 6), last=st.integers(0, 6), spelling=st.integers(0, 4))
def test_ranges_cover_the_days_between(first: int, last: int, spelling: int) -> None:
    weekly = parse_weekly(f"{SPELLINGS[first][spelling]}-{SPELLINGS[last][spelling]}")
    assert first in weekly.days and last in weekly.days
    assert len(weekly.days) == (last - first) % 7 + 1


@settings(deadline=None)  # a loaded CI machine is no parser bug
@given(hour=st.integers(0, 23), minute=st.integers(0, 59))
def test_every_clock_time_in_twelve_hour_form(hour: int, minute: int) -> None:
    suffix = "am" if hour < 12 else "pm"
    assert parse_clock(f"{(hour - 1) % 12 + 1}:{minute:02d} {suffix}") == time(hour, minute)


@settings(deadline=None)  # a loaded CI machine is no parser bug
@given(text=st.text(max_size=60))
def test_anything_typed_gives_a_schedule_or_a_problem(text: str) -> None:
    for parser in (parse_weekly, parse_weekday, parse_clock):
        try:
            parser(text)
        except ParseProblem as problem:
            for lang in LANGUAGES:
                assert problem.message(Texts(lang)).plain
