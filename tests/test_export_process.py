"""The feedback export runs in a child process: its answers and refusals cross back intact."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.config import Config
from bot.features.export import feedback as feedback_export
from bot.features.export.options import ExportFailed, ExportOptions
from bot.store import Store
from bot.store.feedback import FeedbackRecord


def _config(database: Path) -> Config:
    return Config.model_validate(
        {
            "matrix": {"homeserver": "http://localhost", "user_id": "@bot:x", "password": "pw"},
            "storage": {"database": str(database)},
        }
    )


def _leftovers() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("impulsbot-export-*")}


@pytest.fixture(autouse=True)
def own_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Exports running in other test processes must not show up as this test's leftovers."""
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))


async def test_xlsx_from_the_child_with_fresh_pseudonyms_and_dates(tmp_path: Path) -> None:
    database = tmp_path / "bot.db"
    async with Store(database) as store:
        await store.add_feedback(
            FeedbackRecord(1_790_000_000_000, "!a:x", "feedback", "gut", "$1", "@anna:x")
        )
        await store.set_value("roomname:!a:x", "Digitalisierung")
        before = _leftovers()
        files = []
        for _ in range(2):
            out = io.BytesIO()
            count = await feedback_export.export(
                store, _config(database), ExportOptions("xlsx"), out
            )
            assert count == 1
            files.append(list(load_workbook(out).active.iter_rows(values_only=True))[1])
        assert _leftovers() == before  # the child's file is gone after the copy
    (first, second) = files
    assert first[2] == "Digitalisierung" and first[7] == "gut"
    assert "@anna:x" not in map(str, first)
    assert first[8] != second[8]  # a new pseudonym key per export
    assert not hasattr(first[1], "hour") or (first[1].hour, first[1].minute) == (0, 0)


async def test_a_text_too_long_for_excel_is_refused_not_crashed(tmp_path: Path) -> None:
    database = tmp_path / "bot.db"
    async with Store(database) as store:
        await store.add_feedback(
            FeedbackRecord(1_790_000_000_000, "!a:x", "feedback", "x" * 40_000, "$1", "@anna:x")
        )
        with pytest.raises(ExportFailed, match="Excel cell"):
            await feedback_export.export(
                store, _config(database), ExportOptions("xlsx"), io.BytesIO()
            )
