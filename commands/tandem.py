"""``!tandem``: Kaffee-Tandem – opt in, pause, opt out, status; ``runde`` for the team.

Logic, rounds and texts are :mod:`bot.features.tandem`; the scheduled round is its job
(``bot/wiring.py``).
"""

from __future__ import annotations

from bot.context import Context
from bot.features.tandem.members import opt_in, opt_out, pause, status
from bot.features.tandem.parse import parse_command
from bot.features.tandem.render import render_usage
from bot.features.tandem.rounds import load_member, next_round, run_round, save_member, starters
from bot.features.tandem.starters import known_topics
from bot.outcome import Rejected
from bot.registry import Command, Scope, SubScope


async def tandem(ctx: Context) -> None:
    parsed = parse_command(ctx.args)
    if isinstance(parsed, Rejected):
        await ctx.reply(parsed.message(ctx.t, ctx.prefix))
        return
    app, now = ctx.app, ctx.now
    if parsed.action == "help":
        await ctx.reply(render_usage(ctx.t, ctx.prefix))
        return
    if parsed.action == "round":  # organisation scope, checked by the core
        report = await run_round(app, now, f"manual:{ctx.incoming.event_id}", wait=False)
        await ctx.reply(report)
        return
    member = await load_member(app, ctx.sender)
    if parsed.action == "on":
        suggestions = known_topics(starters(app))
        updated, joined = opt_in(
            member, ctx.sender, parsed.topics, await next_round(app, now), suggestions
        )
        await save_member(app, updated)
        await ctx.reply(joined.message(ctx.t, ctx.prefix))
    elif parsed.action == "off":
        outcome = opt_out(member)
        if outcome.ok:
            await app.store.delete_tandem_member(ctx.sender)
        await ctx.reply(outcome.message(ctx.t, ctx.prefix))
    elif parsed.action == "pause":
        result = pause(member, now, parsed.pause_days, app.config.bot.tz)
        if isinstance(result, Rejected):
            await ctx.reply(result.message(ctx.t, ctx.prefix))
            return
        await save_member(app, result[0])
        await ctx.reply(result[1].message(ctx.t, ctx.prefix))
    elif parsed.action == "status":
        outcome = status(member, now, await next_round(app, now))
        await ctx.reply(outcome.message(ctx.t, ctx.prefix))


COMMAND = Command(
    name="tandem",
    german="tandem",
    handler=tandem,
    scope=Scope.PERSONAL,
    subscopes=(SubScope(Scope.ORGANISATION, "runde", "round"),),
)
