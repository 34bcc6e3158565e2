"""``!angebot``: search the catalogue of support offerings, page, details, reload, wishes, gaps.

The catalogue is loaded once at start-up (a broken file stops the bot with the editor's message)
and again on ``!angebot neu-laden``, where a broken file keeps the old catalogue in service.
Every search is logged anonymously for gap insight (``bot/insights.py``): normalised terms,
filters, result count, paging and details — no user or room ID, only the day and a configured
room category.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from bot.context import Context
from bot.features.catalogue.load import CatalogueError, load_catalogue
from bot.features.catalogue.model import Catalogue
from bot.features.insights.periods import (
    PeriodError,
    digest_due,
    iso_week,
    parse_period,
    period_start,
)
from bot.features.insights.record import dedupe_key, search_record
from bot.features.insights.render import gaps_chart, render_digest, render_report
from bot.features.insights.report import GapReport, load_report, new_gaps, rising_topics
from bot.matrix.shell import SendFailed, txn_id
from bot.registry import Command, Job, Scope, SubScope
from bot.search import (
    SearchIndex,
    SearchResult,
    overview,
    render_details,
    render_overview,
    render_results,
    render_unknown_id,
)
from bot.text.german import fold
from bot.text.i18n import Message, join

if TYPE_CHECKING:
    from bot.app import Impulsbot

log = logging.getLogger(__name__)

FEATURE = "angebot"
LAST_SEARCH_TTL_S = 2 * 3600.0
MAX_REMEMBERED_SEARCHES = 10_000
MAX_PROBLEMS_SHOWN = 10

DETAILS_WORDS = frozenset({"details", "detail", "info"})
RELOAD_WORDS = frozenset({"neu-laden", "neuladen", "reload"})
WISH_WORDS = frozenset({"wunsch", "wish"})
GAPS_WORDS = frozenset({"luecken", "gaps", "leerstellen"})


@dataclass
class LastSearch:
    """A user's last search in a room, so ``!mehr`` can continue it."""

    query: str
    next_offset: int
    search_id: int | None  # row of the anonymous search log (kept only here, in memory)
    day: str
    expires: float


@dataclass
class AngebotFeature:
    """State of the feature in ``app.features["angebot"]``."""

    catalogue: Catalogue
    index: SearchIndex
    last: OrderedDict[tuple[str, str], LastSearch] = field(default_factory=OrderedDict)
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def remember(self, room_id: str, user_id: str, search: LastSearch) -> None:
        key = (room_id, user_id)
        self.last.pop(key, None)
        self.last[key] = search
        while len(self.last) > MAX_REMEMBERED_SEARCHES:
            self.last.popitem(last=False)

    def recall(self, room_id: str, user_id: str) -> LastSearch | None:
        found = self.last.get((room_id, user_id))
        if found is None or found.expires < time.monotonic():
            self.last.pop((room_id, user_id), None)
            return None
        return found

    def replace(self, catalogue: Catalogue) -> None:
        old = self.index
        self.catalogue = catalogue
        self.index = SearchIndex.build(catalogue)
        old.close()


def feature(app: Impulsbot) -> AngebotFeature:
    return app.features[FEATURE]


# --- start-up -------------------------------------------------------------------------------


async def setup(app: Impulsbot) -> None:
    """Load the catalogue; problems raise CatalogueError, which stops the bot with the text."""
    directory = app.config.content.directory
    # In a worker thread: start-up logs in to the homeserver meanwhile.
    catalogue = await asyncio.to_thread(load_catalogue, directory, app.config.bot.language)
    index = await asyncio.to_thread(SearchIndex.build, catalogue)
    app.features[FEATURE] = AngebotFeature(catalogue, index)
    log.info("catalogue loaded: %d offerings from %s", len(catalogue), directory)


# --- handlers -------------------------------------------------------------------------------


async def angebot(ctx: Context) -> None:
    words = ctx.args.split(maxsplit=1)
    first = fold(words[0]) if words else ""
    rest = words[1] if len(words) > 1 else ""
    if not words:
        await ctx.reply(render_overview(overview(feature(ctx.app).catalogue), ctx.t, ctx.prefix))
    elif first in DETAILS_WORDS:
        await details(ctx, rest)
    elif first in RELOAD_WORDS:
        await reload(ctx, words[0])
    elif first in WISH_WORDS:
        await wish(ctx, rest)
    elif first in GAPS_WORDS:
        await gaps(ctx, words[0], rest)
    else:
        await search(ctx, ctx.args.strip())


