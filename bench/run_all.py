"""Every benchmark from one command: ``python -m bench.run_all`` prints one table.

Live benchmarks (round trip, load, start-up) each start their own throwaway Synapse; the pure
ones (search, tally, export) need no network. ``--only`` picks a subset, ``--markdown`` prints
the table ready for bench/RESULTS.md together with a description of the machine.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

Figures = dict[str, Any]


def _export() -> Figures:
    from bench import bench_export

    # 1M rows as CSV; XLSX at 100k rows, since openpyxl's 1M-row write takes minutes on its own.
    figures = bench_export.run(rows=1_000_000, formats=("csv",))
    xlsx = bench_export.run(rows=100_000, formats=("xlsx",))
    return {
        **{f"export_{k}" if k != "rows" else "export_csv_rows": v for k, v in figures.items()},
        **{f"export_{k}" if k != "rows" else "export_xlsx_rows": v for k, v in xlsx.items()},
    }


def _module(name: str, prefix: str) -> Callable[[], Figures]:
    def runner() -> Figures:
        figures = importlib.import_module(f"bench.{name}").run()
        return {k if k.startswith(prefix) else f"{prefix}{k}": v for k, v in figures.items()}

    return runner


BENCHMARKS: dict[str, Callable[[], Figures]] = {
    "roundtrip": _module("bench_roundtrip", "roundtrip_"),
    "federation": _module("bench_federation", "federation_"),
    "isolation": _module("bench_isolation", ""),
    "load": _module("bench_load", "load_"),
    "startup": _module("bench_startup", "startup_"),
    "search": _module("bench_search", "search_"),
    "relevance": _module("bench_relevance", "relevance_"),
    "tally": _module("bench_tally", "tally_"),
    "fuzz": _module("bench_fuzz_homeserver", "fuzz_hs_"),
    "export": _export,
    "dashboard": _module("bench_dashboard", "dashboard_"),
}


def machine() -> dict[str, str]:
    try:
        from importlib.metadata import version

        synapse = version("matrix-synapse")
        nio = version("matrix-nio")
    except Exception:  # not installed: the live benchmarks would have failed anyway
        synapse = nio = "?"
    mem_kb = 0
    try:
        with open("/proc/meminfo") as stream:
            mem_kb = int(stream.readline().split()[1])
    except OSError:
        pass
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as stream:
            cpu = next(
                (ln.split(":", 1)[1].strip() for ln in stream if ln.startswith("model name")), "?"
            )
    except OSError:
        pass
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": str(os.cpu_count()),
        "cpu": cpu,
        "ram": f"{mem_kb / 2**20:.1f} GiB",
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "synapse": synapse,
        "matrix-nio": nio,
    }


def run(only: list[str] | None = None) -> tuple[Figures, dict[str, float]]:
    results: Figures = {}
    durations: dict[str, float] = {}
    for name, runner in BENCHMARKS.items():
        if only and name not in only:
            continue
        print(f"… {name}", file=sys.stderr, flush=True)
        started = time.perf_counter()
        try:
            results.update(runner())
        except Exception as exc:  # one broken benchmark must not hide the others' figures
            traceback.print_exc()
            results[f"{name}_error"] = f"{type(exc).__name__}: {exc}"
        durations[name] = time.perf_counter() - started
    return results, durations


def table(results: Figures, markdown: bool) -> str:
    width = max(len(k) for k in results) if results else 10
    if markdown:
        rows = ["| figure | value |", "|---|---|"]
        rows += [f"| `{k}` | {v} |" for k, v in results.items()]
        return "\n".join(rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in results.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(BENCHMARKS), default=None)
    parser.add_argument("--markdown", action="store_true", help="Markdown table + machine")
    args = parser.parse_args()
    results, durations = run(args.only)
    if args.markdown:
        print("| machine | |\n|---|---|")
        print("\n".join(f"| {k} | {v} |" for k, v in machine().items()))
        print()
    print(table(results, args.markdown))
    print(
        "\n(" + ", ".join(f"{k} {v:.0f} s" for k, v in durations.items()) + ")",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
