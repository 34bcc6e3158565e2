"""``!meine-daten`` / ``!mydata``: everything stored about the sender, as a JSON file in a DM.

The file and its summary go only to the sender's verified direct chat (``matrix/private.py``); asked
in a room, the room gets a short note. A freshly opened DM holds the delivery in the store until
the person has joined (also across restarts).
"""

from __future__ import annotations

from bot.context import Context
from bot.personal_data import collect
from bot.privacy import count_entries, describe_counts, personal_data_file
from bot.registry import Command, Scope

MIMETYPE = "application/json"


async def meine_daten(ctx: Context) -> None:
    data = await collect(ctx.app.store, ctx.sender)
    payload = personal_data_file(ctx.sender, data, ctx.now)
    summary = describe_counts(ctx.t, count_entries(data))
    day = ctx.now.astimezone(ctx.app.config.bot.tz).date().isoformat()
    await ctx.send_private_file(payload, f"meine-daten-{day}.json", MIMETYPE)
    await ctx.answer_privately(ctx.text("feedback.my_data.sent_here", summary=summary))


COMMAND = Command(
    name="mydata",
    german="meine-daten",
    handler=meine_daten,
    aliases=("my-data",),
    scope=Scope.PERSONAL,
)
