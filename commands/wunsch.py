"""``!wunsch`` / ``!wish`` and ``!angebot wunsch``: "I looked for …, but found nothing".

``--anonym`` works as for ``!feedback``: only in a direct chat, stored without name, room, event
ID or time of day. Every named wish also counts its author once per topic word for the minimum
group of the gap report (``features/insights``), as a keyed hash that is deleted when the month is
over; anonymous wishes leave no such hash, so they count towards no group (the team reads them in
the feedback export).
"""

from __future__ import annotations

from bot.context import Context
from bot.features.feedback.anonymous import anonymous_times, refuse_anonymous_in_room
from bot.features.insights.record import wish_stems
from bot.privacy import remove_anonymous_flag
from bot.registry import Command, Scope
from bot.store.feedback import FeedbackRecord

MAX_WISH_CHARS = 1000
WISH_RATE_WINDOW_MS = 3600 * 1000


async def wish(ctx: Context, text: str) -> None:
    text, anonymous = remove_anonymous_flag(text)
    text = " ".join(text.split())
    if not text:
        await ctx.reply(ctx.text("angebot.chat.wish_empty"))
        return
    if len(text) > MAX_WISH_CHARS:
        await ctx.reply(ctx.text("angebot.chat.wish_too_long", limit=MAX_WISH_CHARS))
        return
    if anonymous and not ctx.is_direct:
        await refuse_anonymous_in_room(ctx, "privacy.anonymous.wish_room")
        return
    store = ctx.app.store
    # A re-run after a crash finds its wish already stored: confirm again, never refuse.
    if not await store.feedback_stored(ctx.incoming.event_id):
        limit = ctx.app.config.feedback.rate_limit
        since = ctx.incoming.timestamp_ms - WISH_RATE_WINDOW_MS
        times = anonymous_times(ctx.app, ctx.sender, "wish", since)
        if await store.count_feedback_since(ctx.sender, "wish", since) + len(times) >= limit:
            await ctx.reply(ctx.text("angebot.chat.wish_rate_limited", limit=limit))
            return
        tz = ctx.app.config.bot.tz
        record = FeedbackRecord(
            created_at=ctx.incoming.timestamp_ms,
            room_id=ctx.room_id,
            kind="wish",
            text=text,
            source_event_id=ctx.incoming.event_id,
            user_id=None if anonymous else ctx.sender,
            reference="angebot",
        )
        async with store.transaction():
            stored = await store.add_feedback(record, tz)
            if stored and not anonymous:
                # Not for anonymous wishes: the month's hash could be recomputed from a Matrix ID
                # by whoever holds the database, and would then name the author until month end.
                day = ctx.now.astimezone(tz).date()
                await store.count_people("wish", wish_stems(text), ctx.sender, day)
        if anonymous:
            times.append(ctx.incoming.timestamp_ms)
    shown = text if len(text) <= 120 else text[:119] + "…"
    await ctx.reply(ctx.text("angebot.chat.wish_thanks", text=shown))


async def wunsch(ctx: Context) -> None:
    await wish(ctx, ctx.args)


COMMAND = Command(name="wish", german="wunsch", handler=wunsch, scope=Scope.EVERYONE)
