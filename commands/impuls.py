"""``!impuls``: daily knowledge impulses. Parses the sub-command and answers; the logic (content,
schedules, exactly-once posting, feedback) lives in :mod:`bot.features.impulses`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.context import Context
from bot.features.impulses import on_request, settings
from bot.registry import Command, Scope, SubScope
from bot.text.i18n import Message

SubCommand = Callable[[Context, str], Awaitable[Message | None]]

SUBCOMMANDS: dict[str, SubCommand] = {
    "abonnieren": settings.subscribe,
    "subscribe": settings.subscribe,
    "abo": settings.subscribe,
    "abbestellen": settings.unsubscribe,
    "unsubscribe": settings.unsubscribe,
    "kündigen": settings.unsubscribe,
    "pause": settings.pause,
    "pausieren": settings.pause,
    "weiter": settings.resume,
    "fortsetzen": settings.resume,
    "resume": settings.resume,
    "themen": settings.topics,
    "thema": settings.topics,
    "topics": settings.topics,
    "plan": on_request.plan,
    "jetzt": on_request.post_now,
    "now": on_request.post_now,
    "vorschau": on_request.preview,
    "preview": on_request.preview,
}


async def impuls(ctx: Context) -> None:
    words = ctx.args.strip().split(maxsplit=1)
    if not words:
        await on_request.repeat_latest(ctx)
        return
    handler = SUBCOMMANDS.get(words[0].casefold())
    if handler is None:
        await ctx.reply(ctx.text("impuls.command.unknown_sub", sub=words[0]))
        return
    answer = await handler(ctx, words[1] if len(words) > 1 else "")  # room scope: checked by core
    if answer is not None:
        await ctx.reply(answer)


COMMAND = Command(
    name="impulse",
    german="impuls",
    handler=impuls,
    scope=Scope.EVERYONE,  # without arguments: repeats the latest impulse
    subscopes=(SubScope(Scope.ROOM, *SUBCOMMANDS),),  # this room's schedule
)
