"""``!ergebnis`` / ``!results``: the current or final result of a poll as a text bar chart.

Works for every recorded poll: by number, as a reply to the poll (or in its thread), or the
room's latest.
"""

from __future__ import annotations

from bot.context import Context
from bot.features.polls.live import reconcile
from bot.features.polls.lookup import find_poll
from bot.features.polls.parse import parse_poll_number
from bot.features.polls.view import current_result, results_message
from bot.registry import Command, Scope

_T = "umfrage."


async def ergebnis(ctx: Context) -> None:
    wanted = ctx.args.strip()
    number = parse_poll_number(wanted) if wanted else None
    if wanted and number is None:
        await ctx.reply(ctx.text(_T + "err_results_syntax", value=wanted))
        return
    record = await find_poll(ctx, number, open_only=False, missing_key="err_results_no_poll")
    if record is None:
        return
    if record.is_open:
        # Catch up on responses the sync may have skipped; only matters while votes can change.
        await reconcile(ctx.app, record)
    result = await current_result(ctx.app, record)
    await ctx.reply(await results_message(ctx.app, record, result, ctx.t))


COMMAND = Command(name="results", german="ergebnis", handler=ergebnis, scope=Scope.EVERYONE)
