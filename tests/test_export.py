"""Streaming export: what a user sees when opening the files in Excel or reading them as data."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot.features.export.cells import Column, neutralise_formula
from bot.features.export.feedback_rows import (
    FEEDBACK_COLUMNS,
    FEEDBACK_KINDS,
    feedback_columns,
    feedback_export_rows,
    write_feedback_export,
)
from bot.features.export.options import ExportError
from bot.features.export.table import FORMATS, write_export
from bot.features.export.window import export_window
from bot.features.export.xlsx import XLSX_DATETIME_FORMAT
from bot.features.feedback.summary import iso_week, summarise_feedback
from bot.privacy import pseudonym
from bot.text.i18n import Texts

BERLIN = ZoneInfo("Europe/Berlin")
KEY = b"test-key-0123456789abcdef"


def ms(*args: int) -> int:
    """Unix milliseconds of a UTC wall time."""
    return int(dt.datetime(*args, tzinfo=dt.UTC).timestamp() * 1000)


COLUMNS = (
    Column("id", "Nr."),
    Column("at", "Zeitpunkt", timestamp=True),
    Column("text", "Text", width=60),
    Column("rating", "Bewertung"),
)

TRICKY_TEXTS = [
    "Semikolon; mitten drin",
    'Sie sagte "Hallo" und ging',
    "Zeile 1\nZeile 2\r\nZeile 3",
    "Emoji 👍🏽 und Umlaute äöüß ÄÖÜ",
    "",
    "  führende Leerzeichen",
    'Ende mit Anführungszeichen"',
]
FORMULA_TEXTS = [
    "=1+1",
    "+49 30 123",
    "-Punkt",
    "@SUMME(A1)",
    "\tTab",
    "\rCR",
    '=HYPERLINK("x";"y")',
]


def export_bytes(rows: list[dict[str, object]], fmt: str, columns=COLUMNS) -> tuple[bytes, int]:
    out = io.BytesIO()
    count = write_export(iter(rows), columns, fmt, out, tz=BERLIN)  # type: ignore[arg-type]
    return out.getvalue(), count


def read_csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))


# --- CSV -----------------------------------------------------------------------------------


def test_csv_round_trips_tricky_text_unchanged() -> None:
    rows = [{"id": i, "text": text} for i, text in enumerate(TRICKY_TEXTS)]
    data, count = export_bytes(rows, "csv")
    parsed = read_csv(data)
    assert count == len(TRICKY_TEXTS)
    assert parsed[0] == ["Nr.", "Zeitpunkt", "Text", "Bewertung"]
    assert [r[2] for r in parsed[1:]] == TRICKY_TEXTS
    assert [r[0] for r in parsed[1:]] == [str(i) for i in range(len(TRICKY_TEXTS))]


def test_csv_neutralises_formulas_but_keeps_the_text() -> None:
    rows = [{"id": i, "text": text} for i, text in enumerate(FORMULA_TEXTS)]
    parsed = read_csv(export_bytes(rows, "csv")[0])
    assert [r[2] for r in parsed[1:]] == ["'" + text for text in FORMULA_TEXTS]


def test_csv_is_excel_friendly_bom_semicolon_crlf() -> None:
    data, _ = export_bytes([{"id": 1, "text": "a\nb"}, {"id": 2, "text": "c"}], "csv")
    assert data.startswith(b"\xef\xbb\xbfNr.;Zeitpunkt;Text;Bewertung\r\n")
    assert data.endswith(b"\r\n")
    # Record ends are CRLF; the line break inside the quoted cell stays as written.
    assert data.count(b"\r\n") == 3
    assert b'"a\nb"' in data


def test_csv_numbers_stay_numbers_and_empty_values_are_empty() -> None:
    rows = [
        {"id": 1, "rating": -3, "text": "-3"},
        {"id": 2, "rating": 4.5, "text": None},
        {"id": 3},
    ]
    parsed = read_csv(export_bytes(rows, "csv")[0])
    assert parsed[1] == ["1", "", "'-3", "-3"]  # a negative number is no formula; text "-3" is
    assert parsed[2] == ["2", "", "", "4,5"]  # decimal comma for German Excel
    assert parsed[3] == ["3", "", "", ""]


def test_csv_timestamps_are_iso_in_configured_zone_across_dst() -> None:
    rows = [
        {"id": 1, "at": ms(2026, 11, 24, 8, 0)},  # winter: UTC+1
        {"id": 2, "at": ms(2026, 7, 1, 8, 0, 30)},  # summer: UTC+2
        {"id": 3, "at": dt.datetime(2026, 11, 24, 12, 0, tzinfo=ZoneInfo("America/New_York"))},
    ]
    parsed = read_csv(export_bytes(rows, "csv")[0])
    assert [r[1] for r in parsed[1:]] == [
        "2026-11-24T09:00:00+01:00",
        "2026-07-01T10:00:30+02:00",
        "2026-11-24T18:00:00+01:00",
    ]


def test_naive_datetime_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="naive"):
        export_bytes([{"id": 1, "at": dt.datetime(2026, 11, 24, 9, 0)}], "csv")


def test_integers_outside_timestamp_columns_stay_integers() -> None:
    parsed = read_csv(export_bytes([{"id": ms(2026, 1, 1, 0, 0)}], "csv")[0])
    assert parsed[1][0] == str(ms(2026, 1, 1, 0, 0))


@pytest.mark.parametrize("fmt", ["csv", "json", "jsonl"])
def test_text_formats_stream_while_rows_are_still_being_produced(fmt: str) -> None:
    out = io.BytesIO()
    written_before_end: list[int] = []

    def rows() -> Iterator[dict[str, object]]:
        for i in range(3000):
            yield {"id": i, "text": "x" * 40}
        written_before_end.append(len(out.getvalue()))

    count = write_export(rows(), COLUMNS, fmt, out, tz=BERLIN)  # type: ignore[arg-type]
    assert count == 3000
    # Most of the output reached the stream before the last row was produced.
    assert written_before_end[0] > len(out.getvalue()) // 2


def test_output_stream_stays_open_for_the_caller() -> None:
    out = io.BytesIO()
    write_export(iter([{"id": 1}]), COLUMNS, "csv", out, tz=BERLIN)
    out.write(b"more")  # would raise if the export had closed it
    assert out.getvalue().endswith(b"more")


def test_unknown_format_and_duplicate_columns_are_rejected() -> None:
    with pytest.raises(ValueError, match="format"):
        write_export([], COLUMNS, "pdf", io.BytesIO())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="duplicate"):
        write_export([], (Column("a", "A"), Column("a", "B")), "csv", io.BytesIO())


# --- JSON / JSONL --------------------------------------------------------------------------


def test_json_round_trip_with_iso_timestamps_and_raw_text() -> None:
    rows = [
        {"id": 1, "at": ms(2026, 11, 24, 8, 0), "text": "=1+1 äöü 👍", "rating": 5},
        {"id": 2, "text": 'mit "Zitat"\nund Umbruch'},
    ]
    data, count = export_bytes(rows, "json")
    assert count == 2
    assert "äöü 👍".encode() in data  # ensure_ascii=False: readable UTF-8
    assert json.loads(data) == [
        {"id": 1, "at": "2026-11-24T09:00:00+01:00", "text": "=1+1 äöü 👍", "rating": 5},
        {"id": 2, "at": None, "text": 'mit "Zitat"\nund Umbruch', "rating": None},
    ]


def test_json_of_no_rows_is_an_empty_array() -> None:
    data, count = export_bytes([], "json")
    assert (json.loads(data), count) == ([], 0)


def test_jsonl_has_one_object_per_line() -> None:
    rows = [{"id": i, "text": f"Zeile\n{i}"} for i in range(3)]
    data, count = export_bytes(rows, "jsonl")
    lines = data.decode("utf-8").splitlines()
    assert count == len(lines) == 3
    assert [json.loads(line)["text"] for line in lines] == [f"Zeile\n{i}" for i in range(3)]


# --- XLSX ----------------------------------------------------------------------------------


def load_sheet(data: bytes):  # type: ignore[no-untyped-def]
    workbook = load_workbook(io.BytesIO(data))
    return workbook.worksheets[0]


def test_xlsx_has_bold_frozen_filtered_header_and_widths() -> None:
    rows = [{"id": i, "text": f"Text {i}"} for i in range(5)]
    data, count = export_bytes(rows, "xlsx")
    sheet = load_sheet(data)
    assert count == 5
    assert [c.value for c in sheet[1]] == ["Nr.", "Zeitpunkt", "Text", "Bewertung"]
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:D6"
    assert sheet.column_dimensions["C"].width == 60
    assert sheet.column_dimensions["A"].width < sheet.column_dimensions["C"].width


def test_xlsx_cells_keep_types_local_datetimes_and_guard_formulas() -> None:
    rows = [
        {"id": 1, "at": ms(2026, 11, 24, 8, 0), "text": "=SUMME(A1:A3)", "rating": 4},
        {"id": 2, "at": ms(2026, 7, 1, 8, 0), "text": "#N/A", "rating": None},
        {"id": 3, "text": "Steuer\x07zeichen; äöü 👍\nZeile 2"},
    ]
    sheet = load_sheet(export_bytes(rows, "xlsx")[0])
    first, second, third = (list(r) for r in sheet.iter_rows(min_row=2))
    assert first[1].is_date
    assert first[1].value == dt.datetime(2026, 11, 24, 9, 0)  # local wall time, Berlin
    assert first[1].number_format == XLSX_DATETIME_FORMAT
    assert second[1].value == dt.datetime(2026, 7, 1, 10, 0)
    assert (first[2].value, first[2].data_type) == ("'=SUMME(A1:A3)", "s")
    assert (first[3].value, first[3].data_type) == (4, "n")
    assert (second[2].value, second[2].data_type) == ("#N/A", "s")
    assert second[3].value is None
    # A control character would make the file unreadable; it is replaced, the rest kept.
    assert third[2].value == "Steuer\ufffdzeichen; äöü 👍\nZeile 2"


def test_xlsx_without_rows_still_has_header_and_filter() -> None:
    data, count = export_bytes([], "xlsx")
    sheet = load_sheet(data)
    assert count == 0
    assert sheet.max_row == 1
    assert sheet.auto_filter.ref == "A1:D1"


def test_xlsx_refuses_text_longer_than_an_excel_cell() -> None:
    with pytest.raises(ExportError):
        export_bytes([{"id": 1, "text": "x" * 32_768}], "xlsx")


# --- feedback contract ---------------------------------------------------------------------


def test_feedback_columns_follow_the_contract_with_german_headers() -> None:
    keys = [c.key for c in FEEDBACK_COLUMNS]
    assert keys == [
        "id",
        "timestamp",
        "room_name",
        "room_id",
        "kind",
        "reference",
        "rating",
        "text",
        "author",
    ]
    german = Texts("de")
    assert [c.header for c in FEEDBACK_COLUMNS] == [
        german(f"feedback.columns.{k}").plain for k in keys
    ]
    assert [c.key for c in FEEDBACK_COLUMNS if c.timestamp] == ["timestamp"]
    english = feedback_columns("en")
    assert [c.key for c in english] == keys
    assert english[1].header != FEEDBACK_COLUMNS[1].header


def test_feedback_kinds_have_labels_in_both_languages() -> None:
    for lang in ("de", "en"):
        labels = [Texts(lang)(f"feedback.kinds.{kind}").plain for kind in FEEDBACK_KINDS]
        assert all(labels) and len(set(labels)) == len(labels)


def feedback_record(**overrides: object) -> dict[str, object]:
    record: dict[str, object] = {
        "id": 7,
        "timestamp": ms(2026, 11, 24, 8, 0),
        "room_id": "!abc:example.org",
        "room_name": "#fachaustausch:example.org",
        "kind": "feedback",
        "reference": "impuls:03-lean-coffee",
        "rating": 4,
        "text": "Sehr hilfreich",
        "user_id": "@anna:example.org",
    }
    record.update(overrides)
    return record


def test_feedback_rows_pseudonymise_by_default() -> None:
    (row,) = feedback_export_rows([feedback_record()], key=KEY, identified=False)
    assert row["author"] == pseudonym("@anna:example.org", KEY)
    assert "@anna" not in json.dumps(row)
    assert row["reference"] == "impuls:03-lean-coffee"


def test_feedback_rows_show_real_id_only_when_identified_and_nothing_when_anonymous() -> None:
    records = [
        feedback_record(),
        feedback_record(anonymous=True),
        feedback_record(user_id=None),
        feedback_record(room_name=None),
    ]
    rows = list(feedback_export_rows(records, key=KEY, identified=True))
    assert [r["author"] for r in rows] == ["@anna:example.org", "", "", "@anna:example.org"]
    assert rows[3]["room_name"] == ""


def test_full_feedback_export_to_csv() -> None:
    out = io.BytesIO()
    rows = feedback_export_rows(
        [feedback_record(text="=cmd|' /C calc'!A0")], key=KEY, identified=False
    )
    assert write_export(rows, FEEDBACK_COLUMNS, "csv", out, tz=BERLIN) == 1
    header, row = read_csv(out.getvalue())
    assert header[:2] == [FEEDBACK_COLUMNS[0].header, FEEDBACK_COLUMNS[1].header]
    assert row[1] == "2026-11-24T09:00:00+01:00"
    assert row[7] == "'=cmd|' /C calc'!A0"
    assert row[8].startswith("p-")


def test_feedback_export_in_one_call_names_the_sheet() -> None:
    out = io.BytesIO()
    records = [feedback_record(), feedback_record(id=8, anonymous=True)]
    count = write_feedback_export(records, "xlsx", out, key=KEY, identified=False, tz=BERLIN)
    workbook = load_workbook(io.BytesIO(out.getvalue()))
    sheet = workbook["Rückmeldungen"]
    assert count == 2
    assert [c.value for c in sheet[1]][-1] == "Person"
    assert [sheet.cell(row=r, column=9).value for r in (2, 3)] == [
        pseudonym("@anna:example.org", KEY),
        None,
    ]


def test_every_format_counts_the_same_rows() -> None:
    records = [feedback_record(id=i) for i in range(4)]
    for fmt in FORMATS:
        rows = feedback_export_rows(records, key=KEY, identified=False)
        assert write_export(rows, FEEDBACK_COLUMNS, fmt, io.BytesIO(), tz=BERLIN) == 4  # type: ignore[arg-type]


def test_neutralise_formula_leaves_harmless_text_alone() -> None:
    assert neutralise_formula("Gut gemacht") == "Gut gemacht"
    assert neutralise_formula("a=b") == "a=b"
    assert neutralise_formula("") == ""


# --- --since / --until ---------------------------------------------------------------------


def test_export_window_covers_whole_local_days() -> None:
    start, end = export_window("2026-03-29", "2026-03-29", BERLIN)  # DST starts that day
    assert start == int(dt.datetime(2026, 3, 29, tzinfo=BERLIN).timestamp() * 1000)
    assert end is not None and start is not None
    assert (end - start) == 23 * 3600 * 1000  # the day has only 23 hours
    assert export_window(None, None, BERLIN) == (None, None)
    assert export_window("2026-01-01", None, BERLIN)[1] is None


@pytest.mark.parametrize("value", ["24.11.2026", "2026-13-01", "gestern", "20261124"])
def test_export_window_rejects_malformed_dates(value: str) -> None:
    with pytest.raises(ExportError) as info:
        export_window(value, None, BERLIN)
    assert info.value.key == "feedback.export.bad_date"
    assert info.value.params == {"value": value}


def test_export_window_rejects_reversed_range() -> None:
    with pytest.raises(ExportError) as info:
        export_window("2026-12-01", "2026-11-01", BERLIN)
    assert info.value.key == "feedback.export.range_reversed"


# --- !feedback übersicht ----------------------------------------------------------------------


def test_iso_week_uses_local_time_across_the_week_boundary() -> None:
    # Sunday 23:30 UTC is already Monday 00:30 in Berlin: the next ISO week.
    sunday_night = ms(2026, 11, 29, 23, 30)
    assert iso_week(sunday_night, dt.UTC) == "2026-W48"
    assert iso_week(sunday_night, BERLIN) == "2026-W49"
    assert iso_week(ms(2027, 1, 1, 12), BERLIN) == "2026-W53"  # ISO year, not calendar year


def test_summary_counts_weeks_rooms_ratings_and_reactions() -> None:
    records = [
        {"created_at": ms(2026, 11, 24, 9), "room_id": "!a", "kind": "feedback", "rating": 4},
        {"created_at": ms(2026, 11, 25, 9), "room_id": "!b", "kind": "feedback", "rating": 5},
        {"created_at": ms(2026, 11, 25, 10), "room_id": "!a", "kind": "feedback", "rating": None},
        {"created_at": ms(2026, 11, 17, 9), "room_id": "!a", "kind": "reaction", "reference": "x"},
        {"created_at": ms(2026, 11, 24, 9), "room_id": "!a", "kind": "reaction", "reference": "y"},
        {"created_at": ms(2026, 11, 24, 9), "room_id": "!b", "kind": "reaction", "reference": "y"},
    ]
    summary = summarise_feedback(reversed(records), BERLIN)
    assert summary.total == 6
    assert summary.by_kind == {"feedback": 3, "reaction": 3}
    assert list(summary.by_week_room) == ["2026-W47", "2026-W48"]  # chronological
    assert summary.by_week_room["2026-W48"] == {"!a": 3, "!b": 2}
    assert summary.by_room == {"!a": 4, "!b": 2}
    assert summary.average_rating == pytest.approx(4.5)
    assert summary.top_references(1) == [("y", 2)]
    assert summary.top_references() == [("y", 2), ("x", 1)]


def test_summary_of_nothing_has_no_average() -> None:
    summary = summarise_feedback([], BERLIN)
    assert summary.total == 0 and summary.average_rating is None
    assert summary.top_references() == []


def test_overview_window_starts_on_a_local_monday_eight_weeks_back() -> None:
    from bot.features.feedback.overview import overview_start

    # Monday 2026-11-30 00:30 in Berlin is still Sunday in UTC.
    now = dt.datetime(2026, 11, 29, 23, 30, tzinfo=dt.UTC)
    start = overview_start(now, BERLIN)
    assert start == dt.datetime(2026, 10, 12, tzinfo=BERLIN)
    assert start.weekday() == 0
    assert overview_start(now, BERLIN, weeks=1) == dt.datetime(2026, 11, 30, tzinfo=BERLIN)