async def search(ctx: Context, query: str) -> None:
    state = feature(ctx.app)
    result = state.index.search(query)
    await ctx.reply(_with_wish_hint(ctx, result, render_results(result, ctx.t, ctx.prefix)))
    if result.filter_errors or result.is_empty_query:
        return
    day = _today(ctx.app, ctx.now)
    search_id = await _log_search(ctx, result, day)
    state.remember(
        ctx.room_id,
        ctx.sender,
        LastSearch(query, result.next_offset, search_id, day, time.monotonic() + LAST_SEARCH_TTL_S),
    )


def _with_wish_hint(ctx: Context, result: SearchResult, reply: Message) -> Message:
    # "Nothing fits" already carries the hint (render_results); partial matches get it, too.
    if result.relaxed and result.hits and not result.nothing_fits:
        return join([reply, ctx.text("angebot.results.none_hint")])
    return reply


async def more(ctx: Context) -> None:
    """``!mehr``: the next page of the asking user's last search in this room."""
    state = feature(ctx.app)
    last = state.recall(ctx.room_id, ctx.sender)
    if last is None:
        await ctx.reply(ctx.text("angebot.chat.more_nothing"))
        return
    result = state.index.search(last.query, offset=last.next_offset)
    await ctx.reply(render_results(result, ctx.t, ctx.prefix))
    if not result.hits:
        return
    last.next_offset = result.next_offset
    last.expires = time.monotonic() + LAST_SEARCH_TTL_S
    if last.search_id is not None:
        await _quietly(ctx.app.store.mark_search_paged(last.search_id))
        await _quietly(ctx.app.store.count_shown(last.day, [h.entry.id for h in result.hits]))


async def details(ctx: Context, wanted: str) -> None:
    state = feature(ctx.app)
    entry = state.catalogue.get(wanted.split()[0]) if wanted.split() else None
    if entry is None:
        await ctx.reply(render_unknown_id(wanted, state.catalogue, ctx.t, ctx.prefix))
        return
    await ctx.reply(render_details(entry, ctx.t, ctx.prefix, state.catalogue))
    last = state.recall(ctx.room_id, ctx.sender)
    if last is not None and last.search_id is not None:
        await _quietly(ctx.app.store.mark_search_opened(last.search_id))


async def reload(ctx: Context, spelled: str) -> None:
    state = feature(ctx.app)
    async with state.reload_lock:
        directory = ctx.app.config.content.directory
        try:
            catalogue = await asyncio.to_thread(load_catalogue, directory, ctx.t.lang)
        except CatalogueError as exc:
            await ctx.reply(_reload_failed(ctx, exc.problems, len(state.catalogue)))
            return
        state.replace(catalogue)
    await ctx.reply(
        ctx.text("angebot.chat.reload_ok", count=len(catalogue), synonyms=len(catalogue.synonyms))
    )


def _reload_failed(ctx: Context, problems: list[str], kept: int) -> Message:
    shown = [Message.text(f"• {p}") for p in problems[:MAX_PROBLEMS_SHOWN]]
    parts = [ctx.text("angebot.chat.reload_failed", count=len(problems), kept=kept), *shown]
    if len(problems) > MAX_PROBLEMS_SHOWN:
        parts.append(ctx.text("angebot.chat.reload_more", count=len(problems) - MAX_PROBLEMS_SHOWN))
    parts.append(ctx.text("angebot.chat.reload_hint"))
    return join(parts)


async def wish(ctx: Context, text: str) -> None:
    """``!angebot wunsch <Text>``: see ``commands/wunsch.py`` (anonymous wishes, minimum group)."""
    from commands.wunsch import wish as record_wish  # wunsch.py imports this module

    await record_wish(ctx, text)


async def gaps(ctx: Context, spelled: str, period_text: str) -> None:
    """``!angebot lücken [zeitraum]``: team only (scope), delivered in the direct chat."""
    try:
        days = parse_period(period_text)
    except PeriodError:
        await ctx.reply(ctx.text("angebot.gaps.bad_period", value=_short(period_text, 40)))
        return
    today = ctx.now.astimezone(ctx.app.config.bot.tz).date()
    since = period_start(today, days)
    report = await gap_report(ctx.app, since, today.isoformat())
    label = (
        ctx.text("angebot.gaps.period_all").plain
        if days is None
        else ctx.text("angebot.gaps.period_days", days=days).plain
    )
    await ctx.answer_privately(render_report(report, ctx.t, label, ctx.prefix))


