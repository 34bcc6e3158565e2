"""``!angebot``: search the catalogue of support offerings, page, details, reload, wishes, gaps.

Parse, ask the search feature (``bot/features/search/``), reply. The catalogue, the index and each
user's last search live in :class:`bot.features.search.state.SearchState`.
"""

from __future__ import annotations

import time

from bot.context import Context
from bot.features.catalogue.load import CatalogueError
from bot.features.insights.periods import PeriodError, parse_period, period_start
from bot.features.insights.render import render_report
from bot.features.search import (
    SearchResult,
    overview,
    render_details,
    render_overview,
    render_results,
    render_unknown_id,
)
from bot.features.search.digest import gap_report
from bot.features.search.state import (
    LAST_SEARCH_TTL_S,
    LastSearch,
    log_search,
    note_opened,
    note_paged,
    state,
    today,
)
from bot.features.search.state import reload as reload_catalogue
from bot.registry import Command, Scope, SubScope
from bot.text.german import fold
from bot.text.i18n import Message, join
from commands.wunsch import wish as record_wish

MAX_PROBLEMS_SHOWN = 10

DETAILS_WORDS = frozenset({"details", "detail", "info"})
RELOAD_WORDS = frozenset({"neu-laden", "neuladen", "reload"})
WISH_WORDS = frozenset({"wunsch", "wish"})
GAPS_WORDS = frozenset({"luecken", "gaps", "leerstellen"})


async def angebot(ctx: Context) -> None:
    words = ctx.args.split(maxsplit=1)
    first = fold(words[0]) if words else ""
    rest = words[1] if len(words) > 1 else ""
    if not words:
        await ctx.reply(render_overview(overview(state(ctx.app).catalogue), ctx.t, ctx.prefix))
    elif first in DETAILS_WORDS:
        await details(ctx, rest)
    elif first in RELOAD_WORDS:
        await reload(ctx)
    elif first in WISH_WORDS:
        await wish(ctx, rest)
    elif first in GAPS_WORDS:
        await gaps(ctx, rest)
    else:
        await search(ctx, ctx.args.strip())


async def search(ctx: Context, query: str) -> None:
    found = state(ctx.app)
    result = found.index.search(query)
    await ctx.reply(_with_wish_hint(ctx, result, render_results(result, ctx.t, ctx.prefix)))
    if result.filter_errors or result.is_empty_query:
        return
    day = today(ctx.app, ctx.now)
    search_id = await log_search(ctx.app, ctx.room_id, ctx.sender, result, day)
    expires = time.monotonic() + LAST_SEARCH_TTL_S
    last = LastSearch(query, result.next_offset, search_id, day, expires)
    found.remember(ctx.room_id, ctx.sender, last)


def _with_wish_hint(ctx: Context, result: SearchResult, reply: Message) -> Message:
    # "Nothing fits" already carries the hint (render_results); partial matches get it, too.
    if result.relaxed and result.hits and not result.nothing_fits:
        return join([reply, ctx.text("angebot.results.none_hint")])
    return reply


async def more(ctx: Context) -> None:
    """``!mehr``: the next page of the asking user's last search in this room."""
    found = state(ctx.app)
    last = found.recall(ctx.room_id, ctx.sender)
    if last is None:
        await ctx.reply(ctx.text("angebot.chat.more_nothing"))
        return
    result = found.index.search(last.query, offset=last.next_offset)
    await ctx.reply(render_results(result, ctx.t, ctx.prefix))
    if result.hits:
        last.touch(result.next_offset)
        await note_paged(ctx.app, last, result)


async def details(ctx: Context, wanted: str) -> None:
    found = state(ctx.app)
    entry = found.catalogue.get(wanted.split()[0]) if wanted.split() else None
    if entry is None:
        await ctx.reply(render_unknown_id(wanted, found.catalogue, ctx.t, ctx.prefix))
        return
    await ctx.reply(render_details(entry, ctx.t, ctx.prefix, found.catalogue))
    await note_opened(ctx.app, found.recall(ctx.room_id, ctx.sender))


async def reload(ctx: Context) -> None:
    try:
        catalogue = await reload_catalogue(ctx.app, ctx.t.lang)
    except CatalogueError as exc:
        await ctx.reply(_reload_failed(ctx, exc.problems, len(state(ctx.app).catalogue)))
        return
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
    await record_wish(ctx, text)


async def gaps(ctx: Context, period_text: str) -> None:
    """``!angebot lücken [zeitraum]``: team only (scope), delivered in the direct chat."""
    try:
        days = parse_period(period_text)
    except PeriodError:
        shown = period_text if len(period_text) <= 40 else period_text[:39] + "…"
        await ctx.reply(ctx.text("angebot.gaps.bad_period", value=shown))
        return
    local_today = ctx.now.astimezone(ctx.app.config.bot.tz).date()
    report = await gap_report(ctx.app, period_start(local_today, days), local_today.isoformat())
    label = (
        ctx.text("angebot.gaps.period_all").plain
        if days is None
        else ctx.text("angebot.gaps.period_days", days=days).plain
    )
    await ctx.answer_privately(render_report(report, ctx.t, label, ctx.prefix))


COMMAND = Command(
    name="offer",
    german="angebot",
    handler=angebot,
    aliases=("angebote",),
    scope=Scope.EVERYONE,
    subscopes=(SubScope(Scope.ORGANISATION, *RELOAD_WORDS), SubScope(Scope.TEAM, *GAPS_WORDS)),
)
