"""``!dashboard`` (alias ``!web``): a one-time login link for the team dashboard, sent into the
person's direct chat. Only for ``access.team`` and ``access.moderators``. Spent links, ended
sessions and old audit entries go with the daily retention job (``bot/store/web.py`` declares them).

Organisation scope: the core refuses everyone else before this handler runs. The link goes out
only through ``ctx.send_direct``, the verified-DM path.
"""

from __future__ import annotations

from bot.context import Context
from bot.registry import Command, Scope
from bot.web.auth import issue_login_link


async def dashboard(ctx: Context) -> None:
    server = ctx.app.web
    if server is None:
        await ctx.reply(ctx.text("web.chat.disabled"))
        return
    url = await issue_login_link(ctx.app, server.base_url, ctx.sender)
    await ctx.send_direct(ctx.text("web.chat.link", url=url))
    if not ctx.is_direct:
        await ctx.reply(ctx.text("web.chat.sent"))


COMMAND = Command(
    name="dashboard",
    german="dashboard",
    aliases=("web",),
    handler=dashboard,
    scope=Scope.ORGANISATION,
)
