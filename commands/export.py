"""``!export feedback [xlsx|csv]``: the initiative team gets the feedback export as a file.

Only for ``access.team`` (team scope); the file goes only to the requester's verified direct chat,
asked in a room the room gets a short note. The file always carries pseudonyms made for this one
file and dates without times; stable pseudonyms, times and Matrix IDs stay a deliberate CLI
decision.
"""

from __future__ import annotations

from bot.context import Context
from bot.features.export.feedback import MIMETYPES, FeedbackExportRefused, export_bytes
from bot.registry import Command, Scope

DATASETS = frozenset({"feedback", "rückmeldungen", "rueckmeldungen"})
CHAT_FORMATS = ("xlsx", "csv")  # what opens directly in the office software


async def export(ctx: Context) -> None:
    words = [w.casefold() for w in ctx.args.split()]
    dataset = words[0] if words else "feedback"
    fmt = words[1].lstrip(".") if len(words) > 1 else CHAT_FORMATS[0]
    if dataset not in DATASETS or fmt not in CHAT_FORMATS or len(words) > 2:
        await ctx.reply(ctx.text("feedback.export.chat_usage", formats=", ".join(CHAT_FORMATS)))
        return
    try:
        data, count = await export_bytes(ctx.app.store, ctx.app.config, fmt)
    except FeedbackExportRefused as exc:
        await ctx.reply(ctx.text(exc.key, **exc.params))
        return
    day = ctx.now.astimezone(ctx.app.config.bot.tz).date().isoformat()
    filename = f"rueckmeldungen-{day}.{fmt}"
    await ctx.send_private_file(data, filename, MIMETYPES[fmt])
    await ctx.answer_privately(ctx.text("feedback.export.chat_done", count=count))


COMMAND = Command(
    name="export",
    german="export",
    handler=export,
    scope=Scope.TEAM,
)