async def gap_report(
    app: Impulsbot, since: str | None, until: str | None, limit: int = 10
) -> GapReport:
    """The gap report of a period (also used by the digest)."""
    ids = [e.id for e in feature(app).catalogue] if FEATURE in app.features else []
    return await load_report(
        app.store,
        tz=app.config.bot.tz,
        min_group=app.config.privacy.min_group,
        catalogue_ids=ids,
        since=since,
        until=until,
        limit=limit,
    )


# --- logging of searches --------------------------------------------------------------------


def _today(app: Impulsbot, now: datetime) -> str:
    return now.astimezone(app.config.bot.tz).date().isoformat()


async def _log_search(ctx: Context, result: SearchResult, day: str) -> int | None:
    try:
        category = ctx.app.config.insights.room_categories.get(ctx.room_id)
        record = search_record(result, day, category)
        salt = await ctx.app.store.insights_salt()
        key = dedupe_key(salt, ctx.sender, day, record.topic, record.filters)
        record = replace(record, dedupe=key)
        await ctx.app.store.count_people(
            "search", [record.topic], ctx.sender, date.fromisoformat(day)
        )
        return await ctx.app.store.log_search(record, [h.entry.id for h in result.hits])
    except Exception:
        # Insight is a side matter: the user has their answer already.
        log.exception("could not log a search")
        return None


async def _quietly(work: Awaitable[object]) -> None:
    try:
        await work
    except Exception:
        log.exception("could not update the search log")


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- weekly digest --------------------------------------------------------------------------


async def digest_job(app: Impulsbot, now: datetime) -> None:
    """Weekly digest to ``insights.digest_room``; also clears yesterday's dedupe hashes."""
    local = now.astimezone(app.config.bot.tz)
    await app.store.clear_search_dedupe_before(local.date().isoformat())
    kept_from = local.date() - timedelta(days=app.config.privacy.retention_days)
    await app.store.delete_search_log_before(kept_from.isoformat())
    room = app.config.insights.digest_room
    if not room or FEATURE not in app.features or not digest_due(local):
        return
    week = iso_week(local)
    flag = f"insights:digest:{week}"
    if await app.store.get_value(flag):
        return
    await send_digest(app, room, local, week)
    await app.store.set_value(flag, "sent")


async def send_digest(app: Impulsbot, room: str, local: datetime, week: str) -> None:
    today = local.date()
    last_week = (today - timedelta(days=7)).isoformat()
    yesterday = (today - timedelta(days=1)).isoformat()
    before = (today - timedelta(days=35)).isoformat()
    two_weeks = (today - timedelta(days=14)).isoformat()
    report = await gap_report(app, last_week, yesterday)
    if report.total_searches == 0:
        log.info("no searches in the week before %s: no digest", week)
        return
    earlier = await app.store.search_topic_stats(before, (today - timedelta(days=8)).isoformat())
    previous = await app.store.search_topic_stats(
        two_weeks, (today - timedelta(days=8)).isoformat()
    )
    current = await app.store.search_topic_stats(last_week, yesterday)
    min_group = app.config.privacy.min_group
    fresh = new_gaps(report, earlier)
    rising = rising_topics(current, previous, min_group=min_group)
    quarter = await gap_report(app, (today - timedelta(days=90)).isoformat(), yesterday)
    t = app.texts
    message = render_digest(report, fresh, rising, quarter.never_found, t, week)
    try:
        await app.shell.send(
            room,
            "m.room.message",
            app.message_content(message, notice=True),
            txn_id("digest", week),
        )
        if report.gaps:
            chart = gaps_chart(
                report.gaps,
                t("angebot.digest.chart_title", week=week).plain,
                t("angebot.digest.chart_axis").plain,
            )
            name = f"luecken-{week}.png"
            await app.send_file(room, chart, name, "image/png", txn_id("digest-chart", week))
    except SendFailed as exc:
        log.warning("could not send the weekly digest to %s: %s", room, exc)
        raise


COMMAND = Command(
    name="offer",
    german="angebot",
    handler=angebot,
    aliases=("angebote",),
    scope=Scope.EVERYONE,
    subscopes=(SubScope(Scope.ORGANISATION, *RELOAD_WORDS), SubScope(Scope.TEAM, *GAPS_WORDS)),
    setup=setup,
    jobs=(Job(every_seconds=600, run=digest_job),),
)
