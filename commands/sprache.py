"""``!sprache de|en``: the language the bot uses in this room (moderators)."""

from __future__ import annotations

from bot.context import Context
from bot.registry import Command, Scope
from bot.text.i18n import LANGUAGES, Texts

ALIASES = {
    "de": "de",
    "deutsch": "de",
    "german": "de",
    "en": "en",
    "englisch": "en",
    "english": "en",
}


async def sprache(ctx: Context) -> None:
    wanted = ALIASES.get(ctx.args.strip().casefold())
    if wanted is None:
        await ctx.reply(ctx.text("core.language_usage", languages=", ".join(LANGUAGES)))
        return
    await ctx.app.store.set_value(f"lang:{ctx.room_id}", wanted)
    ctx.texts = Texts(wanted)
    await ctx.reply(ctx.text("core.language_set"))


COMMAND = Command(name="language", german="sprache", handler=sprache, scope=Scope.ROOM)
