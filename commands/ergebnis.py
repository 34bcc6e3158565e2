"""``!ergebnis`` / ``!results``: the current or final result of a poll as a text bar chart."""

from __future__ import annotations

from bot.context import Context
from bot.registry import Command
from commands.umfrage import current_tally, parse_poll_number, reconcile, results_message

_T = "umfrage."


async def ergebnis(ctx: Context) -> None:
    store = ctx.app.store
    wanted = ctx.args.strip()
    number = parse_poll_number(wanted) if wanted else None
    if wanted and number is None:
        await ctx.reply(ctx.text(_T + "err_results_syntax", value=wanted))
        return
    record = (
        await store.get_poll(number)
        if number
        else await store.latest_poll(ctx.room_id, open_only=False)
    )
    if record is None or record.room_id != ctx.room_id or record.status == "pending":
        key = "err_vote_unknown_poll" if number else "err_results_no_poll"
        await ctx.reply(ctx.text(_T + key, number=number or ""))
        return
    if record.is_open:
        # Catch up on responses the sync may have skipped; only matters while votes can change.
        await reconcile(ctx.app, record)
    result = await current_tally(ctx.app, record)
    await ctx.reply(results_message(ctx.app, record, result, ctx.t))


COMMAND = Command(name="results", german="ergebnis", handler=ergebnis)
