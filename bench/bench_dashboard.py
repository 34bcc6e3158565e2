"""Benchmark: every dashboard page with 100,000 feedback rows (target: p95 < 200 ms per page).

The bot runs in-process without a homeserver (the pages need only the store and the loaded
content); a signed-in team member fetches each page ``ROUNDS`` times over real HTTP on
127.0.0.1. Feedback is spread over the last year in 20 rooms, plus a year of search log for the
gap pages and a few polls. Filtered pages (full-text search, category) and the CSV download of
a filtered set are measured as well; downloads are not held to the page target.

Run: ``python -m bench.bench_dashboard [--rows N] [--rounds N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from bench.helpers import percentile

REPO = Path(__file__).resolve().parent.parent
ROWS = 100_000
ROUNDS = 30
TEAM = "@team:bench.example"
PAGES = (
    "/",
    "/rueckmeldungen",
    "/rueckmeldungen?suche=Lean&art=feedback",
    "/rueckmeldungen?kategorie=jugend&bewertung=4&seite=3",
    "/impulse",
    "/umfragen",
    "/luecken",
    "/luecken?zeitraum=alle",
    "/katalog",
    "/katalog/kgst-seminare",
    "/datenschutz",
)
DOWNLOADS = ("/rueckmeldungen/export.csv?suche=Lean",)
# Reactions dominate; wishes are explicit commands and rare (1 in 100).
KINDS = ("reaction",) * 60 + ("feedback",) * 20 + ("reply",) * 19 + ("wish",)
TEXTS = ("Lean Coffee war hilfreich", "Zu lang für die Mittagspause", "Mehr zu Beteiligung bitte")
WORDS = ("beteiligung", "e-akte", "barrierefreiheit", "ki", "datenschutz", "sozialraum")


def _config(folder: Path) -> Path:
    rooms = {f"!room{i:02d}:bench.example": "jugend" if i % 2 else "bau" for i in range(20)}
    data = {
        "matrix": {"homeserver": "http://127.0.0.1:1", "user_id": "@bot:x", "password": "unused"},
        "storage": {"database": str(folder / "data" / "bot.db")},
        "content": {"directory": str(folder / "content")},
        "access": {"team": [TEAM]},
        "privacy": {"pseudonym_key": "bench-pseudonym-key-0123"},
        "insights": {"room_categories": rooms},
        "web": {"listen": "127.0.0.1:0"},
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


async def _seed(bot: Any, rows: int) -> None:
    from bot.features.insights.record import topic_key
    from bot.store.feedback import FeedbackRecord
    from bot.store.insights import SearchLogRecord
    from bot.store.polls import NewPoll, Poll, PollAnswer

    now_ms = int(time.time() * 1000)
    step = 365 * 86_400_000 // rows
    await bot.store.import_feedback(
        FeedbackRecord(
            created_at=now_ms - i * step,
            room_id=f"!room{i % 20:02d}:bench.example",
            kind=KINDS[i % len(KINDS)],
            text=f"{TEXTS[i % 3]} #{i}",
            source_event_id=f"$bench{i}",
            user_id=f"@u{i % 500}:bench.example",
            reference=f"impuls:{(i % 33) + 1:02d}" if i % 2 else None,
            rating=(i % 5) + 1 if i % 3 == 0 else None,
        )
        for i in range(rows)
    )
    today = dt.date.today()
    for i in range(5000):
        word = WORDS[i % len(WORDS)]
        day = (today - dt.timedelta(days=i % 365)).isoformat()
        record = SearchLogRecord(day, topic_key([word]), word, "", i % 3, False)
        await bot.store.log_search(record, ["kgst-seminare"] if i % 3 else [])
    for number in range(10):
        answers = (PollAnswer("a1", "Ja"), PollAnswer("a2", "Nein"))
        poll = Poll(question=f"Umfrage {number}?", answers=answers)
        record = await bot.store.create_poll(
            NewPoll("!room00:bench.example", TEAM, f"$poll{number}", poll, "de", now_ms, None)
        )
        await bot.store.mark_poll_open(record.id, f"$start{number}")


async def _login(bot: Any, client: aiohttp.ClientSession) -> None:
    from bot.web.auth import issue_login_link

    link = await issue_login_link(bot, bot.web.base_url, TEAM)
    async with client.get(link) as response:
        page = await response.text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    form = {"token": link.split("token=")[1], "csrf": csrf.group(1) if csrf else ""}
    async with client.post(bot.web.base_url + "/anmelden", data=form) as response:
        assert response.status == 200, response.status


async def measure(rows: int = ROWS, rounds: int = ROUNDS) -> dict[str, float | int]:
    from bot.app import Impulsbot
    from bot.web import start_web

    figures: dict[str, float | int] = {"rows": rows}
    with tempfile.TemporaryDirectory(prefix="impulsbot-bench-dash-") as tmp:
        folder = Path(tmp)
        shutil.copytree(REPO / "content", folder / "content")
        from bot.config import load_config

        bot = Impulsbot(load_config(_config(folder)))
        await bot.store.open()
        await bot.setup_features()
        started = time.perf_counter()
        await _seed(bot, rows)
        figures["seed_s"] = round(time.perf_counter() - started, 1)
        bot.web = await start_web(bot)
        try:
            jar = aiohttp.CookieJar(unsafe=True)
            async with aiohttp.ClientSession(cookie_jar=jar) as client:
                await _login(bot, client)
                worst = 0.0
                for path in PAGES + DOWNLOADS:
                    times = []
                    for _ in range(rounds):
                        began = time.perf_counter()
                        async with client.get(bot.web.base_url + path) as response:
                            await response.read()
                            assert response.status == 200, (path, response.status)
                        times.append((time.perf_counter() - began) * 1000)
                    p95 = percentile(times, 0.95)
                    name = path.strip("/").replace("/", "_").replace("?", "_") or "ueberblick"
                    figures[f"{re.sub(r'[^a-z0-9_]+', '_', name)}_p95_ms"] = round(p95, 1)
                    if path in PAGES:
                        worst = max(worst, p95)
                figures["worst_page_p95_ms"] = round(worst, 1)
        finally:
            await bot.web.stop()
            await bot.store.close()
    return figures


def run(rows: int = ROWS, rounds: int = ROUNDS) -> dict[str, float | int]:
    return asyncio.run(measure(rows, rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    for key, value in run(args.rows, args.rounds).items():
        print(f"{key:<48} {value}")


if __name__ == "__main__":
    main()
