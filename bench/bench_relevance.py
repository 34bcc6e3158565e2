"""Search quality on a graded query set: nDCG@5, MRR, hit@3 and nothing-fits precision, for the
whole set and per role, plus p95 latency of the same queries on 10,000 synthetic offerings.

Run: ``python -m bench.bench_relevance [QUERIES.yaml …]`` (default ``tests/search_heldout.yaml``,
the held-out evaluation set, measured by the integrator only; ``tests/search_tuning.yaml`` and
``tests/search_tuning_2.yaml`` (the round-2 evaluation set, retired to tuning once its per-role
figures had been read) are the sets the engine is tuned on). Several files are measured together.
Targets (issue 15): hit@3 ≥ 95 %, nothing-fits precision ≥ 95 %, p95 < 10 ms.

File format::

    queries:
      - role: jugendhilfeplanung
        query: "Kinder beteiligen Spielplatz"
        relevant: {some-offering-id: 2, other-id: 1}   # 2 = exactly this, 1 = useful; {} = none

How answers are read: a search that says nothing fits (``SearchResult.nothing_fits``, or no hit
at all) lists *no* result — the few offerings it shows as "entfernt verwandt" do not count as
results. So a no-fit query is answered correctly exactly when the engine says nothing fits, and a
query with relevant offerings scores 0 when the engine wrongly says nothing fits.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from bench.bench_search import synthetic_catalogue
from bot.features.catalogue.load import load_catalogue
from bot.features.search import SearchIndex, SearchResult

REPO = Path(__file__).resolve().parent.parent
HELDOUT = REPO / "tests" / "search_heldout.yaml"
TUNING = tuple(REPO / "tests" / f"search_tuning{n}.yaml" for n in ("", "_2", "_3"))
CONTENT = REPO / "content"
DEPTH = 5
LATENCY_ENTRIES = 10_000
LATENCY_ROUNDS = 5


@dataclass(frozen=True)
class Case:
    role: str
    query: str
    relevant: dict[str, int]


def load_cases(path: Path) -> list[Case]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("queries"), list):
        raise ValueError(f"{path}: expected a mapping with a list under 'queries'")
    cases = []
    for number, item in enumerate(data["queries"], start=1):
        if set(item) != {"role", "query", "relevant"}:
            raise ValueError(f"{path}: query {number} needs exactly role, query, relevant")
        relevant = {str(k): int(v) for k, v in (item["relevant"] or {}).items()}
        if any(grade not in (1, 2) for grade in relevant.values()):
            raise ValueError(f"{path}: query {number}: grades are 1 or 2")
        cases.append(Case(str(item["role"]), str(item["query"]), relevant))
    return cases


def answered(result: SearchResult) -> list[str]:
    """The ids the answer lists as results (none when it says nothing fits)."""
    if result.nothing_fits:
        return []
    return [hit.entry.id for hit in result.hits]


def ndcg(ranked: list[str], relevant: dict[str, int], depth: int = DEPTH) -> float:
    gains = [2 ** relevant.get(i, 0) - 1 for i in ranked[:depth]]
    dcg = sum(g / math.log2(rank + 2) for rank, g in enumerate(gains))
    ideal = sorted((2**g - 1 for g in relevant.values()), reverse=True)[:depth]
    best = sum(g / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return dcg / best if best else 0.0


def reciprocal_rank(ranked: list[str], relevant: dict[str, int]) -> float:
    return next((1 / (rank + 1) for rank, i in enumerate(ranked) if i in relevant), 0.0)


@dataclass
class _Tally:
    fit: int = 0
    ndcg: float = 0.0
    mrr: float = 0.0
    hit3: int = 0
    nofit: int = 0
    nofit_right: int = 0

    def figures(self) -> dict[str, float | int]:
        return {
            "queries": self.fit + self.nofit,
            "ndcg5": round(self.ndcg / self.fit, 3) if self.fit else float("nan"),
            "mrr": round(self.mrr / self.fit, 3) if self.fit else float("nan"),
            "hit3": round(self.hit3 / self.fit, 3) if self.fit else float("nan"),
            "nofit_precision": round(self.nofit_right / self.nofit, 3)
            if self.nofit
            else float("nan"),
        }


def evaluate(
    index: SearchIndex, cases: list[Case]
) -> tuple[dict[str, dict[str, float | int]], list[str]]:
    """Figures for "all" and each role, and a line per miss."""
    tallies: dict[str, _Tally] = defaultdict(_Tally)
    misses = []
    for case in cases:
        ranked = answered(index.search(case.query, limit=DEPTH))
        for tally in (tallies["all"], tallies[case.role]):
            if case.relevant:
                tally.fit += 1
                tally.ndcg += ndcg(ranked, case.relevant)
                tally.mrr += reciprocal_rank(ranked, case.relevant)
                tally.hit3 += any(i in case.relevant for i in ranked[:3])
            else:
                tally.nofit += 1
                tally.nofit_right += not ranked
        if case.relevant and not any(i in case.relevant for i in ranked[:3]):
            misses.append(f"miss  [{case.role}] {case.query!r}: {ranked[:3]}")
        if not case.relevant and ranked:
            misses.append(f"listed [{case.role}] {case.query!r} (nothing fits): {ranked[:3]}")
    order = ["all", *sorted(k for k in tallies if k != "all")]
    return {role: tallies[role].figures() for role in order}, misses


def latency_p95(queries: list[str], entries: int = LATENCY_ENTRIES) -> float:
    """p95 in ms of ``queries`` (several rounds, shuffled) on a synthetic catalogue."""
    index = SearchIndex.build(synthetic_catalogue(entries))
    try:
        index.search("Beteiligung")  # warm-up
        rng = random.Random(15)
        timings = []
        for _ in range(LATENCY_ROUNDS):
            order = list(queries)
            rng.shuffle(order)
            for query in order:
                started = time.perf_counter()
                index.search(query)
                timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        return round(timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))], 3)
    finally:
        index.close()


def run(path: Path | None = None, latency: bool = True) -> dict[str, float | int | str]:
    """Flat figures for bench/run_all.py (all roles as ``<role>_<metric>``): the held-out set
    when present, else both tuning sets together."""
    paths = [path] if path else [HELDOUT] if HELDOUT.is_file() else list(TUNING)
    cases = [case for one in paths for case in load_cases(one)]
    index = SearchIndex.build(load_catalogue(CONTENT))
    try:
        by_role, _ = evaluate(index, cases)
    finally:
        index.close()
    figures: dict[str, float | int | str] = {"file": "+".join(p.name for p in paths)}
    for role, values in by_role.items():
        figures.update({f"{role}_{k}": v for k, v in values.items()})
    if latency:
        figures["p95_ms_10k"] = latency_p95([c.query for c in cases])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("queries", nargs="*", type=Path, default=[HELDOUT])
    parser.add_argument("--no-latency", action="store_true", help="skip the 10,000-entry run")
    parser.add_argument("--misses", action="store_true", help="print every miss")
    args = parser.parse_args()
    cases = [case for path in args.queries for case in load_cases(path)]
    index = SearchIndex.build(load_catalogue(CONTENT))
    by_role, misses = evaluate(index, cases)
    index.close()
    names = " + ".join(path.name for path in args.queries)
    print(f"{names}: {len(cases)} queries on {CONTENT.name}/")
    print(f"{'role':<22}{'n':>4}{'nDCG@5':>9}{'MRR':>8}{'hit@3':>8}{'nofit':>8}")
    for role, f in by_role.items():
        print(
            f"{role:<22}{f['queries']:>4}{f['ndcg5']:>9.3f}{f['mrr']:>8.3f}"
            f"{f['hit3']:>8.3f}{f['nofit_precision']:>8.3f}"
        )
    if args.misses:
        print("\n".join(misses))
    if not args.no_latency:
        p95 = latency_p95([c.query for c in cases])
        print(f"p95 latency of these queries on {LATENCY_ENTRIES:,} offerings: {p95} ms")


if __name__ == "__main__":
    main()
