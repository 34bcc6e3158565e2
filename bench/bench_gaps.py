"""Gap insight at scale: aggregate 1,000,000 logged searches (target < 2 s).

Fills a temporary database with a year of searches over 5,000 topics (Zipf-like: a few topics
are searched often, most rarely, as in real search logs) by 3,000 people, 20,000 wishes, then
times the report exactly as ``!angebot lücken alle`` and ``impulsbot export gaps`` build it.
Distinct people are stored as the bot keeps them on 2026-12-31: November and earlier aggregated
into ``group_sizes``, December still as keyed hashes in ``group_people``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.features.insights.report import load_report
from bot.store import Store

SEARCHES = 1_000_000
TOPICS = 5_000
PEOPLE = 3_000
WISHES = 20_000
TARGET_S = 2.0
TZ = ZoneInfo("Europe/Berlin")


def _topics(rng: random.Random) -> list[tuple[str, str]]:
    syllables = ["ba", "ke", "ri", "mo", "tu", "lan", "ver", "ung", "sch", "pla", "dat", "netz"]
    found = []
    for number in range(TOPICS):
        word = "".join(rng.choice(syllables) for _ in range(3)) + str(number)
        found.append((word, word + "en"))
    return found


async def _fill(store: Store, rng: random.Random) -> None:
    topics = _topics(rng)
    weights = [1 / (rank + 1) for rank in range(TOPICS)]
    start = dt.date(2026, 1, 1)
    picks = rng.choices(range(TOPICS), weights=weights, k=SEARCHES)
    rows = []
    open_month: set[tuple[str, str, str]] = set()
    closed: dict[tuple[str, str], set[int]] = {}
    for number, pick in enumerate(picks):
        stem, words = topics[pick]
        day = (start + dt.timedelta(days=number % 365)).isoformat()
        count = 0 if pick % 7 == 0 else rng.randint(1, 12)
        rows.append((day, stem, words, count, int(rng.random() < 0.05), int(rng.random() < 0.2)))
        person = rng.randrange(PEOPLE)
        if day >= "2026-12":
            open_month.add((stem, day, f"h{person}"))
        else:
            closed.setdefault((stem, day[:7]), set()).add(person)
    async with store.transaction():
        await store.db.executemany(
            "INSERT INTO group_people (kind, topic, day, person) VALUES ('search', ?, ?, ?)",
            sorted(open_month),
        )
        await store.db.executemany(
            "INSERT INTO group_sizes (kind, topic, month, people) VALUES ('search', ?, ?, ?)",
            [(topic, month, len(who)) for (topic, month), who in closed.items()],
        )
        await store.db.executemany(
            "INSERT INTO search_log (day, topic, words, result_count, relaxed, opened)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        base = int(dt.datetime(2026, 1, 1, tzinfo=TZ).timestamp() * 1000)
        await store.db.executemany(
            "INSERT INTO feedback (created_at, room_id, kind, text, user_id, source_event_id)"
            " VALUES (?, '!r:x', 'wish', ?, ?, ?)",
            [
                (
                    base + n * 60_000,
                    f"Fortbildung zu {topics[n % 50][1]} gesucht",
                    f"@u{n % 3000}:x",
                    f"$w{n}",
                )
                for n in range(WISHES)
            ],
        )


async def _measure() -> dict[str, float | int | str]:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        async with Store(Path(folder) / "bench.db") as store:
            fill_start = time.perf_counter()
            await _fill(store, rng)
            fill_s = time.perf_counter() - fill_start
            timings = []
            for _ in range(3):
                began = time.perf_counter()
                report = await load_report(
                    store, tz=TZ, min_group=3, catalogue_ids=[f"id{n}" for n in range(70)]
                )
                timings.append(time.perf_counter() - began)
            began = time.perf_counter()
            month = await load_report(store, tz=TZ, min_group=3, since="2026-12-01")
            month_s = time.perf_counter() - began
    best = min(timings)
    return {
        "searches": SEARCHES,
        "topics": TOPICS,
        "wishes": WISHES,
        "fill_s": round(fill_s, 2),
        "aggregate_all_s": round(best, 3),
        "aggregate_all_worst_s": round(max(timings), 3),
        "aggregate_last_month_s": round(month_s, 3),
        "gap_groups_shown": len(report.gaps),
        "month_gap_groups_shown": len(month.gaps),
        "target_s": TARGET_S,
        "verdict": "ok" if best < TARGET_S else "too slow",
    }


def run() -> dict[str, float | int | str]:
    return asyncio.run(_measure())


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key}: {value}")
