"""One declaration per kind of personal data (issue 14): schema coverage, retention, the record of
processing, and ``!meine-daten``/``!vergessen`` driven by the declarations."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from bot.cli.main import main
from bot.config import Config
from bot.personal_data import (
    NOT_PERSONAL,
    collect,
    covered_columns,
    declarations,
    erase,
    purge_expired,
)
from bot.privacy_report import render_html, render_markdown
from bot.store import Store
from bot.store.feedback import FeedbackRecord
from bot.text.i18n import Texts

SYSTEM_TABLES = {"sqlite_sequence"}
NOW = dt.datetime(2027, 6, 15, 12, tzinfo=dt.UTC)


@pytest.fixture
async def store(tmp_path: Path):
    async with Store(tmp_path / "db.sqlite") as opened:
        yield opened


def config(tmp_path: Path, **privacy: object) -> Config:
    return Config.model_validate(
        {
            "matrix": {"homeserver": "http://localhost", "user_id": "@b:x", "password": "p"},
            "storage": {"database": str(tmp_path / "db.sqlite")},
            "privacy": privacy,
        }
    )


async def test_every_text_column_is_declared_or_explained(store: Store) -> None:
    """User IDs, room IDs, event IDs and free text live in TEXT (or BLOB) columns: after all
    migrations each one must belong to a declared category or be explained in NOT_PERSONAL."""
    tables = await store.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    text_columns = set()
    for (table,) in tables:
        for column in await store.fetchall(f"PRAGMA table_info({table})"):
            kind = str(column[2]).upper()
            if "TEXT" in kind or "BLOB" in kind or not kind:
                text_columns.add(f"{table}.{column[1]}")
    covered = covered_columns()
    missing = sorted(text_columns - covered - set(NOT_PERSONAL))
    assert missing == [], f"declare these in a PERSONAL_DATA category: {missing}"
    # … and no declaration names a column that does not exist (a rename would slip through).
    assert sorted((covered | set(NOT_PERSONAL)) - text_columns) == []


async def test_the_coverage_test_catches_a_new_table(store: Store) -> None:
    await store.execute("CREATE TABLE future_notes (user_id TEXT, note TEXT)")
    with pytest.raises(AssertionError, match=r"future_notes\.note"):
        await test_every_text_column_is_declared_or_explained(store)


def test_every_category_has_texts_and_a_way_to_expire() -> None:
    for lang in ("de", "en"):
        texts = Texts(lang)
        for category in declarations():
            assert category.title(texts) and category.retention_text(texts, config(Path(".")))
    for category in declarations():
        explained = category.purge is not None or category.access_note
        assert explained, f"{category.name}: no retention job and no note why"
        if category.link == "direct":
            assert category.export is not None or category.access_note, category.name


async def test_retention_job_covers_feedback_polls_search_tandem_wol_lean_coffee(
    store: Store, tmp_path: Path
) -> None:
    old = NOW - dt.timedelta(days=400)
    recent = NOW - dt.timedelta(days=10)
    for when, name in ((old, "alt"), (recent, "neu")):
        ms = int(when.timestamp() * 1000)
        await store.add_feedback(FeedbackRecord(ms, "!r:x", "feedback", name, f"${name}", "@a:x"))
        await store.execute(
            "INSERT INTO polls (room_id, creator, source_event_id, question, answers,"
            " max_selections, disclosed, anonymous, lang, created_at, status, ended_at)"
            " VALUES ('!r:x', '@a:x', ?, 'Frage', '[]', 1, 1, 0, 'de', ?, 'ended', ?)",
            (f"$poll-{name}", ms, ms),
        )
        await store.execute(
            "INSERT INTO search_log (day, topic, words, result_count) VALUES (?, 'x', 'x', 0)",
            (when.date().isoformat(),),
        )
        await store.execute(
            "INSERT INTO tandem_rounds (round_key, held_at) VALUES (?, ?)",
            (f"slot:{name}", when.isoformat()),
        )
        await store.execute(
            "INSERT INTO wol_seekers (user_id, department, joined_at) VALUES (?, 'IT', ?)",
            (f"@{name}:x", when.isoformat()),
        )
        await store.execute(
            "INSERT INTO lc_summaries (room_id, started_at, summary, source_event_id)"
            " VALUES ('!r:x', ?, '{}', ?)",
            (when.isoformat(), f"$lc-{name}"),
        )
    await store.count_people("search", ["x"], "@a:x", dt.date(2027, 5, 3))
    deleted = await purge_expired(store, config(tmp_path), NOW)
    for name in ("feedback", "polls", "search_log", "tandem", "wol", "lean_coffee"):
        assert deleted.get(name) == 1, (name, deleted)
    assert deleted.get("group_people") == 1  # May is over: counted, hash and key gone
    for table in ("feedback", "polls", "search_log", "tandem_rounds", "wol_seekers"):
        assert len(await store.fetchall(f"SELECT * FROM {table}")) == 1, table
    assert await store.fetchall("SELECT * FROM group_people") == []


async def test_data_request_and_erasure_follow_the_declarations(store: Store) -> None:
    ms = int(NOW.timestamp() * 1000)
    await store.add_feedback(FeedbackRecord(ms, "!r:x", "feedback", "gut", "$1", "@a:x"))
    await store.add_feedback(FeedbackRecord(ms, "!r:x", "feedback", "anonym", "$2"))
    await store.record_direct_chat("@a:x", "!dm:x", "created")
    await store.execute("INSERT INTO tandem_members (user_id) VALUES ('@a:x')")
    data = await collect(store, "@a:x")
    assert [r["text"] for r in data["feedback"]] == ["gut"]
    assert data["direct_chat"] == [{"room_id": "!dm:x", "origin": "created"}]
    assert "kaffee_tandem" in data
    assert "anonym" not in str(data)
    counts = await erase(store, "@a:x")
    assert counts["feedback"] == 1 and counts["direct_chat"] == 1
    assert await collect(store, "@a:x") == {}
    assert [r["text"] async for r in store.iter_feedback()] == ["anonym"]


def test_record_of_processing_lists_every_category_with_retention(tmp_path: Path) -> None:
    cfg = config(tmp_path, retention_days=180, contact="DSB <dsb@example.org>")
    markdown = render_markdown(cfg)
    page = render_html(cfg)
    texts = Texts("de")
    for category in declarations():
        assert category.title(texts) in markdown
        assert category.retention_text(texts, cfg, cfg.bot.prefix) in markdown
    for heading in ("Zweck", "Rechtsgrundlage", "Empfänger", "Aufbewahrung", "Maßnahmen"):
        assert heading in markdown and heading in page
    assert "180 Tage" in markdown
    assert "DSB &lt;dsb@example.org&gt;" in page and "<dsb@" not in page


def test_privacy_report_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "config.yaml"
    data = {"matrix": {"homeserver": "http://localhost", "user_id": "@b:x", "password": "p"}}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    assert main(["privacy", "report", "--config", str(path)]) == 0
    assert capsys.readouterr().out.startswith("# Verzeichnis von Verarbeitungstätigkeiten")
    target = tmp_path / "vvt.html"
    code = main(
        ["privacy", "report", "--config", str(path), "--format", "html", "--output", str(target)]
    )
    assert code == 0 and target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


async def test_migration_scrubs_anonymous_rows_stored_before_it(tmp_path: Path) -> None:
    """Anonymous feedback recorded by an older version loses event ID, room, time and its
    sequential id when migration 0010 runs."""
    import sqlite3

    from bot.store.base import migrations

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE schema_migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL DEFAULT (datetime('now')))"
    )
    for number, name, sql in migrations():
        if number > 6:
            break
        db.executescript(sql)
        db.execute("INSERT INTO schema_migrations (number, name) VALUES (?, ?)", (number, name))
    db.execute(
        "INSERT INTO feedback (created_at, room_id, kind, text, user_id, source_event_id,"
        " reference) VALUES (1795000123456, '!dm:x', 'feedback', 'anonym', NULL, '$e1', 'event:$x')"
    )
    db.execute(
        "INSERT INTO feedback (created_at, room_id, kind, text, user_id, source_event_id)"
        " VALUES (1795000123456, '!r:x', 'feedback', 'mit Namen', '@a:x', '$e2')"
    )
    db.commit()
    db.close()
    async with Store(path) as store:
        rows = {r["text"]: dict(r) for r in await store.fetchall("SELECT * FROM feedback")}
    anonymous = rows["anonym"]
    assert anonymous["room_id"] is None and anonymous["source_event_id"] is None
    assert anonymous["reference"] is None and anonymous["created_at"] % 86_400_000 == 0
    assert anonymous["id"] < 0
    assert rows["mit Namen"]["source_event_id"] == "$e2" and rows["mit Namen"]["id"] == 2
