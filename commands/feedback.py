"""``!feedback`` / ``!rueckmeldung``: feedback for the initiative team, in a room or a DM.

Also ``!feedback übersicht`` (team: counts per week and room, average rating, most-reacted
impulses). The logic lives in ``bot/features/feedback/``.
"""

from __future__ import annotations

from bot.context import Context
from bot.features.feedback.anonymous import refuse_anonymous_in_room
from bot.features.feedback.overview import overview
from bot.features.feedback.recording import record_feedback
from bot.features.feedback.rooms import remember_room_name
from bot.privacy import FeedbackInput, FeedbackInputError, parse_feedback
from bot.registry import Command, Scope, SubScope

CONFIRM_REACTION = "✅"
OVERVIEW_WORDS = frozenset({"übersicht", "uebersicht", "ubersicht", "overview"})


async def feedback(ctx: Context) -> None:
    await remember_room_name(ctx.app, ctx.room_id)
    words = ctx.args.split()
    if len(words) == 1 and words[0].casefold() in OVERVIEW_WORDS:
        await ctx.answer_privately(await overview(ctx.app, ctx.t, ctx.now))
        return
    try:
        parsed = parse_feedback(ctx.args)
    except FeedbackInputError as exc:
        await ctx.reply(ctx.text(exc.key, **exc.params))
        return
    if parsed.anonymous and not ctx.is_direct:
        await refuse_anonymous_in_room(ctx, "privacy.anonymous.feedback_room")
        return
    if not await record_feedback(ctx.app, ctx.incoming, parsed):
        await ctx.reply(ctx.text("feedback.rate_limited", limit=ctx.app.config.feedback.rate_limit))
        return
    await _confirm(ctx, parsed)


async def _confirm(ctx: Context, parsed: FeedbackInput) -> None:
    if not ctx.is_direct:
        # In a room a reaction is enough: the text is not repeated for everyone to read.
        await ctx.react(CONFIRM_REACTION)
    elif parsed.anonymous:
        await ctx.reply(ctx.text("feedback.received_anonymous"))
    elif parsed.rating is not None:
        await ctx.reply(ctx.text("feedback.received_rating", rating=parsed.rating))
    else:
        await ctx.reply(ctx.text("feedback.received"))


COMMAND = Command(
    name="feedback",
    german="feedback",
    handler=feedback,
    aliases=("rueckmeldung", "rückmeldung"),
    scope=Scope.EVERYONE,
    subscopes=(SubScope(Scope.TEAM, *OVERVIEW_WORDS),),
)
