"""The gap report of a period and the weekly gap digest (``insights.digest_room``).

The job also keeps the anonymous search log within its limits: yesterday's dedupe hashes and
rows older than the retention period are deleted on every run.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.features.insights.periods import digest_due, iso_week
from bot.features.insights.render import gaps_chart, render_digest
from bot.features.insights.report import GapReport, load_report, new_gaps, rising_topics
from bot.features.search.state import SearchState, catalogue_ids
from bot.transport import txn_id

if TYPE_CHECKING:
    from bot.app import Impulsbot

log = logging.getLogger(__name__)


async def gap_report(
    app: Impulsbot, since: str | None, until: str | None, limit: int = 10
) -> GapReport:
    """The gap report of a period (``!angebot lücken``, the digest, the dashboard)."""
    return await load_report(
        app.store,
        tz=app.config.bot.tz,
        min_group=app.config.privacy.min_group,
        catalogue_ids=catalogue_ids(app),
        since=since,
        until=until,
        limit=limit,
    )


async def digest_job(app: Impulsbot, now: datetime) -> None:
    """Weekly digest to ``insights.digest_room``; also clears yesterday's dedupe hashes."""
    local = now.astimezone(app.config.bot.tz)
    await app.store.clear_search_dedupe_before(local.date().isoformat())
    kept_from = local.date() - timedelta(days=app.config.privacy.retention_days)
    await app.store.delete_search_log_before(kept_from.isoformat())
    room = app.config.insights.digest_room
    if not room or app.state.peek(SearchState) is None or not digest_due(local):
        return
    week = iso_week(local)
    flag = f"insights:digest:{week}"
    if await app.store.get_value(flag):
        return
    await send_digest(app, room, local, week)
    await app.store.set_value(flag, "sent")


async def send_digest(app: Impulsbot, room: str, local: datetime, week: str) -> None:
    """Send the digest of the week before ``local``; a failed send raises (the job logs it)."""
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
    content = app.message_content(message, notice=True)
    await app.shell.send(room, "m.room.message", content, txn_id("digest", week))
    if report.gaps:
        chart = gaps_chart(
            report.gaps,
            t("angebot.digest.chart_title", week=week).plain,
            t("angebot.digest.chart_axis").plain,
        )
        name = f"luecken-{week}.png"
        await app.send_file(room, chart, name, "image/png", txn_id("digest-chart", week))
