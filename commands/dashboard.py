"""``!dashboard`` (alias ``!web``): a one-time login link for the team dashboard, sent into the
person's direct chat. Only for ``access.team`` and ``access.moderators``. An hourly job drops spent
links and ended sessions and keeps the login audit log for ``privacy.retention_days``.

Roles are checked here (``Permission.EVERYONE``) until the ``scope=`` field of the command
declarations lands; the link goes out only through ``ctx.send_direct``, the verified-DM path.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot.context import Context
from bot.registry import Command, Job, Permission
from bot.web.auth import issue_login_link, role_of

if TYPE_CHECKING:
    from bot.app import Impulsbot


async def dashboard(ctx: Context) -> None:
    if role_of(ctx.app.config, ctx.sender) is None:
        await ctx.reply(ctx.text("web.chat.refused"))
        return
    server = ctx.app.web
    if server is None:
        await ctx.reply(ctx.text("web.chat.off"))
        return
    url = await issue_login_link(ctx.app, server.base_url, ctx.sender)
    await ctx.send_direct(ctx.text("web.chat.link", url=url))
    if not ctx.is_direct:
        await ctx.reply(ctx.text("web.chat.sent"))


async def purge(app: Impulsbot, now: datetime) -> int:
    """Hourly: spent links and ended sessions go; the audit log keeps ``privacy.retention_days``."""
    now_ms = int(now.timestamp() * 1000)
    keep_ms = app.config.privacy.retention_days * 86_400_000
    return await app.store.purge_web(now_ms, now_ms - keep_ms)


COMMAND = Command(
    name="dashboard",
    german="dashboard",
    aliases=("web",),
    handler=dashboard,
    permission=Permission.EVERYONE,
    jobs=(Job(3600, purge),),
)
