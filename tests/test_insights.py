"""Gap insight: grouping by stem, the minimum-group rule, the anonymous search log, export."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import Config
from bot.features.catalogue.load import load_catalogue
from bot.features.export import gaps as gaps_export
from bot.features.export.options import ExportOptions
from bot.features.insights.periods import (
    PeriodError,
    digest_due,
    iso_week,
    parse_period,
    period_start,
)
from bot.features.insights.record import (
    dedupe_key,
    query_words,
    search_record,
    topic_key,
    wish_stems,
)
from bot.features.insights.render import gaps_chart, render_report
from bot.features.insights.report import build_report, load_report, new_gaps, rising_topics
from bot.features.search import SearchIndex
from bot.store import Store
from bot.store.feedback import FeedbackRecord
from bot.store.insights import SearchLogRecord, TopicStatRow
from bot.text.i18n import Texts

REPO = Path(__file__).resolve().parent.parent
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return SearchIndex.build(load_catalogue(REPO / "content"))


@pytest.fixture
async def store():
    async with Store(":memory:") as opened:
        yield opened


def row(
    topic: str,
    searches: int,
    gaps: int = 0,
    opened: int = 0,
    words: str = "",
    people: int | None = None,
) -> TopicStatRow:
    # By default every search is another person; the people tests set it explicitly.
    people = searches if people is None else people
    return TopicStatRow(topic, words or topic, searches, gaps, opened, 0, people)


# --- grouping ------------------------------------------------------------------------------------


def test_word_order_and_inflection_land_in_one_topic(index: SearchIndex) -> None:
    first = search_record(index.search("Drohnen Einsatz"), "2026-11-23")
    second = search_record(index.search("Einsatz von Drohne"), "2026-11-23")
    assert first.topic == second.topic == topic_key(["einsatz", "drohn"])
    assert first.relaxed  # only partial matches: counts as a gap


def test_record_keeps_normalised_words_and_filters_not_the_raw_text(index: SearchIndex) -> None:
    record = search_record(index.search("Gibt es Angebote zu DROHNEN? typ:Weiterbildung"), "d")
    assert record.words == "drohnen"
    assert record.filters == "typ:weiterbildung"
    assert "Gibt" not in record.words and "?" not in record.words


def test_variants_are_merged_and_labelled_by_the_most_common_wording() -> None:
    # The store gives every wording of a topic the topic's figure of people.
    stats = [
        row("drohn", 2, 2, words="drohnen", people=3),
        row("drohn", 1, 1, words="drohne", people=3),
    ]
    report = build_report(stats, min_group=3)
    assert [(g.label, g.count) for g in report.gaps] == [("drohnen", 3)]


# --- minimum group -------------------------------------------------------------------------------


def test_many_searches_by_too_few_people_stay_hidden() -> None:
    report = build_report([row("drohn", 9, 9, people=2)], min_group=3)
    assert report.gaps == () and report.unclicked == () and report.hidden_groups == 1
    assert rising_topics([row("drohn", 9, 9, people=2)], [], min_group=3) == []
    assert [g.count for g in build_report([row("drohn", 9, 9, people=3)]).gaps] == [9]


def test_topic_searched_by_two_is_hidden_by_three_shown() -> None:
    stats = [row("drohn", 2, 2), row("katastrophenschutz", 3, 3)]
    report = build_report(stats, min_group=3)
    assert [g.topic for g in report.gaps] == ["katastrophenschutz"]
    assert report.hidden_groups == 1
    text = render_report(report, Texts("de"), "letzte 30 Tage").plain
    assert "katastrophenschutz" in text and "drohn" not in text


def test_wishes_count_distinct_people_per_stem() -> None:
    wishes = ["Fortbildung zu Drohnen", "Drohnen bitte!", "Drohne im Katastrophenschutz"]
    people = {"drohn": 3, "katastrophenschutz": 1}
    report = build_report([], wishes, wish_people=people, min_group=3)
    assert [(w.label, w.count) for w in report.wishes] == [("drohnen", 3)]
    assert build_report([], wishes, wish_people={"drohn": 2}, min_group=3).wishes == ()
    assert build_report([], wishes, min_group=3).wishes == ()


def test_found_but_never_opened_topics() -> None:
    stats = [row("beteil", 5, 0, opened=0), row("ki", 4, 0, opened=1), row("foo", 2, 0)]
    report = build_report(stats, min_group=3)
    assert [(u.topic, u.count) for u in report.unclicked] == [("beteil", 5)]


def test_rising_and_new_gaps() -> None:
    current = [row("drohn", 6, 6), row("beteil", 4, 0), row("ki", 3, 0)]
    previous = [row("beteil", 4, 0), row("ki", 1, 0)]
    rising = rising_topics(current, previous, min_group=3)
    assert [(r.topic, r.previous) for r in rising] == [("drohn", 0), ("ki", 1)]
    report = build_report([*current, row("alt", 3, 3)], min_group=3)
    assert [g.topic for g in new_gaps(report, [row("alt", 2, 1)])] == ["drohn"]


# --- periods -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("", 30),
        ("7", 7),
        ("4 Wochen", 28),
        ("2w", 14),
        ("Quartal", 91),
        ("jahr", 365),
        ("alle", None),
        ("2m", 60),  # "m" is a month in a report period, as it always was
        ("woche", 7),
        ("14 Tage", 14),  # days and weeks as the shared duration parser reads them
        ("1w 2d", 9),
        ("48h", 2),
    ],
)
def test_periods(text: str, days: int | None) -> None:
    assert parse_period(text) == days


@pytest.mark.parametrize(
    "text", ["gestern", "0", "99999", "3 lichtjahre", "1,5 wochen", "36h", "30 min", "٣٠"]
)
def test_bad_periods(text: str) -> None:
    with pytest.raises(PeriodError):
        parse_period(text)


def test_period_start_includes_today() -> None:
    assert period_start(dt.date(2026, 11, 24), 7) == "2026-11-18"


# --- the store: no identifiers, dedupe -----------------------------------------------------------


async def test_search_log_schema_has_no_user_room_or_time_of_day(store: Store) -> None:
    for table in ("search_log", "search_hits"):
        names = {r[1] for r in await store.fetchall(f"PRAGMA table_info({table})")}
        assert names, table
        forbidden = {"user", "sender", "room_id", "event", "created_at", "timestamp", "ts"}
        assert not {n for n in names if any(f in n for f in forbidden)}, names
    assert "room_id" not in SearchLogRecord.__dataclass_fields__


async def test_same_person_same_day_counts_once_and_paging_links(store: Store) -> None:
    salt = await store.insights_salt()
    assert salt == await store.insights_salt()  # stable per database
    key = dedupe_key(salt, "@a:x", "2026-11-23", "drohn", "")
    record = SearchLogRecord("2026-11-23", "drohn", "drohnen", "", 0, False, None, key)
    first = await store.log_search(record, [])
    again = await store.log_search(record, [])
    other = dedupe_key(salt, "@b:x", "2026-11-23", "drohn", "")
    third = await store.log_search(SearchLogRecord(**{**record.__dict__, "dedupe": other}), ["x"])
    assert first == again and third != first
    assert first is not None and third is not None
    await store.mark_search_paged(first)
    await store.mark_search_opened(third)
    [stats] = await store.search_topic_stats("2026-11-01", "2026-11-30")
    assert (stats.searches, stats.gaps, stats.paged, stats.opened) == (2, 2, 1, 1)
    assert await store.shown_offering_ids("2026-11-01") == {"x"}
    assert await store.clear_search_dedupe_before("2026-11-24") == 2
    rows = await store.fetchall("SELECT dedupe FROM search_log")
    assert [r[0] for r in rows] == [None, None]


async def test_report_from_store_respects_period_and_min_group(store: Store) -> None:
    for number, day in enumerate(["2026-10-01", "2026-11-20", "2026-11-21", "2026-11-22"]):
        await store.log_search(
            SearchLogRecord(day, "drohn", "drohnen", "", 0, False, None, f"k{number}"), []
        )
        await store.count_people("search", ["drohn"], f"@p{number}:x", dt.date.fromisoformat(day))
    for person in ("a", "b", "c"):
        day = dt.date(2026, 11, 21)
        await store.count_people(
            "wish", wish_stems("Drohnen Katastrophenschutz"), f"@{person}:x", day
        )
        await store.add_feedback(
            FeedbackRecord(
                int(dt.datetime(2026, 11, 21, 12, tzinfo=BERLIN).timestamp() * 1000),
                "!r:x",
                "wish",
                "Drohnen im Katastrophenschutz",
                f"$wish-{person}",
                f"@{person}:x",
            )
        )
    recent = await load_report(
        store, tz=BERLIN, min_group=3, catalogue_ids=["a", "b"], since="2026-11-01"
    )
    assert [(g.label, g.count) for g in recent.gaps] == [("drohnen", 3)]
    assert {w.label for w in recent.wishes} == {"drohnen", "katastrophenschutz"}
    assert recent.never_found == ("a", "b")
    strict = await load_report(store, tz=BERLIN, min_group=4, since="2026-11-01")
    assert strict.gaps == () and strict.wishes == ()


# --- output --------------------------------------------------------------------------------------


def test_report_text_escapes_labels_and_names_the_rule() -> None:
    report = build_report([row("x", 3, 3, words="<b>x</b>")], min_group=3)
    message = render_report(report, Texts("de"), "letzte 30 Tage", "!")
    assert "&lt;b&gt;x" in message.html and "<b>x</b>" not in message.html
    assert "mindestens 3" in message.plain


def test_chart_is_a_png() -> None:
    report = build_report([row("drohn", 5, 5, words="drohnen")], min_group=3)
    data = gaps_chart(report.gaps, "Lücken", "Suchen")
    assert data.startswith(b"\x89PNG") and len(data) > 1000


def test_digest_is_due_from_monday_eight() -> None:
    assert not digest_due(dt.datetime(2026, 11, 23, 7, 59, tzinfo=BERLIN))
    assert digest_due(dt.datetime(2026, 11, 23, 8, 0, tzinfo=BERLIN))
    assert digest_due(dt.datetime(2026, 11, 29, 23, 0, tzinfo=BERLIN))
    assert iso_week(dt.datetime(2026, 11, 23, tzinfo=BERLIN)) == "2026-W48"


def _config(tmp_path: Path) -> Config:
    return Config.model_validate(
        {
            "matrix": {"homeserver": "http://localhost", "user_id": "@b:x", "password": "p"},
            "storage": {"database": str(tmp_path / "db.sqlite")},
            "content": {"directory": str(REPO / "content")},
        }
    )


async def test_export_gaps_json_csv_png_and_refuses_room(store: Store, tmp_path: Path) -> None:
    for number in range(3):
        await store.log_search(
            SearchLogRecord("2026-11-20", "drohn", "drohnen", "", 0, False, None, f"k{number}"), []
        )
        await store.count_people("search", ["drohn"], f"@p{number}:x", dt.date(2026, 11, 20))
    config = _config(tmp_path)
    out = io.BytesIO()
    count = await gaps_export.export(store, config, ExportOptions("json"), out)
    data = json.loads(out.getvalue())
    assert data[0]["topic"] == "drohnen" and data[0]["count"] == 3
    shipped = len(load_catalogue(REPO / "content").entries)
    assert count == 1 + shipped  # one gap, and no catalogue entry was ever shown
    csv_out = io.BytesIO()
    await gaps_export.export(store, config, ExportOptions("csv", since="2026-11-21"), csv_out)
    assert "drohnen" not in csv_out.getvalue().decode("utf-8-sig")
    png = io.BytesIO()
    await gaps_export.export(store, config, ExportOptions("png"), png)
    assert png.getvalue().startswith(b"\x89PNG")
    with pytest.raises(gaps_export.ExportFailed):
        await gaps_export.export(store, config, ExportOptions("csv", room_id="!r:x"), io.BytesIO())


def test_query_words_keep_umlauts_but_drop_fillers_and_case() -> None:
    assert query_words("Gibt es Angebote zur Führung? Straße!") == ["führung", "straße"]
    assert query_words("Angebote") == ["angebote"]  # only fillers: keep them rather than nothing
