"""``!umfrage`` / ``!poll``: start and end quick polls (logic: :mod:`bot.features.polls`)."""

from __future__ import annotations

from bot.context import Context
from bot.features.polls.errors import PollInputError
from bot.features.polls.parse import parse_end_request, parse_poll_command
from bot.features.polls.start import end_on_request, start_poll
from bot.registry import Command, Scope


async def umfrage(ctx: Context) -> None:
    is_end, number = parse_end_request(ctx.args)
    if is_end:
        await end_on_request(ctx, number)
        return
    try:
        spec = parse_poll_command(ctx.args)
    except PollInputError as exc:
        await ctx.reply(exc.render(ctx.t, ctx.prefix))
        return
    await start_poll(ctx, spec)


COMMAND = Command(
    name="poll",
    german="umfrage",
    handler=umfrage,
    scope=Scope.EVERYONE,  # ending a poll: its creator or power in this room, checked per poll
)
