"""Benchmark: stream 1,000,000 generated feedback rows to CSV and XLSX files.

Every export runs in a fresh child process, which reports its own wall time and the growth of its
RSS: peak RSS after the export (``ru_maxrss``) minus the resident size just before it, with
imports and setup already done (0 when the export never exceeded the earlier peak). Flat memory
means the growth stays small however many rows are written.

Run: ``/work/venv/bin/python -m bench.bench_export [--rows N] [--formats csv,xlsx]``.
Targets: CSV < 30 s and < 150 MB RSS growth for 1,000,000 rows.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

DEFAULT_ROWS = 1_000_000
FORMATS = ("csv", "xlsx")
KINDS = ("feedback", "reaction", "reply", "wish")
# Realistic shapes, including what the export must escape: separators, quotes, line breaks,
# emoji, umlauts and leading formula characters.
TEXT_SAMPLES = (
    "Der Impuls zu Lean Coffee war sehr hilfreich; wir probieren es nächste Woche im Team aus.",
    'Gute Idee, aber "Working Out Loud" braucht mehr Zeit als eine Mittagspause.',
    "Zeile eins\nZeile zwei mit Umlauten: äöüß ÄÖÜ\nZeile drei 👍",
    '=HYPERLINK("https://example.org";"Klick")',
    "- erster Punkt\n- zweiter Punkt",
    "@Team bitte mehr Impulse zu E-Akte und Barrierefreiheit.",
    "",
    "Kurz und gut.",
)
ROOMS = tuple((f"!room{i:02d}:example.org", f"Fachaustausch {i:02d}") for i in range(20))
START_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def generated_rows(count: int) -> Iterator[dict[str, object]]:
    """Deterministic feedback rows, produced lazily (never a list)."""
    for i in range(count):
        room_id, room_name = ROOMS[i % len(ROOMS)]
        text = TEXT_SAMPLES[i % len(TEXT_SAMPLES)]
        yield {
            "id": i + 1,
            "timestamp": START_MS + i * 31_000,
            "room_name": room_name,
            "room_id": room_id,
            "kind": KINDS[i % len(KINDS)],
            "reference": f"impuls:{i % 40:02d}-thema" if i % 3 else f"umfrage:{i % 17}",
            "rating": (i % 5) + 1 if i % 2 else None,
            "text": f"{text} (#{i})" if text else "",
            "author": f"p-{i % 997:016x}" if i % 4 else "",
        }


def _current_rss_bytes() -> int:
    """Resident set size now (Linux); elsewhere the peak so far, which over-states the baseline."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return _peak_rss_bytes()


def _peak_rss_bytes() -> int:
    # Linux reports kilobytes, macOS bytes.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _child(fmt: str, path: str, rows: int) -> None:
    from bot.features.export.feedback_rows import FEEDBACK_COLUMNS
    from bot.features.export.table import write_export

    if fmt == "xlsx":
        import openpyxl  # noqa: F401  # import cost is not export memory
    before = _current_rss_bytes()
    started = time.perf_counter()
    with open(path, "wb") as out:
        written = write_export(generated_rows(rows), FEEDBACK_COLUMNS, fmt, out)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    result = {
        "rows": written,
        "seconds": seconds,
        "rss_growth_bytes": max(0, _peak_rss_bytes() - before),
        "peak_rss_bytes": _peak_rss_bytes(),
        "file_bytes": os.path.getsize(path),
    }
    print(json.dumps(result))


def _measure(fmt: str, rows: int, folder: Path) -> dict[str, float | int]:
    path = folder / f"export.{fmt}"
    completed = subprocess.run(
        [sys.executable, "-m", "bench.bench_export", "--child", fmt, str(path), str(rows)],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def run(
    rows: int = DEFAULT_ROWS, formats: tuple[str, ...] = FORMATS
) -> dict[str, float | int | str]:
    figures: dict[str, float | int | str] = {"rows": rows}
    with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
        for fmt in formats:
            result = _measure(fmt, rows, Path(folder))
            figures[f"{fmt}_seconds"] = round(float(result["seconds"]), 2)
            figures[f"{fmt}_rss_growth_mb"] = round(result["rss_growth_bytes"] / 2**20, 1)
            figures[f"{fmt}_peak_rss_mb"] = round(result["peak_rss_bytes"] / 2**20, 1)
            figures[f"{fmt}_file_mb"] = round(result["file_bytes"] / 2**20, 1)
            figures[f"{fmt}_rows_per_second"] = round(result["rows"] / float(result["seconds"]))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--child", nargs=3, metavar=("FORMAT", "PATH", "ROWS"), help="internal")
    args = parser.parse_args()
    if args.child:
        fmt, path, rows = args.child
        _child(fmt, path, int(rows))
        return
    figures = run(args.rows, tuple(f for f in args.formats.split(",") if f))
    for name, value in figures.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
