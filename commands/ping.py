"""``!ping``: liveness check with version and response time."""

from __future__ import annotations

from bot.context import Context
from bot.registry import Command, Scope


def format_uptime(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


async def ping(ctx: Context) -> None:
    elapsed_ms = max(0, int(ctx.now.timestamp() * 1000) - ctx.incoming.timestamp_ms)
    await ctx.reply(
        ctx.text(
            "core.pong",
            version=ctx.app.version(),
            ms=elapsed_ms,
            uptime=format_uptime(ctx.app.uptime()),
        )
    )


COMMAND = Command(name="ping", german="ping", handler=ping, scope=Scope.EVERYONE)
