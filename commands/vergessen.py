"""``!vergessen`` / ``!forget``: delete everything linked to the sender, after confirmation."""

from __future__ import annotations

from bot.context import Context
from bot.features.feedback.state import AnonymousTimes, ForgetRequests
from bot.personal_data import collect, erase
from bot.privacy import count_entries, describe_counts
from bot.registry import Command, Scope
from bot.text.i18n import join

CONFIRM_WORDS = frozenset({"bestätigen", "bestaetigen", "bestatigen", "confirm", "ja", "yes"})
CONFIRM_WINDOW_MS = 5 * 60 * 1000
DONE_KEY = "forgotten:{event_id}"  # a re-run of the confirmation says "done", not "no request"


async def vergessen(ctx: Context) -> None:
    word = ctx.args.strip().casefold()
    if not word:
        await request(ctx)
    elif word in CONFIRM_WORDS:
        await confirm(ctx)
    else:
        await ctx.reply(ctx.text("feedback.forget.no_request"))


async def request(ctx: Context) -> None:
    store = ctx.app.store
    counts = count_entries(await collect(store, ctx.sender))
    if not any(counts.values()):
        await ctx.reply(ctx.text("feedback.forget.nothing"))
        return
    ctx.app.state.get(ForgetRequests).pending[ctx.sender] = ctx.incoming.timestamp_ms
    minutes = CONFIRM_WINDOW_MS // 60_000
    summary = describe_counts(ctx.t, counts)
    await ctx.reply(ctx.text("feedback.forget.confirm", summary=summary, minutes=minutes))


async def confirm(ctx: Context) -> None:
    store = ctx.app.store
    done_key = DONE_KEY.format(event_id=ctx.incoming.event_id)
    requested = ctx.app.state.get(ForgetRequests).pending.pop(ctx.sender, None)
    if requested is None:
        done = await store.get_value(done_key)
        await ctx.reply(
            ctx.text("feedback.forget.already_done" if done else "feedback.forget.no_request")
        )
        return
    if not 0 <= ctx.incoming.timestamp_ms - requested <= CONFIRM_WINDOW_MS:
        await ctx.reply(ctx.text("feedback.forget.expired"))
        return
    counts = await erase(store, ctx.sender)
    ctx.app.private.forget_user(ctx.sender)  # the in-memory mirror of the DM record
    await store.set_value(done_key, "1")
    ctx.app.state.get(AnonymousTimes).forget(ctx.sender)
    contact = ctx.app.config.privacy.contact
    await ctx.reply(
        join(
            [
                ctx.text("feedback.forget.done", summary=describe_counts(ctx.t, counts)),
                ctx.text("feedback.forget.done_note", contact=contact),
            ]
        )
    )


COMMAND = Command(name="forget", german="vergessen", handler=vergessen, scope=Scope.PERSONAL)
