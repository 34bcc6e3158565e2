"""A room's impulse subscription: subscribe, unsubscribe, pause, resume and topics.

Each function handles one ``!impuls`` sub-command for the room of ``ctx`` and returns the answer;
the room scope (power level) is checked by the core before.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.features.impulses.model import ImpulseLibrary, upcoming
from bot.features.impulses.render import describe_schedule, format_date, format_slot
from bot.features.impulses.schedule import parse_schedule
from bot.features.impulses.scheduler import from_ms, next_due_ms, to_ms, upcoming_slots
from bot.features.impulses.state import impulses_state
from bot.sending import shorten
from bot.store.impulses import ImpulseSubscription
from bot.text.bounds import MAX_PAUSE_DAYS
from bot.text.i18n import Message, Texts, join
from bot.text.problems import ParseProblem

if TYPE_CHECKING:
    from bot.context import Context

# "Until further notice": the schedule treats a pause up to the last representable day as endless.
PAUSE_FOREVER = dt.date.max
ALL_TOPICS = frozenset({"alle", "all", "keine", "none", "*"})
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})?$")
_NOTHING = Message("", "")


def normalize_topic(topic: str) -> str:
    return topic.strip().casefold().translate(_UMLAUTS)


def topics_text(topics: tuple[str, ...], texts: Texts) -> str:
    return ", ".join(topics) if topics else texts.raw("impuls.command.topics_all")


async def next_line(ctx: Context, sub: ImpulseSubscription, after: dt.datetime) -> Message:
    """'Next: <when> – <title>' for the subscription, or nothing if nothing is coming."""
    slots = upcoming_slots(ctx.app, sub, after, 1)
    if not slots:
        return _NOTHING
    history = await ctx.app.store.impulse_history(ctx.room_id)
    coming = upcoming(impulses_state(ctx.app).library, history, sub.topics, 1)
    if not coming:
        return _NOTHING
    when = format_slot(slots[0], ctx.app.config.bot.tz, ctx.t)
    return ctx.text("impuls.command.next", when=when, title=coming[0].title)


def not_subscribed(ctx: Context) -> Message:
    return ctx.text("impuls.command.not_subscribed")


async def subscribe(ctx: Context, args: str) -> Message:
    try:
        schedule = parse_schedule(args)
    except ParseProblem as exc:
        return join([exc.message(ctx.t), ctx.text("impuls.command.subscribe_example")])
    now = ctx.now
    existing = await ctx.app.store.get_impulse_subscription(ctx.room_id)
    sub = ImpulseSubscription(
        room_id=ctx.room_id,
        schedule=schedule.spec,
        topics=existing.topics if existing else (),
        pause_until=None,
        watermark_ms=to_ms(now),  # nothing before the moment of subscribing is due
        created_at=existing.created_at if existing else to_ms(now),
    )
    sub = replace(sub, next_due_ms=next_due_ms(ctx.app, sub, now))
    await ctx.app.store.save_impulse_subscription(sub)
    parts = [ctx.text("impuls.command.subscribed", schedule=describe_schedule(schedule, ctx.t))]
    state = ctx.app.config.impulses.holidays_state
    if state:
        parts.append(ctx.text("impuls.command.holidays_note", state=state))
    parts.append(await next_line(ctx, sub, now))
    return join(parts)


async def unsubscribe(ctx: Context, args: str) -> Message:
    if await ctx.app.store.delete_impulse_subscription(ctx.room_id):
        return ctx.text("impuls.command.unsubscribed")
    return not_subscribed(ctx)


def parse_pause_date(text: str, today: dt.date) -> dt.date | None:
    """'bis 24.12.2026', '24.12.26', '24.12.' (next occurrence) or ISO; None if not a date."""
    words = text.strip().split()
    if words and words[0].casefold() in ("bis", "until", "zum", "to"):
        words = words[1:]
    if len(words) != 1:
        return None
    token = words[0]
    with contextlib.suppress(ValueError):
        return dt.date.fromisoformat(token)
    match = _DATE.match(token if token.count(".") == 2 else token + ".")
    if match is None:
        return None
    day, month, year = int(match.group(1)), int(match.group(2)), match.group(3)
    try:
        if year is None:
            candidate = dt.date(today.year, month, day)
            return candidate if candidate >= today else dt.date(today.year + 1, month, day)
        return dt.date(int(year) + (2000 if len(year) == 2 else 0), month, day)
    except ValueError:
        return None


def _pause_end(ctx: Context, args: str) -> dt.date | Message:
    """The last paused day, or the answer explaining why ``args`` is not one."""
    if not args.strip():
        return PAUSE_FOREVER
    today = ctx.now.astimezone(ctx.app.config.bot.tz).date()
    parsed = parse_pause_date(args, today)
    if parsed is None:
        return ctx.text("impuls.command.err_pause_date", token=shorten(args.strip()))
    if parsed < today:
        example = f"{today + dt.timedelta(days=14):%d.%m.%Y}"
        date = format_date(parsed, ctx.t)
        return ctx.text("impuls.command.err_pause_past", date=date, example=example)
    latest = today + dt.timedelta(days=MAX_PAUSE_DAYS)
    if parsed > latest:
        return ctx.text("limits.pause_date_range", latest=format_date(latest, ctx.t))
    return parsed


async def pause(ctx: Context, args: str) -> Message:
    until = _pause_end(ctx, args)
    if isinstance(until, Message):
        return until
    sub = await ctx.app.store.get_impulse_subscription(ctx.room_id)
    if sub is None:
        return not_subscribed(ctx)
    sub = replace(sub, pause_until=until)
    after = max(ctx.now, from_ms(sub.watermark_ms))
    sub = replace(sub, next_due_ms=next_due_ms(ctx.app, sub, after))
    await ctx.app.store.save_impulse_subscription(sub)
    if until == PAUSE_FOREVER:
        return ctx.text("impuls.command.paused")
    paused = ctx.text("impuls.command.paused_until", date=format_date(until, ctx.t))
    return join([paused, await next_line(ctx, sub, after)])


async def resume(ctx: Context, args: str) -> Message:
    sub = await ctx.app.store.get_impulse_subscription(ctx.room_id)
    if sub is None:
        return not_subscribed(ctx)
    was_paused = sub.pause_until is not None
    # Slots that fell into the pause are not caught up afterwards.
    watermark = max(sub.watermark_ms, to_ms(ctx.now))
    sub = replace(sub, pause_until=None, watermark_ms=watermark)
    sub = replace(sub, next_due_ms=next_due_ms(ctx.app, sub, from_ms(watermark)))
    await ctx.app.store.save_impulse_subscription(sub)
    key = "impuls.command.resumed" if was_paused else "impuls.command.not_paused"
    return join([ctx.text(key), await next_line(ctx, sub, ctx.now)])


def resolve_topics(words: list[str], library: ImpulseLibrary) -> tuple[tuple[str, ...], list[str]]:
    """Known topics in the library's spelling, and the words that match none."""
    known = {normalize_topic(topic): topic for topic in library.topics()}
    found: dict[str, str] = {}
    unknown: list[str] = []
    for word in words:
        topic = known.get(normalize_topic(word))
        if topic is None:
            unknown.append(word)
        else:
            found.setdefault(topic, topic)
    return tuple(found), unknown


