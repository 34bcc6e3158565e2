"""``impulsbot export feedback`` against a real database file: what the initiative team gets."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from openpyxl import load_workbook

from bot.cli.main import main
from bot.privacy import pseudonym
from bot.store import Store
from bot.store.feedback import FeedbackRecord

ANNA = "@anna:example.org"
BEN = "@ben:example.org"
KEY = "cli-test-key-0123456789"


def ms(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=dt.UTC).timestamp() * 1000)


RECORDS = [
    FeedbackRecord(ms(2026, 11, 2, 8), "!a:x", "feedback", "Sehr gut; danke", "$1", ANNA, None, 5),
    FeedbackRecord(ms(2026, 11, 10, 8), "!b:x", "feedback", "=HYPERLINK(1)", "$2", BEN),
    FeedbackRecord(ms(2026, 11, 20, 22, 30), "!a:x", "feedback", "anonym\nzweizeilig", "$3"),
    FeedbackRecord(ms(2026, 11, 21, 9), "!a:x", "reaction", "👍", "$4", ANNA, "impuls:lean"),
]


async def _fill(database: Path) -> None:
    async with Store(database) as store:
        for record in RECORDS:
            await store.add_feedback(record)
        await store.set_value("roomname:!a:x", "Digitalisierung")


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    database = tmp_path / "data" / "impulsbot.db"
    asyncio.run(_fill(database))
    return _write_config(tmp_path, {})


def _write_config(folder: Path, privacy: dict[str, Any]) -> Path:
    data = {
        "matrix": {"homeserver": "http://localhost", "user_id": "@bot:x", "password": "pw"},
        "storage": {"database": "data/impulsbot.db"},
        "privacy": {"pseudonym_key": KEY, **privacy},
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def run_cli(config: Path, *args: str, capsys: Any) -> tuple[int, bytes, str]:
    code = main(["export", "feedback", "--config", str(config), *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err.decode() if isinstance(captured.err, bytes) else ""


STABLE = ("--stable-pseudonyms", "--with-times")


def test_csv_to_stdout_opens_in_german_excel(config_file: Path, capsysbinary: Any) -> None:
    code, out, _ = run_cli(config_file, "--format", "csv", *STABLE, capsys=capsysbinary)
    assert code == 0
    assert out.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    rows = list(csv.reader(io.StringIO(out.decode("utf-8-sig"), newline=""), delimiter=";"))
    header, *data = rows
    assert header == [
        "Nr.",
        "Zeitpunkt",
        "Raum",
        "Raum-ID",
        "Art",
        "Bezug",
        "Bewertung (1–5)",
        "Text",
        "Person",
    ]
    assert len(data) == 4
    # The anonymous entry (random negative id) comes first: no room, no author, the date only.
    # (This store was filled without a time zone: midnight UTC is 01:00 in Berlin.)
    assert data[0][1:4] == ["2026-11-20T01:00:00+01:00", "", ""]
    assert data[0][7] == "anonym\nzweizeilig" and data[0][8] == ""
    first = dict(zip(header, data[1], strict=True))
    assert first["Text"] == "Sehr gut; danke" and first["Bewertung (1–5)"] == "5"
    assert first["Raum"] == "Digitalisierung" and first["Zeitpunkt"] == "2026-11-02T09:00:00+01:00"
    assert first["Person"] == pseudonym(ANNA, KEY.encode()) != ANNA
    assert data[2][7] == "'=HYPERLINK(1)"  # formula neutralised
    assert data[3][5] == "impuls:lean"
    assert b"@anna" not in out and b"@ben" not in out


def test_xlsx_file_with_date_cells(config_file: Path, tmp_path: Path, capsysbinary: Any) -> None:
    target = tmp_path / "out" / "rueckmeldungen.xlsx"
    code, out, _ = run_cli(
        config_file, "--format", "xlsx", "--output", str(target), *STABLE, capsys=capsysbinary
    )
    assert code == 0 and out == b""
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    sheet = load_workbook(target, read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Nr." and len(rows) == 5
    assert rows[2][1] == dt.datetime(2026, 11, 2, 9, 0)  # local wall time, a real date cell
    assert rows[2][7] == "Sehr gut; danke"
    assert rows[2][8] == pseudonym(ANNA, KEY.encode())


def test_xlsx_needs_an_output_file(config_file: Path, capsysbinary: Any) -> None:
    code, out, err = run_cli(config_file, "--format", "xlsx", capsys=capsysbinary)
    assert code != 0 and out == b""
    assert "--output" in err


def test_window_and_room_filters(config_file: Path, capsysbinary: Any) -> None:
    # 2026-11-20 22:30 UTC is 23:30 on the 20th in Berlin: inside "--until 2026-11-20".
    code, out, _ = run_cli(
        config_file,
        "--format",
        "jsonl",
        "--since",
        "2026-11-03",
        "--until",
        "2026-11-20",
        capsys=capsysbinary,
    )
    assert code == 0
    items = [json.loads(line) for line in out.decode().splitlines()]
    assert [i["text"] for i in items] == ["anonym\nzweizeilig", "=HYPERLINK(1)"]  # JSON: as is
    code, out, _ = run_cli(config_file, "--format", "json", "--room", "!a:x", capsys=capsysbinary)
    assert code == 0
    # The anonymous entry has no room any more, so a room filter never finds it.
    assert [i["id"] for i in json.loads(out)] == [1, 3]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--since", "24.11.2026"), "JJJJ-MM-TT"),
        (("--since", "2026-11-10", "--until", "2026-11-01"), "Zeitraum ist leer"),
        (("--with-user-ids",), "privacy.allow_identified_export"),
    ],
)
def test_refusals_exit_non_zero_and_write_nothing(
    config_file: Path, capsysbinary: Any, args: tuple[str, ...], message: str
) -> None:
    code, out, err = run_cli(config_file, "--format", "csv", *args, capsys=capsysbinary)
    assert code != 0
    assert out == b""
    assert message in err


def test_identified_export_only_when_allowed(
    config_file: Path, tmp_path: Path, capsysbinary: Any
) -> None:
    allowed = _write_config(tmp_path, {"allow_identified_export": True})
    code, out, _ = run_cli(allowed, "--format", "jsonl", "--with-user-ids", capsys=capsysbinary)
    assert code == 0
    authors = [json.loads(line)["author"] for line in out.decode().splitlines()]
    assert authors == ["", ANNA, BEN, ANNA]
    code, out, _ = run_cli(allowed, "--format", "jsonl", capsys=capsysbinary)
    assert ANNA.encode() not in out  # allowed is not the default


def test_generated_key_file_keeps_pseudonyms_stable(
    tmp_path: Path, capsysbinary: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IMPULSBOT_PSEUDONYM_KEY", raising=False)
    asyncio.run(_fill(tmp_path / "data" / "impulsbot.db"))
    config = _write_config(tmp_path, {})
    data = yaml.safe_load(config.read_text())
    del data["privacy"]["pseudonym_key"]
    config.write_text(yaml.safe_dump(data))
    first = run_cli(config, "--format", "jsonl", "--stable-pseudonyms", capsys=capsysbinary)[1]
    second = run_cli(config, "--format", "jsonl", "--stable-pseudonyms", capsys=capsysbinary)[1]
    assert first == second
    key_file = tmp_path / "data" / "pseudonym.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text().strip().encode()
    assert json.loads(first.splitlines()[1])["author"] == pseudonym(ANNA, key)


def test_default_export_is_staff_council_proof(config_file: Path, capsysbinary: Any) -> None:
    """Fresh pseudonyms per export and dates without times: no per-person timeline."""
    exports = []
    for _ in range(2):
        code, out, _ = run_cli(config_file, "--format", "jsonl", capsys=capsysbinary)
        assert code == 0
        exports.append([json.loads(line) for line in out.decode().splitlines()])
    first, second = exports
    assert [i["timestamp"] for i in first] == [
        "2026-11-20",
        "2026-11-02",
        "2026-11-10",
        "2026-11-21",
    ]
    anna = [i["author"] for i in first if i["text"] in ("Sehr gut; danke", "👍")]
    assert anna[0] == anna[1] != ""  # within one export one person keeps one pseudonym
    assert anna[0] != pseudonym(ANNA, KEY.encode())  # … but not the stable one
    assert {i["author"] for i in first} & {i["author"] for i in second} == {""}
