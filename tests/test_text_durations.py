"""The shared duration parser: everything the old per-command parsers accepted, one rule for bare
numbers (minutes), bounded results, and error texts in both languages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.text.durations import (
    LONGEST,
    DurationOutOfRange,
    format_duration,
    parse_duration,
)
from bot.text.i18n import LANGUAGES, Texts, all_keys
from bot.text.problems import ParseProblem

MIN = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the examples
        ("90", timedelta(minutes=90)),
        ("90m", timedelta(minutes=90)),
        ("90 min", timedelta(minutes=90)),
        ("1h 30m", timedelta(minutes=90)),
        ("1,5 h", timedelta(minutes=90)),
        ("2 Tage", 2 * DAY),
        ("4w", 28 * DAY),
        ("2 Wochen", 14 * DAY),
        ("3d", 3 * DAY),
        # !umfrage --dauer
        ("30m", 30 * MIN),
        ("30min", 30 * MIN),
        ("30 Minuten", 30 * MIN),
        ("2h", 2 * HOUR),
        ("2 Std", 2 * HOUR),
        ("2 Std.", 2 * HOUR),
        ("1,5 Stunden", 90 * MIN),
        ("1.5h", 90 * MIN),
        ("1h30m", 90 * MIN),
        ("1d", DAY),
        ("3 Tage", 3 * DAY),
        ("1 day", DAY),
        ("2 hrs", 2 * HOUR),
        ("1 Woche", 7 * DAY),
        # Lean Coffee --zeit/--verlängerung: a bare number is minutes, seconds are allowed
        ("8m", 8 * MIN),
        ("8 min", 8 * MIN),
        ("8", 8 * MIN),
        ("90s", timedelta(seconds=90)),
        ("45 Sekunden", timedelta(seconds=45)),
        ("1,5h", 90 * MIN),
        ("1,5", timedelta(seconds=90)),
        ("5 Min.", 5 * MIN),
        # Kaffee-Tandem pause
        ("4 Wochen", 28 * DAY),
        ("10d", 10 * DAY),
        ("10 Tage", 10 * DAY),
        ("10t", 10 * DAY),
        ("4 wo.", 28 * DAY),
        ("2 weeks", 14 * DAY),
        ("26 Wochen", 26 * 7 * DAY),
        # gap report periods with a unit
        ("30d", 30 * DAY),
        ("4 wochen", 28 * DAY),
        ("5 tagen", 5 * DAY),
        # config-style values
        ("30s", timedelta(seconds=30)),
        ("10m", 10 * MIN),
        ("2w", 14 * DAY),
        # joined parts and spacing
        ("1 Stunde und 30 Minuten", 90 * MIN),
        ("1 hour and 30 minutes", 90 * MIN),
        ("1h, 30m", 90 * MIN),
        ("1h + 30m", 90 * MIN),
        ("1 Tag 2 Stunden", DAY + 2 * HOUR),
        ("  2H  ", 2 * HOUR),
        ("0", timedelta(0)),
        ("007m", 7 * MIN),
        ("0,25 h", 15 * MIN),
        ("0.1h", 6 * MIN),  # exact: no float rounding to 359.99… seconds
    ],
)
def test_accepts_what_people_type(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "bald",
        "zehn Minuten",
        "2 Jahre",  # months and years are not durations here: their length varies
        "3 Monate",
        "h2",
        "m",
        "2h und so",
        "30 h2",
        "1h30",  # unit-less part after a unit: 30 what?
        "1 5h",
        "1,5,5h",
        "-5m",
        "+5m",
        "5m ago",
        "1e3m",
        "١٢m",  # Arabic-Indic digits are no number here
        "²m",
        "1_000m",
        "1:30",
        "und 5m",
        "5m und",
        "x" * 500,
    ],
)
def test_rejects_unclear_text(text: str) -> None:
    with pytest.raises(ParseProblem) as caught:
        parse_duration(text)
    assert caught.value.key == "parse.duration.invalid"
    assert not isinstance(caught.value, DurationOutOfRange)


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_text_asks_for_a_duration(text: str) -> None:
    with pytest.raises(ParseProblem) as caught:
        parse_duration(text)
    assert caught.value.key == "parse.duration.missing"


@pytest.mark.parametrize("text", ["9" * 30 + "d", "9" * 5000, "5201w", "36500 Tage", "1e9"])
def test_nothing_beyond_a_century_comes_out(text: str) -> None:
    try:
        duration = parse_duration(text)
    except ParseProblem:
        return
    assert duration <= LONGEST


def test_longest_duration_still_fits_into_datetime() -> None:
    assert datetime.max.replace(tzinfo=UTC) - LONGEST > datetime(9000, 1, 1, tzinfo=UTC)
    assert parse_duration("5200w") == LONGEST
    with pytest.raises(DurationOutOfRange) as caught:
        parse_duration("5200w 1s")
    assert caught.value.key == "parse.duration.too_long"


@pytest.mark.parametrize(
    ("text", "minimum", "maximum", "key"),
    [
        ("30s", MIN, HOUR, "parse.duration.range"),
        ("61m", MIN, HOUR, "parse.duration.range"),
        ("0", MIN, None, "parse.duration.too_short"),
        ("31d", None, 30 * DAY, "parse.duration.too_long"),
    ],
)
def test_bounds_are_checked(
    text: str, minimum: timedelta | None, maximum: timedelta | None, key: str
) -> None:
    with pytest.raises(DurationOutOfRange) as caught:
        parse_duration(text, minimum=minimum, maximum=maximum)
    assert caught.value.key == key
    assert caught.value.params["min"] == minimum and caught.value.params["max"] == maximum


@pytest.mark.parametrize("text", ["1m", "60m", "1h", "59 min"])
def test_bounds_are_inclusive(text: str) -> None:
    assert MIN <= parse_duration(text, minimum=MIN, maximum=HOUR) <= HOUR


def test_range_message_words_the_bounds_in_the_readers_language() -> None:
    with pytest.raises(DurationOutOfRange) as caught:
        parse_duration("5s", minimum=MIN, maximum=30 * DAY)
    german = caught.value.message(Texts("de"))
    english = caught.value.message(Texts("en"))
    assert "1 Minute" in german.plain and "4 Wochen 2 Tage" in german.plain
    assert "1 minute" in english.plain and "4 weeks 2 days" in english.plain
    assert "„5s“" in german.plain


def test_user_input_is_escaped_and_shortened_in_messages() -> None:
    with pytest.raises(ParseProblem) as caught:
        parse_duration("<b>bald</b> " + "x" * 60)
    message = caught.value.message(Texts("de"))
    assert "<b>bald" not in message.html and "&lt;b&gt;bald" in message.html
    assert "…" in message.plain and "x" * 40 not in message.plain


@pytest.mark.parametrize(
    ("duration", "german", "english"),
    [
        (timedelta(0), "0 Sekunden", "0 seconds"),
        (timedelta(seconds=1), "1 Sekunde", "1 second"),
        (90 * MIN, "1 Stunde 30 Minuten", "1 hour 30 minutes"),
        (DAY, "1 Tag", "1 day"),
        (15 * DAY + MIN, "2 Wochen 1 Tag 1 Minute", "2 weeks 1 day 1 minute"),
    ],
)
def test_format_duration(duration: timedelta, german: str, english: str) -> None:
    assert format_duration(duration, Texts("de")) == german
    assert format_duration(duration, Texts("en")) == english


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_example_in_the_texts_parses(lang: str) -> None:
    texts = Texts(lang)
    examples = []
    for key in sorted(k for k in all_keys(lang) if k.startswith("parse.duration.")):
        found = re.findall(r"`([^`]+)`", texts.raw(key))
        examples += found
        if key.endswith(("invalid", "missing")):
            assert found, key
    assert len(examples) >= 6
    for example in examples:
        parse_duration(example)


# --------------------------------------------------------------------------------- properties

UNITS = {
    "w": 604800, "Wochen": 604800, "weeks": 604800, "d": 86400, "Tage": 86400, "days": 86400,
    "h": 3600, "Std.": 3600, "hours": 3600, "m": 60, "min": 60, "Minuten": 60, "s": 1, "sek": 1,
}  # fmt: skip


@settings(deadline=None)  # a loaded CI machine is no parser bug
@given(parts=st.lists(st.tuples(st.integers(0, 999), st.sampled_from(sorted(UNITS))), min_size=1))
def test_parts_add_up(parts: list[tuple[int, str]]) -> None:
    text = " ".join(f"{amount} {unit}" for amount, unit in parts)
    seconds = sum(amount * UNITS[unit] for amount, unit in parts)
    if len(text) > 100:
        with pytest.raises(ParseProblem):
            parse_duration(text)
    else:
        assert parse_duration(text) == timedelta(seconds=seconds)


@settings(deadline=None)  # a loaded CI machine is no parser bug
@given(seconds=st.integers(0, int(LONGEST.total_seconds())), lang=st.sampled_from(LANGUAGES))
def test_formatted_durations_parse_back(seconds: int, lang: str) -> None:
    duration = timedelta(seconds=seconds)
    assert parse_duration(format_duration(duration, Texts(lang))) == duration


@settings(deadline=None)  # a loaded CI machine is no parser bug
@given(
    text=st.text(max_size=40)
    | st.from_regex(r"[0-9]{1,40}([.,][0-9]{1,40})? ?[a-zA-Zä.]{0,8}", fullmatch=True),
    low=st.integers(0, 10**6),
    span=st.integers(0, 10**8),
)
def test_anything_typed_gives_a_bounded_duration_or_a_problem(
    text: str, low: int, span: int
) -> None:
    minimum, maximum = timedelta(seconds=low), timedelta(seconds=low + span)
    try:
        duration = parse_duration(text, minimum=minimum, maximum=maximum)
    except ParseProblem as problem:
        for lang in LANGUAGES:
            assert problem.message(Texts(lang)).plain
        return
    assert minimum <= duration <= maximum
