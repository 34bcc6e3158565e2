"""Minimum group = distinct people over the reporting period (issue 14), against a real store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.features.insights.report import load_report
from bot.store import Store
from bot.store.insights import SearchLogRecord

BERLIN = dt.timezone(dt.timedelta(hours=1))
DAYS = [dt.date(2026, 11, 20), dt.date(2026, 11, 21), dt.date(2026, 11, 22)]


@pytest.fixture
async def store(tmp_path: Path):
    async with Store(tmp_path / "db.sqlite") as opened:
        yield opened


async def search(store: Store, user: str, day: dt.date, number: int) -> None:
    """One unanswered search for "Drohnen", as bot/features/search/state.py logs it."""
    record = SearchLogRecord(day.isoformat(), "drohn", "drohnen", "", 0, False, None, f"{number}")
    await store.count_people("search", ["drohn"], user, day)
    await store.log_search(record, [])


async def report(store: Store, since: str = "2026-11-01", until: str = "2026-11-30"):
    return await load_report(store, tz=BERLIN, min_group=3, since=since, until=until)


async def test_one_person_three_days_same_search_is_not_shown(store: Store) -> None:
    for number, day in enumerate(DAYS):
        await search(store, "@a:x", day, number)
    shown = await report(store)
    assert shown.total_searches == 3
    assert shown.gaps == () and shown.hidden_groups == 1


async def test_three_people_are_shown(store: Store) -> None:
    for number, (user, day) in enumerate(zip(("@a:x", "@b:x", "@c:x"), DAYS, strict=True)):
        await search(store, user, day, number)
    assert [(g.label, g.count) for g in (await report(store)).gaps] == [("drohnen", 3)]
    # A period that holds only two of the three people hides the topic again.
    assert (await report(store, since="2026-11-21")).gaps == ()


async def test_a_finished_month_keeps_numbers_only(store: Store) -> None:
    for number, (user, day) in enumerate(zip(("@a:x", "@b:x", "@c:x"), DAYS, strict=True)):
        await search(store, user, day, number)
    assert await store.aggregate_people_before("2026-12") == 3
    assert await store.fetchall("SELECT * FROM group_people") == []
    keys = await store.fetchall("SELECT key FROM kv WHERE key LIKE 'insights:people_key:%'")
    assert keys == []  # without the month's key no hash could ever be recomputed
    assert [(g.label, g.count) for g in (await report(store)).gaps] == [("drohnen", 3)]
    # Part of a finished month: the number is for the whole month, so it does not count.
    assert (await report(store, since="2026-11-21")).gaps == ()


async def test_the_same_person_in_two_months_is_never_counted_twice(store: Store) -> None:
    await search(store, "@a:x", dt.date(2026, 10, 30), 1)
    await search(store, "@b:x", dt.date(2026, 10, 31), 2)
    await search(store, "@a:x", dt.date(2026, 11, 1), 3)
    assert (await report(store, since="2026-10-01")).gaps == ()


async def test_people_hashes_differ_per_topic(store: Store) -> None:
    await store.count_people("search", ["drohn", "ki"], "@a:x", DAYS[0])
    rows = await store.fetchall("SELECT topic, person FROM group_people ORDER BY topic")
    assert [r[0] for r in rows] == ["drohn", "ki"] and rows[0][1] != rows[1][1]
    assert all("@a:x" not in str(r[1]) for r in rows)


async def test_no_insights_table_has_a_user_or_room_column(store: Store) -> None:
    for table in ("search_log", "search_hits", "group_people", "group_sizes"):
        columns = {r[1] for r in await store.fetchall(f"PRAGMA table_info({table})")}
        assert columns and not columns & {"user_id", "sender", "room_id", "event_id"}, table
