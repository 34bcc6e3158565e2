"""Schedules for daily impulses: parsing, slots across DST/holidays/pauses, catch-up, slot keys."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytest_asyncio
from hypothesis import given
from hypothesis import strategies as st

from bot.config import Config
from bot.feature import States
from bot.features.impulses.library import load_impulses
from bot.features.impulses.model import ImpulseLibrary
from bot.features.impulses.public_holidays import holiday_name, is_holiday, normalize_state
from bot.features.impulses.render import describe_schedule, format_slot
from bot.features.impulses.schedule import (
    Schedule,
    due_slot,
    local_slot,
    next_slots,
    parse_schedule,
    parse_slot_key,
    slot_key,
)
from bot.features.impulses.scheduler import from_ms, next_due_ms, run_due, to_ms
from bot.features.impulses.settings import parse_pause_date, resolve_topics
from bot.features.impulses.state import ImpulsesState
from bot.store import Store
from bot.store.impulses import ImpulseSubscription
from bot.text.i18n import Message, Texts
from bot.text.problems import ParseProblem
from tests.parse_problems import assert_names_the_part

BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC
MO_FR_9 = Schedule(frozenset(range(5)), dt.time(9, 0))
DAILY = frozenset(range(7))


def berlin(*args: int, fold: int = 0) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN, fold=fold)


def local(slots: list[dt.datetime]) -> list[str]:
    return [f"{s.astimezone(BERLIN):%a %Y-%m-%d %H:%M %z}" for s in slots]


# ------------------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("spec", "days", "time"),
    [
        ("", {0, 1, 2, 3, 4}, (9, 0)),
        ("Mo-Fr", {0, 1, 2, 3, 4}, (9, 0)),
        ("täglich", set(range(7)), (9, 0)),
        ("taeglich 7:45", set(range(7)), (7, 45)),
        ("werktags 8:30", {0, 1, 2, 3, 4}, (8, 30)),
        ("Mo,Mi,Fr", {0, 2, 4}, (9, 0)),
        ("Mo, Mi, Fr 14:00", {0, 2, 4}, (14, 0)),
        ("MONTAG mittwoch Freitag", {0, 2, 4}, (9, 0)),
        ("Di-Do 9 Uhr", {1, 2, 3}, (9, 0)),
        ("Mo bis Mi um 10 Uhr", {0, 1, 2}, (10, 0)),
        ("Mo – Fr 9.30", {0, 1, 2, 3, 4}, (9, 30)),
        ("09:05", {0, 1, 2, 3, 4}, (9, 5)),
        ("16:15 Sa,So", {5, 6}, (16, 15)),
        ("Fr-Mo 7:00", {4, 5, 6, 0}, (7, 0)),
        ("Mo. und Do.", {0, 3}, (9, 0)),
        ("Montags", {0}, (9, 0)),
        ("dienstags 10 Uhr", {1}, (10, 0)),
        ("montags und donnerstags 9h", {0, 3}, (9, 0)),
        ("jeden Mo & Mi ab 7.45", {0, 2}, (7, 45)),
        ("Wochenende 11", {5, 6}, (11, 0)),
        ("tues, thurs 9:30uhr", {1, 3}, (9, 30)),
        ("Sonnabend", {5}, (9, 0)),
        ("Mon-Fri 8:00", {0, 1, 2, 3, 4}, (8, 0)),
        ("daily 0:00", set(range(7)), (0, 0)),
    ],
)
def test_parse_accepts_what_people_type(spec: str, days: set[int], time: tuple[int, int]) -> None:
    schedule = parse_schedule(spec)
    assert schedule.weekdays == frozenset(days)
    assert schedule.time == dt.time(*time)


@pytest.mark.parametrize(
    ("spec", "key", "shown"),
    [
        ("Mx-Fr", "parse.weekly.unknown", "Mx-Fr"),
        ("Mondays-ish", "parse.weekly.unknown", "Mondays-ish"),
        ("Mo-Fr 25:00", "parse.clock.invalid", "25:00"),
        ("9:75", "parse.clock.invalid", "9:75"),
        ("Mo 9:3", "parse.clock.invalid", "9:3"),
        ("Mo-", "parse.weekly.range", "Mo-"),
        ("Mo-Mi-Fr", "parse.weekly.range", "Mo-Mi-Fr"),
    ],
)
def test_parse_errors_name_the_wrong_part(spec: str, key: str, shown: str) -> None:
    assert_names_the_part(parse_schedule, spec, key, shown, ("de",))


def test_two_different_times_are_rejected() -> None:
    with pytest.raises(ParseProblem) as caught:
        parse_schedule("Mo-Fr 9:00 10 Uhr")
    assert caught.value.key == "parse.weekly.two_times"
    assert caught.value.params == {"first": "9:00", "second": "10Uhr"}


@pytest.mark.parametrize("lang", ["de", "en"])
@pytest.mark.parametrize("spec", ["Mx", "25:00", "Mo-", "9:00 10:00"])
def test_every_error_message_carries_examples_that_actually_parse(lang: str, spec: str) -> None:
    with pytest.raises(ParseProblem) as caught:
        parse_schedule(spec)
    message = caught.value.message(Texts(lang))
    examples = re.findall(r"`([^`]+)`", message.plain)
    assert examples, message.plain
    for example in examples:
        parse_schedule(example)  # must not raise
    assert "<code>" in message.html


@given(
    days=st.frozensets(st.integers(0, 6), min_size=1),
    hour=st.integers(0, 23),
    minute=st.integers(0, 59),
)
def test_canonical_spec_round_trips(days: frozenset[int], hour: int, minute: int) -> None:
    schedule = Schedule(days, dt.time(hour, minute))
    assert parse_schedule(schedule.spec) == schedule


@pytest.mark.parametrize(
    ("spec", "german", "english"),
    [
        ("", "Mo–Fr um 09:00 Uhr", "Mon–Fri at 09:00"),
        ("täglich 8:30", "täglich um 08:30 Uhr", "daily at 08:30"),
        ("Mo,Mi,Fr", "Mo, Mi, Fr um 09:00 Uhr", "Mon, Wed, Fri at 09:00"),
        ("Sa,So 10:00", "Sa, So um 10:00 Uhr", "Sat, Sun at 10:00"),
        ("Fr-Mo,Mi", "Mi, Fr–Mo um 09:00 Uhr", "Wed, Fri–Mon at 09:00"),
    ],
)
def test_schedule_description(spec: str, german: str, english: str) -> None:
    schedule = parse_schedule(spec)
    assert describe_schedule(schedule, Texts("de")).plain == german
    assert describe_schedule(schedule, Texts("en")).plain == english


def test_plan_date_format_is_german_by_default() -> None:
    slot = berlin(2026, 11, 26, 9, 0)
    assert format_slot(slot, BERLIN, Texts("de")) == "Do, 26.11.2026, 09:00"
    assert format_slot(slot, BERLIN, Texts("en")) == "Thu, 2026-11-26, 09:00"
    # A slot given in UTC is shown in the room's local time.
    assert format_slot(slot.astimezone(UTC), BERLIN, Texts("de")) == "Do, 26.11.2026, 09:00"


# --------------------------------------------------------------------------------------- slots


def test_weekend_is_skipped_for_mo_fr() -> None:
    friday_noon = berlin(2026, 11, 27, 12, 0)
    slots = next_slots(MO_FR_9, BERLIN, friday_noon, 3)
    assert local(slots) == [
        "Mon 2026-11-30 09:00 +0100",
        "Tue 2026-12-01 09:00 +0100",
        "Wed 2026-12-02 09:00 +0100",
    ]


def test_slot_strictly_after_the_given_moment() -> None:
    at_slot = berlin(2026, 11, 26, 9, 0)
    assert next_slots(MO_FR_9, BERLIN, at_slot - dt.timedelta(seconds=1), 1) == [at_slot]
    assert local(next_slots(MO_FR_9, BERLIN, at_slot, 1)) == ["Fri 2026-11-27 09:00 +0100"]


@pytest.mark.parametrize(
    ("start", "expected", "night_hours"),
    [
        # spring forward: the night was one hour shorter
        ((2026, 3, 27), ("+0100", "+0200", "+0200"), 23),
        ((2026, 10, 23), ("+0200", "+0100", "+0100"), 25),
    ],
)
def test_nine_oclock_stays_nine_oclock_across_dst_changes(
    start: tuple[int, int, int], expected: tuple[str, str, str], night_hours: int
) -> None:
    daily = Schedule(DAILY, dt.time(9, 0))
    slots = next_slots(daily, BERLIN, berlin(*start, 12, 0), 3)
    year, month, day = start
    assert local(slots) == [
        f"{name} {year}-{month:02d}-{day + 1 + i:02d} 09:00 {offset}"
        for i, (name, offset) in enumerate(zip(("Sat", "Sun", "Mon"), expected, strict=True))
    ]
    # Subtract in UTC: same-zone arithmetic uses wall time.
    assert slots[1].astimezone(UTC) - slots[0].astimezone(UTC) == dt.timedelta(hours=night_hours)


def test_nonexistent_time_is_moved_past_the_gap_once() -> None:
    half_past_two = Schedule(DAILY, dt.time(2, 30))
    slots = next_slots(half_past_two, BERLIN, berlin(2026, 3, 28, 12, 0), 3)
    # 02:30 does not exist on 29 March 2026 in Berlin: the clock jumps from 02:00 to 03:00.
    assert local(slots) == [
        "Sun 2026-03-29 03:30 +0200",
        "Mon 2026-03-30 02:30 +0200",
        "Tue 2026-03-31 02:30 +0200",
    ]


def test_ambiguous_time_happens_once_at_its_first_occurrence() -> None:
    half_past_two = Schedule(DAILY, dt.time(2, 30))
    slots = next_slots(half_past_two, BERLIN, berlin(2026, 10, 24, 12, 0), 2)
    assert local(slots) == ["Sun 2026-10-25 02:30 +0200", "Mon 2026-10-26 02:30 +0100"]
    # Asking again right after the first 02:30 must not yield the repeated 02:30 (+01:00).
    after_first = slots[0] + dt.timedelta(minutes=5)
    assert next_slots(half_past_two, BERLIN, after_first, 1) == [slots[1]]


def test_german_unity_day_and_easter_monday_are_skipped() -> None:
    # 3 Oct 2025 is a Friday, Easter Monday 2026 is 6 April.
    unity = next_slots(MO_FR_9, BERLIN, berlin(2025, 10, 2, 12, 0), 1, holidays_state="NW")
    assert local(unity) == ["Mon 2025-10-06 09:00 +0200"]
    easter = next_slots(MO_FR_9, BERLIN, berlin(2026, 4, 2, 12, 0), 2, holidays_state="BE")
    # Good Friday (3 April) and Easter Monday (6 April) are both public holidays.
    assert local(easter) == ["Tue 2026-04-07 09:00 +0200", "Wed 2026-04-08 09:00 +0200"]


def test_corpus_christi_depends_on_the_federal_state() -> None:
    wednesday = berlin(2026, 6, 3, 12, 0)
    nrw = next_slots(MO_FR_9, BERLIN, wednesday, 1, holidays_state="NW")
    berlin_state = next_slots(MO_FR_9, BERLIN, wednesday, 1, holidays_state="BE")
    assert local(nrw) == ["Fri 2026-06-05 09:00 +0200"]
    assert local(berlin_state) == ["Thu 2026-06-04 09:00 +0200"]


def test_without_a_state_holidays_are_not_skipped() -> None:
    slots = next_slots(MO_FR_9, BERLIN, berlin(2025, 10, 2, 12, 0), 1)
    assert local(slots) == ["Fri 2025-10-03 09:00 +0200"]


def test_state_names_and_codes() -> None:
    assert normalize_state("nw") == "NW"
    assert normalize_state("Nordrhein-Westfalen") == "NW"
    with pytest.raises(ValueError, match="Bundesland"):
        normalize_state("XY")
    with pytest.raises(ValueError):
        next_slots(MO_FR_9, BERLIN, berlin(2026, 1, 1, 0, 0), 1, holidays_state="XY")
    assert is_holiday(dt.date(2026, 6, 4), "nw")
    assert not is_holiday(dt.date(2026, 6, 4), None)
    assert holiday_name(dt.date(2025, 10, 3), "BE") == "Tag der Deutschen Einheit"
    assert holiday_name(dt.date(2025, 10, 3), "BE", "en") == "German Unity Day"
    assert holiday_name(dt.date(2025, 10, 2), "BE") is None


def test_pause_is_inclusive() -> None:
    monday = berlin(2026, 11, 23, 12, 0)
    slots = next_slots(MO_FR_9, BERLIN, monday, 2, pause_until=dt.date(2026, 11, 25))
    assert local(slots) == ["Thu 2026-11-26 09:00 +0100", "Fri 2026-11-27 09:00 +0100"]
    # A pause that already ended changes nothing.
    past_pause = next_slots(MO_FR_9, BERLIN, monday, 1, pause_until=dt.date(2026, 11, 1))
    assert local(past_pause) == ["Tue 2026-11-24 09:00 +0100"]


def test_indefinite_pause_yields_no_slots() -> None:
    assert next_slots(MO_FR_9, BERLIN, berlin(2026, 1, 1, 0, 0), 3, pause_until=dt.date.max) == []


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_slots(MO_FR_9, BERLIN, dt.datetime(2026, 1, 1, 9, 0), 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        due_slot(MO_FR_9, BERLIN, None, dt.datetime(2026, 1, 1, 9, 0))


# ------------------------------------------------------------------------------------ catch-up


def test_slot_is_due_from_its_minute_on_but_never_early() -> None:
    done = berlin(2026, 11, 25, 9, 0)
    assert due_slot(MO_FR_9, BERLIN, done, berlin(2026, 11, 26, 8, 59, 59)) == (None, [])
    assert due_slot(MO_FR_9, BERLIN, done, berlin(2026, 11, 26, 9, 0)) == (
        berlin(2026, 11, 26, 9, 0),
        [],
    )


def test_a_done_slot_is_never_returned_again() -> None:
    done = berlin(2026, 11, 26, 9, 0)
    assert due_slot(MO_FR_9, BERLIN, done, berlin(2026, 11, 26, 9, 30)) == (None, [])


def test_missed_slot_is_caught_up_within_the_window() -> None:
    done = berlin(2026, 11, 25, 9, 0)
    decision = due_slot(MO_FR_9, BERLIN, done, berlin(2026, 11, 26, 10, 59))
    assert decision.slot == berlin(2026, 11, 26, 9, 0)
    assert decision.skipped == []


def test_missed_slot_outside_the_window_is_skipped_and_reported() -> None:
    done = berlin(2026, 11, 25, 9, 0)
    decision = due_slot(MO_FR_9, BERLIN, done, berlin(2026, 11, 26, 11, 1))
    assert decision.slot is None
    assert decision.skipped == [berlin(2026, 11, 26, 9, 0)]
    shorter = due_slot(
        MO_FR_9, BERLIN, done, berlin(2026, 11, 26, 9, 31), catch_up=dt.timedelta(minutes=30)
    )
    assert shorter == (None, [berlin(2026, 11, 26, 9, 0)])


def test_long_downtime_posts_only_the_latest_slot() -> None:
    done = berlin(2026, 11, 20, 9, 0)  # Friday
    decision = due_slot(MO_FR_9, BERLIN, done, berlin(2026, 11, 26, 9, 45), holidays_state="NW")
    assert decision.slot == berlin(2026, 11, 26, 9, 0)
    assert local(decision.skipped) == [
        "Mon 2026-11-23 09:00 +0100",
        "Tue 2026-11-24 09:00 +0100",
        "Wed 2026-11-25 09:00 +0100",
    ]


def test_catch_up_respects_pause_and_holidays() -> None:
    done = berlin(2025, 10, 1, 9, 0)  # Wednesday; Thursday paused, Friday 3 Oct is a holiday
    decision = due_slot(
        MO_FR_9,
        BERLIN,
        done,
        berlin(2025, 10, 3, 10, 0),
        pause_until=dt.date(2025, 10, 2),
        holidays_state="HE",
    )
    assert decision == (None, [])


def test_fresh_subscription_uses_the_subscription_moment_as_watermark() -> None:
    subscribed = berlin(2026, 11, 26, 9, 30)
    assert due_slot(MO_FR_9, BERLIN, subscribed, berlin(2026, 11, 26, 9, 45)) == (None, [])
    tomorrow = due_slot(MO_FR_9, BERLIN, subscribed, berlin(2026, 11, 27, 9, 0, 5))
    assert tomorrow.slot == berlin(2026, 11, 27, 9, 0)


def test_unknown_history_only_considers_the_window() -> None:
    assert due_slot(MO_FR_9, BERLIN, None, berlin(2026, 11, 26, 10, 0)).slot == berlin(
        2026, 11, 26, 9, 0
    )
    assert due_slot(MO_FR_9, BERLIN, None, berlin(2026, 11, 26, 11, 0)).slot == berlin(
        2026, 11, 26, 9, 0
    )  # exactly two hours old still counts
    assert due_slot(MO_FR_9, BERLIN, None, berlin(2026, 11, 26, 11, 1)) == (None, [])


def test_catch_up_across_spring_forward() -> None:
    daily = Schedule(DAILY, dt.time(9, 0))
    done = berlin(2026, 3, 28, 9, 0)
    # 10:30 CEST is 1.5 h after the 09:00 CEST slot, though only 24.5 h after the previous one.
    decision = due_slot(daily, BERLIN, done, berlin(2026, 3, 29, 10, 30))
    assert local([decision.slot]) == ["Sun 2026-03-29 09:00 +0200"]
    late = due_slot(daily, BERLIN, done, berlin(2026, 3, 29, 11, 30))
    assert late.slot is None


def test_repeated_hour_in_autumn_does_not_post_twice() -> None:
    half_past_two = Schedule(DAILY, dt.time(2, 30))
    first = berlin(2026, 10, 25, 2, 30, fold=0)  # 00:30 UTC
    second_0245 = berlin(2026, 10, 25, 2, 45, fold=1)  # 01:45 UTC, the repeated hour
    decision = due_slot(half_past_two, BERLIN, berlin(2026, 10, 24, 2, 30), second_0245)
    assert decision.slot is not None
    assert decision.slot.astimezone(UTC) == first.astimezone(UTC)
    again = due_slot(half_past_two, BERLIN, decision.slot, berlin(2026, 10, 25, 2, 50, fold=1))
    assert again == (None, [])


# ----------------------------------------------------------------------------------- slot keys


def test_slot_key_is_local_date_and_time_and_independent_of_the_clock() -> None:
    from_evening = next_slots(MO_FR_9, BERLIN, berlin(2026, 11, 25, 18, 0), 1)[0]
    from_night = next_slots(MO_FR_9, BERLIN, berlin(2026, 11, 26, 3, 0).astimezone(UTC), 1)[0]
    assert slot_key(from_evening, BERLIN) == slot_key(from_night, BERLIN) == "2026-11-26T09:00"
    assert slot_key(from_evening.astimezone(UTC), BERLIN) == "2026-11-26T09:00"
    assert parse_slot_key("2026-11-26T09:00", BERLIN) == from_evening


def test_slot_keys_around_dst_are_distinct_and_round_trip() -> None:
    half_past_two = Schedule(DAILY, dt.time(2, 30))
    slots = next_slots(half_past_two, BERLIN, berlin(2026, 3, 28, 0, 0), 3)
    slots += next_slots(half_past_two, BERLIN, berlin(2026, 10, 24, 0, 0), 3)
    keys = [slot_key(slot, BERLIN) for slot in slots]
    assert len(set(keys)) == len(keys)
    assert "2026-03-29T03:30" in keys
    for slot, key in zip(slots, keys, strict=True):
        assert parse_slot_key(key, BERLIN).astimezone(UTC) == slot.astimezone(UTC)


def test_local_slot_keeps_wall_time_on_normal_days() -> None:
    slot = local_slot(dt.date(2026, 7, 1), dt.time(9, 0), BERLIN)
    assert slot.astimezone(UTC) == dt.datetime(2026, 7, 1, 7, 0, tzinfo=UTC)


def test_schedule_rejects_empty_weekdays() -> None:
    with pytest.raises(ValueError):
        Schedule(frozenset(), dt.time(9, 0))


# ------------------------------------------------- the posting loop with an injected clock
# scheduler.run_due against a real SQLite store and a fake Matrix shell that deduplicates
# transaction IDs like Synapse does. No network: fast, and the clock is fully controlled.


class FakeShell:
    def __init__(self, rooms: set[str]) -> None:
        self.rooms = set(rooms)
        self.calls: list[tuple[str, str, str]] = []  # (room, txn, body)
        self.events: dict[str, str] = {}  # txn → event id, as the homeserver remembers it

    async def send(self, room_id: str, event_type: str, content: dict, txn: str) -> str:
        self.calls.append((room_id, txn, content["body"]))
        return self.events.setdefault(txn, f"$event{len(self.events)}")

    def is_joined(self, room_id: str) -> bool:
        return room_id in self.rooms


class FakeApp:
    def __init__(self, config: Config, store: Store, library: ImpulseLibrary, room: str) -> None:
        self.config = config
        self.store = store
        self.shell = FakeShell({room})
        self.state = States()
        self.state.put(ImpulsesState(library))
        self.clock = dt.datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> dt.datetime:
        return self.clock

    async def room_texts(self, room_id: str) -> Texts:
        return Texts("de")

    def message_content(self, message: Message, *, notice: bool = False) -> dict:
        return {"msgtype": "m.text", "body": message.plain, "formatted_body": message.html}


ROOM = "!raum:example.org"
CONTENT = Path(__file__).resolve().parent.parent / "content"


@pytest.fixture(scope="module")
def library() -> ImpulseLibrary:
    return load_impulses(CONTENT)


@pytest_asyncio.fixture
async def make_app(tmp_path: Path, library: ImpulseLibrary) -> AsyncIterator[Any]:
    stores: list[Store] = []

    async def factory(
        spec: str,
        subscribed_at: dt.datetime,
        extra_rooms: tuple[str, ...] = (),
        send_interval_ms: int = 0,
        **impulses: Any,
    ) -> FakeApp:
        config = Config.model_validate(
            {
                "matrix": {
                    "homeserver": "http://hs",
                    "user_id": "@bot:hs",
                    "password": "x",
                    "send_interval_ms": send_interval_ms,
                },
                "impulses": impulses,
            }
        )
        store = Store(tmp_path / f"db{len(stores)}.sqlite")
        await store.open()
        stores.append(store)
        app = FakeApp(config, store, library, ROOM)
        for room in (ROOM, *extra_rooms):
            app.shell.rooms.add(room)
            await store.remember_room(room, 0, is_direct=False)
            sub = ImpulseSubscription(room, spec, watermark_ms=to_ms(subscribed_at))
            sub = replace(sub, next_due_ms=next_due_ms(app, sub, subscribed_at))  # type: ignore[arg-type]
            await store.save_impulse_subscription(sub)
        return app

    yield factory
    for store in stores:
        await store.close()


async def run_ticks(app: FakeApp, start: dt.datetime, end: dt.datetime, step: dt.timedelta) -> list:
    """Tick like the job does; returns (tick time, slot key) for every new post."""
    posted = []
    moment = start
    while moment <= end:
        app.clock = moment
        before = len(app.shell.events)
        await run_due(app, moment)  # type: ignore[arg-type]
        if len(app.shell.events) > before:
            row = await app.store.fetchone(
                "SELECT slot_key FROM impulse_posts WHERE event_id = ?",
                (list(app.shell.events.values())[-1],),
            )
            posted.append((moment, row[0]))
        moment += step
    return posted


async def test_loop_posts_each_slot_once_at_the_right_instant_across_dst(make_app: Any) -> None:
    # Summer time starts on Sunday 29 March 2026: 09:00 is 08:00 UTC before, 07:00 UTC after.
    app = await make_app("Mo-Fr 09:00", berlin(2026, 3, 26, 8, 0))
    start = dt.datetime(2026, 3, 26, 6, 0, tzinfo=UTC)
    end = start + dt.timedelta(days=5, hours=2)
    posted = await run_ticks(app, start, end, dt.timedelta(minutes=30))
    assert posted == [
        (dt.datetime(2026, 3, 26, 8, 0, tzinfo=UTC), "slot:2026-03-26T09:00"),
        (dt.datetime(2026, 3, 27, 8, 0, tzinfo=UTC), "slot:2026-03-27T09:00"),
        (dt.datetime(2026, 3, 30, 7, 0, tzinfo=UTC), "slot:2026-03-30T09:00"),
        (dt.datetime(2026, 3, 31, 7, 0, tzinfo=UTC), "slot:2026-03-31T09:00"),
    ]
    # Every send was a different impulse, in rotation order, each with its own transaction ID.
    library = app.state.get(ImpulsesState).library
    titles = [body.split("\n", 1)[0] for _, _, body in app.shell.calls]
    assert titles == [impulse.title for impulse in library.impulses[:4]]
    assert len({txn for _, txn, _ in app.shell.calls}) == 4


async def test_loop_skips_public_holidays_of_the_configured_state(make_app: Any) -> None:
    app = await make_app("Mo-Fr 09:00", berlin(2026, 12, 23, 12, 0), holidays_state="nw")
    start = dt.datetime(2026, 12, 24, 7, 0, tzinfo=UTC)
    posted = await run_ticks(app, start, start + dt.timedelta(days=5), dt.timedelta(hours=1))
    # 25 Dec (Friday) is a holiday; 26 Dec is a Saturday anyway.
    assert [key for _, key in posted] == ["slot:2026-12-24T09:00", "slot:2026-12-28T09:00"]


async def test_loop_catches_up_a_recent_slot_once_and_skips_old_ones(
    make_app: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app = await make_app("täglich 09:00", berlin(2026, 6, 1, 8, 0), catch_up="2h")
    # Down from before the 1 June slot until 10:30: the 09:00 slot is 90 min old → posted.
    app.clock = berlin(2026, 6, 1, 10, 30)
    assert await run_due(app, app.clock) == 1  # type: ignore[arg-type]
    assert await run_due(app, app.clock + dt.timedelta(seconds=1)) == 0  # type: ignore[arg-type]
    # Down until 4 June 11:30: 2 and 3 June are long gone, 4 June is 2.5 h old → all skipped.
    app.clock = berlin(2026, 6, 4, 11, 30)
    assert await run_due(app, app.clock) == 0  # type: ignore[arg-type]
    assert "2026-06-04T09:00" in caplog.text and "skipped" in caplog.text
    sub = await app.store.get_impulse_subscription(ROOM)
    assert sub is not None and from_ms(sub.next_due_ms or 0) == berlin(2026, 6, 5, 9, 0)


async def test_crash_between_send_and_record_resends_the_same_impulse_and_txn(
    make_app: Any,
) -> None:
    app = await make_app("täglich 09:00", berlin(2026, 6, 1, 8, 0))
    real_mark = app.store.mark_impulse_posted

    async def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("killed between send and record")

    app.store.mark_impulse_posted = crash
    slot = berlin(2026, 6, 1, 9, 0)
    assert await run_due(app, slot) == 0  # sent, but the record step "crashed"
    app.store.mark_impulse_posted = real_mark  # "restart"
    assert await run_due(app, slot + dt.timedelta(seconds=1)) == 1  # the open claim is re-sent
    (first, second) = app.shell.calls
    assert first == second  # same room, same txn ID, same impulse
    assert len(app.shell.events) == 1  # the homeserver deduplicated it: one message
    post = await app.store.get_impulse_post(ROOM, "slot:2026-06-01T09:00")
    assert post is not None and post.status == "posted"
    assert post.event_id == app.shell.events[first[1]]
    assert await run_due(app, slot + dt.timedelta(seconds=2)) == 0


async def test_stale_open_claim_is_given_up_not_posted_late(make_app: Any) -> None:
    app = await make_app("täglich 09:00", berlin(2026, 6, 1, 8, 0), catch_up="2h")
    library = app.state.get(ImpulsesState).library
    slot = berlin(2026, 6, 1, 9, 0)
    await app.store.claim_impulse(
        ROOM, "slot:2026-06-01T09:00", "slot", library.impulses[0].id, to_ms(slot), to_ms(slot)
    )
    assert await run_due(app, slot + dt.timedelta(hours=3)) == 0
    post = await app.store.get_impulse_post(ROOM, "slot:2026-06-01T09:00")
    assert post is not None and post.status == "abandoned" and not app.shell.calls
    # An abandoned claim does not count as seen: the first impulse comes next.
    assert await app.store.impulse_history(ROOM) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bis 24.12.2026", dt.date(2026, 12, 24)),
        ("24.12.26", dt.date(2026, 12, 24)),
        ("bis 6.1.", dt.date(2027, 1, 6)),  # next occurrence
        ("until 2027-01-06", dt.date(2027, 1, 6)),
        ("30.11.", dt.date(2026, 11, 30)),
        ("31.02.2027", None),
        ("morgen", None),
        ("bis 24.12. und 31.12.", None),
    ],
)
def test_pause_dates_as_people_write_them(text: str, expected: dt.date | None) -> None:
    assert parse_pause_date(text, dt.date(2026, 11, 24)) == expected


async def test_many_rooms_at_the_same_slot_are_paced(make_app: Any) -> None:
    rooms = tuple(f"!raum{i}:example.org" for i in range(4))
    app = await make_app("täglich 09:00", berlin(2026, 6, 1, 8, 0), rooms, send_interval_ms=40)
    started = time.monotonic()
    assert await run_due(app, berlin(2026, 6, 1, 9, 0)) == 5
    assert time.monotonic() - started >= 4 * 0.04  # a pause between consecutive sends
    assert {room for room, _, _ in app.shell.calls} == {ROOM, *rooms}


async def test_subscription_of_a_room_the_bot_left_is_dropped(make_app: Any) -> None:
    app = await make_app("täglich 09:00", berlin(2026, 6, 1, 8, 0))
    await app.store.forget_room(ROOM)
    assert await run_due(app, berlin(2026, 6, 1, 9, 0)) == 0
    assert await app.store.get_impulse_subscription(ROOM) is None
    assert not app.shell.calls


def test_topics_match_case_and_umlaut_insensitively(library: ImpulseLibrary) -> None:
    chosen, unknown = resolve_topics(["Führung", " DATEN ", "Kochen"], library)
    assert chosen == ("fuehrung", "daten")
    assert unknown == ["Kochen"]
