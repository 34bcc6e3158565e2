"""The initiative team's pages: ``/`` (Überblick), ``/rueckmeldungen`` with downloads,
``/umfragen``, ``/luecken`` with download, and ``/datenschutz``.

Every figure comes from the same functions the chat uses (``!feedback übersicht``, ``!ergebnis``,
``!angebot lücken``), so the dashboard and the chat never disagree.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from typing import Any

from aiohttp import web

from bot.features.export import gaps as gaps_export
from bot.features.export.feedback import MIMETYPES, pseudonym_key
from bot.features.export.feedback_rows import feedback_columns, feedback_export_rows
from bot.features.export.gaps import report_rows
from bot.features.export.table import write_export
from bot.features.feedback.rooms import ROOM_NAME_KEY
from bot.features.feedback.summary import iso_week
from bot.features.insights.periods import (
    DEFAULT_PERIOD_DAYS,
    PeriodError,
    parse_period,
    period_start,
)
from bot.features.insights.report import GapReport, load_report, merge_topics
from bot.store.web import FeedbackFilter
from bot.text.i18n import Texts
from bot.web.auth import SERVER
from bot.web.feedback_table import download, feedback_filter
from bot.web.render import bar_chart, language, render

ROUTES = web.RouteTableDef()
PAGE_SIZE = 50
KINDS = ("feedback", "reaction", "reply", "wish")


def _bot(request: web.Request) -> Any:
    return request.app[SERVER].bot


def _texts(request: web.Request) -> Texts:
    return Texts(language(request, _bot(request).config.bot.language))


class _WishesOnly:
    """The store as ``load_report`` reads it, handing over only wishes from the feedback table
    (an index lookup instead of every row of the period); the report itself is unchanged."""

    def __init__(self, store: Any) -> None:
        self.store = store

    async def search_topic_stats(self, since: str | None, until: str | None) -> Any:
        return await self.store.search_topic_stats(since, until)

    async def shown_offering_ids(self, since_day: str | None = None) -> set[str]:
        return await self.store.shown_offering_ids(since_day)

    def iter_feedback(self, since_ms: int | None = None, until_ms: int | None = None) -> Any:
        wishes = FeedbackFilter(since_ms=since_ms, until_ms=until_ms, kind="wish")
        return self.store.iter_feedback_filtered(wishes)

    async def people_per_topic(
        self, kind: str, since_day: str | None = None, until_day: str | None = None
    ) -> dict[str, int]:
        return await self.store.people_per_topic(kind, since_day, until_day)


async def gap_report(bot: Any, since: str | None, until: str | None, limit: int) -> GapReport:
    """``digest.gap_report`` with the wish-only reader: the same report as the chat."""
    from bot.features.search.state import catalogue_ids

    return await load_report(
        _WishesOnly(bot.store),
        tz=bot.config.bot.tz,
        min_group=bot.config.privacy.min_group,
        catalogue_ids=catalogue_ids(bot),
        since=since,
        until=until,
        limit=limit,
    )


@ROUTES.get("/")
async def overview(request: web.Request) -> web.Response:
    from bot.features.feedback.overview import OVERVIEW_WEEKS, overview_start

    bot = _bot(request)
    tz = bot.config.bot.tz
    start = overview_start(bot.now(), tz)
    since_ms = int(start.timestamp() * 1000)
    store = bot.store
    weeks: dict[str, int] = {}
    for hour_ms, count in await store.feedback_hour_counts(since_ms):
        week = iso_week(hour_ms, tz)
        weeks[week] = weeks.get(week, 0) + count
    kinds = await store.feedback_kind_counts(since_ms)
    ratings, rating_sum = await store.feedback_rating_stats(since_ms)
    polls, voters = await _poll_participation(bot)
    today = bot.now().astimezone(tz).date()
    gaps = await gap_report(bot, period_start(today, DEFAULT_PERIOD_DAYS), today.isoformat(), 5)
    t = _texts(request)
    week_items = [(week, float(n)) for week, n in sorted(weeks.items())]
    kind_items = [(t(f"web.kinds.{k}").plain, float(kinds.get(k, 0))) for k in KINDS]
    gap_items = [(g.label, float(g.count)) for g in gaps.gaps]
    return render(
        request,
        "overview.html",
        start=start.date().isoformat(),
        weeks=OVERVIEW_WEEKS,
        rooms=await store.count_rooms(),
        impulses=await store.count_impulses_posted(),
        total=sum(kinds.values()),
        average=rating_sum / ratings if ratings else None,
        ratings=ratings,
        polls=polls,
        voters=voters,
        week_items=week_items,
        kind_items=kind_items,
        gap_items=gap_items,
        week_chart=bar_chart(week_items, t("web.overview.per_week").plain, t.lang, "c-weeks"),
        kind_chart=bar_chart(kind_items, t("web.overview.by_kind").plain, t.lang, "c-kinds"),
        gap_chart=bar_chart(gap_items, t("web.overview.top_gaps").plain, t.lang, "c-gaps"),
    )


async def _poll_participation(bot: Any) -> tuple[int, int]:
    from bot.features.polls.view import current_tally

    polls = voters = 0
    async for record in bot.store.iter_polls():
        polls += 1
        voters += (await current_tally(bot, record)).voters
    return polls, voters


@ROUTES.get("/rueckmeldungen")
async def feedback(request: web.Request) -> web.Response:
    bot = _bot(request)
    flt, values, error = feedback_filter(request, bot.config)
    page = max(1, _int(request.query.get("seite")) or 1)
    count = await bot.store.count_feedback(flt) if error is None else 0
    rows = (
        await bot.store.feedback_page(flt, PAGE_SIZE, (page - 1) * PAGE_SIZE)
        if error is None
        else []
    )
    key = pseudonym_key(bot.config)
    names = {room: await _room_name(bot, room) for room in {r["room_id"] for r in rows}}
    for row in rows:
        row["timestamp"], row["room_name"] = row["created_at"], names[row["room_id"]]
    shown = list(feedback_export_rows(rows, key=key, identified=False))
    query = request.query_string
    return render(
        request,
        "feedback.html",
        rows=shown,
        count=count,
        page=page,
        pages=max(1, -(-count // PAGE_SIZE)),
        values=values,
        error=error,
        kinds=KINDS,
        categories=sorted(set(bot.config.insights.room_categories.values())),
        references=await bot.store.feedback_references(),
        query=query,
        base_query="&".join(p for p in query.split("&") if not p.startswith("seite=")),
        headers={
            c.key: c.header for c in feedback_columns(language(request, bot.config.bot.language))
        },
    )


async def _room_name(bot: Any, room_id: str) -> str:
    return await bot.store.get_value(ROOM_NAME_KEY.format(room_id=room_id)) or room_id


@ROUTES.get("/rueckmeldungen/export.{fmt:(xlsx|csv)}")
async def feedback_download(request: web.Request) -> web.StreamResponse:
    bot = _bot(request)
    flt, _, error = feedback_filter(request, bot.config)
    if error is not None:
        raise web.HTTPBadRequest(text=error)
    fmt = request.match_info["fmt"]
    data = await download(bot, flt, fmt, lang=language(request, bot.config.bot.language))
    day = bot.now().astimezone(bot.config.bot.tz).date().isoformat()
    return web.Response(
        body=data,
        content_type=MIMETYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="rueckmeldungen-{day}.{fmt}"'},
    )


@ROUTES.get("/umfragen")
async def polls(request: web.Request) -> web.Response:
    from bot.features.polls.view import current_result

    bot = _bot(request)
    t = _texts(request)
    minimum = bot.config.polls.min_anonymous_group
    shown = []
    async for record in bot.store.iter_polls():
        # The same split as in chat: per answer Element's count, typed votes on their own line.
        both = await current_result(bot, record)
        result = both.element
        poll = record.poll
        hidden = None
        if poll.anonymous and (not record.is_closed or both.combined.voters < minimum):
            # No interim totals: comparing two of them would reveal a single vote.
            hidden = t("web.polls.hidden_anonymous", min=minimum).plain
        elif not poll.disclosed and not record.is_closed:
            hidden = t("web.polls.hidden_undisclosed").plain
        items = [(a.text, float(result.count(a.id))) for a in poll.answers]
        chart = None if hidden else bar_chart(items, poll.question, t.lang, f"p{record.id}")
        rows = [(a.text, result.count(a.id), result.percent(a.id)) for a in poll.answers]
        shown.append(
            {
                "number": record.id,
                "question": poll.question,
                "closed": record.is_closed,
                "voters": result.voters,
                "typed": both.typed.voters,
                "hidden": hidden,
                "rows": rows,
                "chart": chart,
            }
        )
    shown.reverse()  # newest first
    return render(request, "polls.html", polls=shown)


async def _gap_report(request: web.Request) -> tuple[Any, str, dict[str, int] | None]:
    """The report of the chosen period and, per topic, the searches of the period before
    (None for "alle": there is no period before)."""
    bot = _bot(request)
    raw = request.query.get("zeitraum", str(DEFAULT_PERIOD_DAYS))
    try:
        days = parse_period(raw)
    except PeriodError:
        days, raw = DEFAULT_PERIOD_DAYS, str(DEFAULT_PERIOD_DAYS)
    today = bot.now().astimezone(bot.config.bot.tz).date()
    since = period_start(today, days)
    report = await gap_report(bot, since, today.isoformat(), limit=20)
    if days is None or since is None:
        return report, raw, None
    start = dt.date.fromisoformat(since)
    earlier = await bot.store.search_topic_stats(
        (start - dt.timedelta(days=days)).isoformat(), (start - dt.timedelta(days=1)).isoformat()
    )
    return report, raw, {key: t.searches for key, t in merge_topics(earlier).items()}


@ROUTES.get("/luecken")
async def gaps(request: web.Request) -> web.Response:
    report, raw, before = await _gap_report(request)
    t = _texts(request)
    minimum = _bot(request).config.privacy.min_group
    sections = []
    for name in ("gaps", "wishes", "unclicked"):
        items = getattr(report, name)
        title = t(f"web.gaps.{name}").plain
        chart_items = [(i.label, float(i.count)) for i in items]
        sections.append(
            {
                "name": name,
                "title": title,
                "entries": [(i, _trend(i, before, minimum, t)) for i in items],
                "chart": bar_chart(chart_items, title, t.lang, f"g-{name}"),
            }
        )
    return render(
        request,
        "gaps.html",
        report=report,
        sections=sections,
        period=raw,
        min_group=minimum,
        trend=before is not None,
    )


def _trend(item: Any, before: dict[str, int] | None, minimum: int, t: Texts) -> str:
    """Searches of the period before and the direction; small groups stay hidden there too."""
    if before is None:
        return ""
    earlier = before.get(item.topic, 0)
    if earlier < minimum:
        return t("web.gaps.trend_new", min=minimum).plain
    key = "up" if item.searches > earlier else "down" if item.searches < earlier else "same"
    return t(f"web.gaps.trend_{key}", count=earlier).plain


@ROUTES.get("/luecken/export.csv")
async def gaps_download(request: web.Request) -> web.Response:
    report, _, _ = await _gap_report(request)
    t = _texts(request)
    rows = report_rows(report, gaps_export.section_names(t))
    out = io.BytesIO()
    await asyncio.to_thread(
        write_export, rows, gaps_export.columns(t), "csv", out, tz=_bot(request).config.bot.tz
    )
    return web.Response(
        body=out.getvalue(),
        content_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="luecken.csv"'},
    )


@ROUTES.get("/datenschutz")
async def privacy(request: web.Request) -> web.Response:
    from markupsafe import Markup

    from bot.privacy_report import render_html_fragment

    report = await asyncio.to_thread(render_html_fragment, _bot(request).config)
    return render(request, "privacy.html", report=Markup(report))


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None