async def topics(ctx: Context, args: str) -> Message:
    sub = await ctx.app.store.get_impulse_subscription(ctx.room_id)
    if sub is None:
        return not_subscribed(ctx)
    library = impulses_state(ctx.app).library
    available = ", ".join(library.topics())
    text = args.strip()
    if not text:
        current = topics_text(sub.topics, ctx.t)
        return join(
            [
                ctx.text("impuls.command.topics_current", current=current),
                ctx.text("impuls.command.topics_available", available=available),
                ctx.text("impuls.command.topics_hint"),
            ]
        )
    if normalize_topic(text) in ALL_TOPICS:
        chosen: tuple[str, ...] = ()
    else:
        words = [w for w in re.split(r"[,;]", text) if w.strip()]
        chosen, unknown = resolve_topics(words, library)
        if unknown and len(words) == 1:
            # "themen daten beteiligung" without commas: try the words one by one.
            chosen, unknown = resolve_topics(text.split(), library)
        if unknown:
            return ctx.text(
                "impuls.command.err_topics_unknown",
                unknown=", ".join(w.strip() for w in unknown),
                available=available,
                example=", ".join(library.topics()[:2]),
            )
    await ctx.app.store.save_impulse_subscription(replace(sub, topics=chosen))
    count = len(library.matching(chosen))
    if chosen:
        return ctx.text("impuls.command.topics_set", topics=", ".join(chosen), count=count)
    return ctx.text("impuls.command.topics_cleared", count=count)
