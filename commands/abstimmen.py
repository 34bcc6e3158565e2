"""``!abstimmen`` / ``!vote``: vote by command, for clients without poll buttons.

Typed votes are counted as a labelled addition next to Element's count; anonymous polls take
them only by direct message (:mod:`bot.features.polls.voting`).
"""

from __future__ import annotations

from bot.context import Context
from bot.features.polls.vote import VoteInputError, parse_vote_command
from bot.features.polls.voting import cast_vote
from bot.registry import Command, Scope


async def abstimmen(ctx: Context) -> None:
    try:
        command = parse_vote_command(ctx.args)
    except VoteInputError as exc:
        await ctx.reply(exc.render(ctx.t, ctx.prefix))
        return
    await cast_vote(ctx, command)


COMMAND = Command(name="vote", german="abstimmen", handler=abstimmen, scope=Scope.EVERYONE)
