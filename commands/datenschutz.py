"""``!datenschutz`` / ``!privacy``: what the bot stores, why, how long, whom to ask.

Also the daily retention job: every declared kind of personal data (``bot/personal_data.py``)
drops what is older than its retention.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

from bot.context import Context
from bot.personal_data import declarations, purge_expired
from bot.registry import Command, Job, Scope
from bot.text.i18n import Message, Texts, join, render

if TYPE_CHECKING:
    from bot.app import Impulsbot
    from bot.config import Config

log = logging.getLogger(__name__)

RETENTION_EVERY_S = 24 * 3600


def privacy_notice(ctx: Context) -> Message:
    """The operator's own notice (``privacy.notice``) if configured, else the default text;
    always followed by the retention of every category, taken from the declarations."""
    privacy = ctx.app.config.privacy
    params = {
        "prefix": ctx.prefix,
        "contact": privacy.contact,
        "retention_days": privacy.retention_days,
    }
    notice = ctx.t("feedback.privacy_notice", **params)
    if privacy.notice:
        try:
            notice = render(privacy.notice, params)
        except (ValueError, IndexError, KeyError):
            # A stray brace in the operator's text must not hide the notice: show it verbatim.
            log.warning("privacy.notice has invalid placeholders; shown without filling them")
            notice = Message.text(privacy.notice)
    if privacy.allow_identified_export:
        notice = join([notice, ctx.text("feedback.privacy_identified_export_note")])
    overview = retention_overview(ctx.t, ctx.app.config, ctx.prefix)
    return join([notice, overview], separator="\n\n")


def retention_overview(texts: Texts, config: Config, prefix: str) -> Message:
    """ "Wie lange wird was aufbewahrt?" — one line per declared category."""
    lines = [texts("privacy.retention.heading")]
    for category in declarations():
        lines.append(
            texts(
                "privacy.retention.line",
                category=category.title(texts),
                retention=category.retention_text(texts, config, prefix),
            )
        )
    return join(lines)


async def datenschutz(ctx: Context) -> None:
    await ctx.reply(privacy_notice(ctx))


async def retention_job(app: Impulsbot, now: dt.datetime) -> dict[str, int]:
    """Delete what is older than its retention, category by category; counts per category."""
    return await purge_expired(app.store, app.config, now)


COMMAND = Command(
    name="privacy",
    german="datenschutz",
    handler=datenschutz,
    scope=Scope.EVERYONE,
)
RETENTION_JOB = Job(every_seconds=RETENTION_EVERY_S, run=retention_job)
