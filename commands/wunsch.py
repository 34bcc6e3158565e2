"""``!wunsch`` / ``!wish``: the same as ``!angebot wunsch <Text>``."""

from __future__ import annotations

from bot.context import Context
from bot.registry import Command, Scope
from commands.angebot import wish


async def wunsch(ctx: Context) -> None:
    await wish(ctx, ctx.args)


COMMAND = Command(name="wish", german="wunsch", handler=wunsch, scope=Scope.EVERYONE)
