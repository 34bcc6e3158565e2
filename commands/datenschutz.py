"""``!datenschutz`` / ``!privacy``: what the bot stores, why, how long, whom to ask."""

from __future__ import annotations

import logging

from bot.context import Context
from bot.i18n import Message, join, render
from bot.registry import Command, Scope

log = logging.getLogger(__name__)


def privacy_notice(ctx: Context) -> Message:
    """The operator's own notice (``privacy.notice``) if configured, else the default text."""
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
    return notice


async def datenschutz(ctx: Context) -> None:
    await ctx.reply(privacy_notice(ctx))


COMMAND = Command(name="privacy", german="datenschutz", handler=datenschutz, scope=Scope.EVERYONE)
