"""``!impuls``: daily knowledge impulses – subscription, scheduler, posting exactly once, feedback.

Exactly-once protocol for one post (scheduled slot, ``!impuls jetzt`` or a repeat):

1. claim: ``impulse_posts`` gets the row "room R, key K gets impulse I" (status ``claimed``) BEFORE
   anything is sent. An existing row wins, so a re-run picks the SAME impulse.
2. send with the transaction ID ``txn_id("impulse", R, K)`` on the bot's persisted device: if the
   first attempt reached the homeserver before a crash, the homeserver answers the retry with the
   event it already has instead of posting again.
3. record: status ``posted`` plus the event ID.

Every scheduler tick first re-sends claims left open by a crash (within ``impulses.catch_up``),
then handles subscriptions whose stored ``next_due_ms`` has come. Slots are computed in the room's
configured time zone by :mod:`bot.features.impulses.schedule` and compared as UTC instants.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from bot.context import Context
from bot.events import content_of, event_type, reaction, redacted_event, referenced_event, relation
from bot.features.impulses.library import (
    Impulse,
    ImpulseError,
    ImpulseLibrary,
    choose_next,
    load_impulses,
    render_impulse,
    render_plan,
    upcoming,
)
from bot.features.impulses.schedule import (
    ScheduleSyntaxError,
    describe_schedule,
    due_slot,
    format_date,
    format_slot,
    next_slots,
    parse_schedule,
    slot_key,
)
from bot.matrix.outgoing import shorten
from bot.matrix.shell import SendFailed, txn_id
from bot.registry import Command, Job, Scope, SubScope
from bot.store.feedback import FeedbackRecord
from bot.store.impulses import ImpulsePost, ImpulseSubscription
from bot.text.bounds import MAX_PAUSE_DAYS
from bot.text.i18n import Message, Texts, join
from bot.text.parsing import strip_reply_fallback

if TYPE_CHECKING:
    from bot.app import Impulsbot

log = logging.getLogger(__name__)

UTC = dt.UTC
FEATURE = "impuls"
TICK_SECONDS = 1.0
PLAN_LENGTH = 5
# "Until further notice": the schedule treats a pause up to the last representable day as endless.
PAUSE_FOREVER = dt.date.max

SUBCOMMANDS = {
    "abonnieren": "subscribe",
    "subscribe": "subscribe",
    "abo": "subscribe",
    "abbestellen": "unsubscribe",
    "unsubscribe": "unsubscribe",
    "kündigen": "unsubscribe",
    "pause": "pause",
    "pausieren": "pause",
    "weiter": "resume",
    "fortsetzen": "resume",
    "resume": "resume",
    "themen": "topics",
    "thema": "topics",
    "topics": "topics",
    "plan": "plan",
    "jetzt": "now",
    "now": "now",
    "vorschau": "preview",
    "preview": "preview",
}
# What the refusal text names, per language of the room.
GERMAN_SUBCOMMAND = {
    "subscribe": "abonnieren",
    "unsubscribe": "abbestellen",
    "pause": "pause",
    "resume": "weiter",
    "topics": "themen",
    "plan": "plan",
    "now": "jetzt",
    "preview": "vorschau",
}
ALL_TOPICS = frozenset({"alle", "all", "keine", "none", "*"})
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})?$")


# --------------------------------------------------------------------------------------------
# Feature state
# --------------------------------------------------------------------------------------------


@dataclass
class ImpulseFeature:
    library: ImpulseLibrary
    # (room, key) pairs being sent right now: the tick must not re-send a claim still in flight.
    in_flight: set[tuple[str, str]] = field(default_factory=set)

    @contextlib.contextmanager
    def sending(self, room_id: str, key: str) -> Iterator[bool]:
        """Yields False when another task is already sending this post."""
        marker = (room_id, key)
        if marker in self.in_flight:
            yield False
            return
        self.in_flight.add(marker)
        try:
            yield True
        finally:
            self.in_flight.discard(marker)


def feature(app: Impulsbot) -> ImpulseFeature:
    return app.features[FEATURE]


async def setup(app: Impulsbot) -> None:
    """Load the impulses at start-up; broken files stop the bot with every problem listed."""
    try:
        library = load_impulses(app.config.content.directory, app.config.bot.language)
    except ImpulseError as exc:
        raise RuntimeError("impulse files have problems:\n" + "\n".join(exc.problems)) from exc
    log.info("loaded %d impulses", len(library))
    app.features[FEATURE] = ImpulseFeature(library)


# --------------------------------------------------------------------------------------------
# Time helpers
# --------------------------------------------------------------------------------------------


def to_ms(moment: dt.datetime) -> int:
    return int(moment.astimezone(UTC).timestamp() * 1000)


def from_ms(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, UTC)


def catch_up(app: Impulsbot) -> dt.timedelta:
    return dt.timedelta(seconds=app.config.impulses.catch_up_seconds)


def upcoming_slots(
    app: Impulsbot, sub: ImpulseSubscription, after: dt.datetime, count: int
) -> list[dt.datetime]:
    return next_slots(
        parse_schedule(sub.schedule),
        app.config.bot.tz,
        after,
        count,
        pause_until=sub.pause_until,
        holidays_state=app.config.impulses.holidays_state,
    )


def next_due_ms(app: Impulsbot, sub: ImpulseSubscription, after: dt.datetime) -> int | None:
    slots = upcoming_slots(app, sub, after, 1)
    return to_ms(slots[0]) if slots else None


# --------------------------------------------------------------------------------------------
# Posting protocol
# --------------------------------------------------------------------------------------------


async def claim_next(
    app: Impulsbot,
    room_id: str,
    key: str,
    kind: str,
    topics: tuple[str, ...],
    now: dt.datetime,
    due_at: dt.datetime,
) -> ImpulsePost | None:
    """Step 1: the existing claim for this key, or a new one for the room's next impulse."""
    existing = await app.store.get_impulse_post(room_id, key)
    if existing is not None:
        return existing
    history = await app.store.impulse_history(room_id)
    impulse = choose_next(feature(app).library, history, topics)
    if impulse is None:
        return None
    return await app.store.claim_impulse(room_id, key, kind, impulse.id, to_ms(now), to_ms(due_at))


def post_txn(post: ImpulsePost) -> str:
    return txn_id("impulse", post.room_id, post.slot_key)


async def deliver(app: Impulsbot, post: ImpulsePost) -> str | None:
    """Steps 2 and 3: send the claimed impulse (deduplicated by its txn ID), then record it."""
    if post.status != "claimed":
        return post.event_id
    with feature(app).sending(post.room_id, post.slot_key) as mine:
        if not mine:
            return None
        impulse = feature(app).library.get(post.impulse_id)
        if impulse is None:
            log.warning(
                "impulse %s no longer exists; claim in %s dropped", post.impulse_id, post.room_id
            )
            await app.store.abandon_impulse_claim(post.room_id, post.slot_key)
            return None
        if post.room_id not in app.shell.client.rooms:
            # After a restart the client learns a room only from the sync; keep the claim and
            # retry on a later tick instead of blocking the scheduler or dropping the post.
            log.debug("room %s not synced yet; impulse %s waits", post.room_id, post.slot_key)
            return None
        texts = await app.room_texts(post.room_id)
        content = app.message_content(render_impulse(impulse, texts.lang))
        try:
            event_id = await app.shell.send(post.room_id, "m.room.message", content, post_txn(post))
        except SendFailed as exc:
            log.warning("impulse %s for %s not posted: %s", post.slot_key, post.room_id, exc)
            await app.store.abandon_impulse_claim(post.room_id, post.slot_key)
            return None
        await app.store.mark_impulse_posted(post.room_id, post.slot_key, event_id, to_ms(app.now()))
        log.info("posted impulse %s to %s (%s)", impulse.id, post.room_id, post.slot_key)
        return event_id


async def resume_open_claims(app: Impulsbot, now: dt.datetime) -> int:
    """Re-send claims a crash left open; too old ones are given up (and logged). Returns sends."""
    sent = 0
    for post in await app.store.open_impulse_claims():
        if (post.room_id, post.slot_key) in feature(app).in_flight:
            continue
        if now - from_ms(post.due_at) > catch_up(app):
            log.warning(
                "impulse %s in %s was claimed but not confirmed and is older than catch_up;"
                " not re-sent",
                post.slot_key,
                post.room_id,
            )
            await app.store.abandon_impulse_claim(post.room_id, post.slot_key)
            continue
        if post.kind == "repeat":
            continue  # a reply to a command: the command's own re-run completes it
        log.info("re-sending open impulse claim %s in %s", post.slot_key, post.room_id)
        if sent:
            await pace(app)
        try:
            if await deliver(app, post):
                sent += 1
        except Exception:
            log.exception(
                "re-sending %s in %s failed; retried next tick", post.slot_key, post.room_id
            )
    return sent


async def process_subscription(
    app: Impulsbot, sub: ImpulseSubscription, now: dt.datetime
) -> ImpulsePost | None:
    """Decide what is due for one subscription, claim it and move the subscription on."""
    if await app.store.room_joined_at(sub.room_id) is None:
        # The bot has left the room (the core forgets rooms it leaves): nothing to post to.
        log.info("bot is no longer in %s; impulse subscription removed", sub.room_id)
        await app.store.delete_impulse_subscription(sub.room_id)
        return None
    tz = app.config.bot.tz
    decision = due_slot(
        parse_schedule(sub.schedule),
        tz,
        from_ms(sub.watermark_ms),
        now,
        catch_up(app),
        pause_until=sub.pause_until,
        holidays_state=app.config.impulses.holidays_state,
    )
    for missed in decision.skipped:
        log.warning(
            "impulse slot %s in %s missed (bot was down longer than catch_up); skipped",
            slot_key(missed, tz),
            sub.room_id,
        )
    post = None
    watermark = sub.watermark_ms
    if decision.slot is not None:
        key = f"slot:{slot_key(decision.slot, tz)}"
        post = await claim_next(app, sub.room_id, key, "slot", sub.topics, now, decision.slot)
        if post is None:
            log.warning("no impulse matches the topics of %s; slot %s left out", sub.room_id, key)
        watermark = to_ms(decision.slot)
    elif decision.skipped:
        watermark = to_ms(decision.skipped[-1])
    # Everything up to now is handled, so the next due slot is the first one after now.
    after = max(now, from_ms(watermark))
    await app.store.advance_impulse_subscription(
        sub.room_id, watermark, next_due_ms(app, sub, after)
    )
    return post


async def pace(app: Impulsbot) -> None:
    await asyncio.sleep(app.config.matrix.send_interval_ms / 1000)


async def run_due(app: Impulsbot, now: dt.datetime) -> int:
    """The scheduler tick (every second): cheap unless something is due. Returns posts sent."""
    sent = await resume_open_claims(app, now)
    for sub in await app.store.due_impulse_subscriptions(to_ms(now)):
        try:
            post = await process_subscription(app, sub, now)
            if post is None:
                continue
            if sent:
                await pace(app)  # many rooms at 09:00: stay below the homeserver's rate limit
            if await deliver(app, post):
                sent += 1
        except Exception:
            log.exception("impulse for %s failed; retried on the next tick", sub.room_id)
    return sent


# --------------------------------------------------------------------------------------------
# Feedback: reactions, replies and thread replies to impulse posts
# --------------------------------------------------------------------------------------------


async def on_event(app: Impulsbot, room_id: str, event: Any) -> None:
    redacted = redacted_event(event)
    if redacted is not None:
        await app.store.remove_feedback_by_source(redacted)
        return
    found = reaction(event)
    if found is not None:
        await _record(app, room_id, event, "reaction", found.target, found.key)
        return
    content = content_of(event)
    if event_type(event) != "m.room.message" or relation(content).is_edit:
        return  # edits are not new feedback
    if content.get("msgtype") == "m.notice":
        return  # notices come from bots
    body = strip_reply_fallback(str(content.get("body") or "")).strip()
    if not body or body.startswith(app.config.bot.prefix):
        return  # commands are not feedback
    await _record(app, room_id, event, "reply", referenced_event(content), body)


async def _record(
    app: Impulsbot, room_id: str, event: Any, kind: str, target: Any, text: Any
) -> None:
    if not isinstance(target, str) or not isinstance(text, str):
        return
    impulse_id = await app.store.impulse_of_event(room_id, target)
    if impulse_id is None:
        return
    await app.store.add_feedback(
        FeedbackRecord(
            created_at=int(getattr(event, "server_timestamp", 0) or to_ms(app.now())),
            room_id=room_id,
            kind=kind,
            text=text,
            source_event_id=event.event_id,
            user_id=getattr(event, "sender", None),
            reference=f"impuls:{impulse_id}",
        )
    )


# --------------------------------------------------------------------------------------------
# Command handlers
# --------------------------------------------------------------------------------------------


def normalize_topic(topic: str) -> str:
    return topic.strip().casefold().translate(_UMLAUTS)


def topics_text(topics: tuple[str, ...], texts: Texts) -> str:
    return ", ".join(topics) if topics else texts.raw("impuls.command.topics_all")


def slot_line(ctx: Context, slot: dt.datetime, impulse: Impulse | None) -> Message | None:
    if impulse is None:
        return None
    when = format_slot(slot, ctx.app.config.bot.tz, ctx.t)
    return ctx.text("impuls.command.next", when=when, title=impulse.title)


async def next_line(ctx: Context, sub: ImpulseSubscription, after: dt.datetime) -> Message | None:
    """'Next: <when> – <title>' for the subscription, if anything is coming."""
    slots = upcoming_slots(ctx.app, sub, after, 1)
    if not slots:
        return None
    history = await ctx.app.store.impulse_history(ctx.room_id)
    coming = upcoming(feature(ctx.app).library, history, sub.topics, 1)
    return slot_line(ctx, slots[0], coming[0] if coming else None)


async def require_subscription(ctx: Context) -> ImpulseSubscription | None:
    sub = await ctx.app.store.get_impulse_subscription(ctx.room_id)
    if sub is None:
        await ctx.reply(ctx.text("impuls.command.not_subscribed"))
    return sub


async def subscribe(ctx: Context, args: str) -> None:
    try:
        schedule = parse_schedule(args)
    except ScheduleSyntaxError as exc:
        await ctx.reply(join([exc.message(ctx.t), ctx.text("impuls.command.subscribe_example")]))
        return
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
    parts.append(await next_line(ctx, sub, now) or Message("", ""))
    await ctx.reply(join(parts))


async def unsubscribe(ctx: Context, args: str) -> None:
    if await ctx.app.store.delete_impulse_subscription(ctx.room_id):
        await ctx.reply(ctx.text("impuls.command.unsubscribed"))
    else:
        await ctx.reply(ctx.text("impuls.command.not_subscribed"))


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


async def pause(ctx: Context, args: str) -> None:
    today = ctx.now.astimezone(ctx.app.config.bot.tz).date()
    until = PAUSE_FOREVER
    if args.strip():
        parsed = parse_pause_date(args, today)
        if parsed is None:
            await ctx.reply(ctx.text("impuls.command.err_pause_date", token=shorten(args.strip())))
            return
        if parsed < today:
            example = f"{today + dt.timedelta(days=14):%d.%m.%Y}"
            date = format_date(parsed, ctx.t)
            await ctx.reply(ctx.text("impuls.command.err_pause_past", date=date, example=example))
            return
        latest = today + dt.timedelta(days=MAX_PAUSE_DAYS)
        if parsed > latest:
            await ctx.reply(ctx.text("limits.pause_date_range", latest=format_date(latest, ctx.t)))
            return
        until = parsed
    sub = await require_subscription(ctx)
    if sub is None:
        return
    sub = replace(sub, pause_until=until)
    after = max(ctx.now, from_ms(sub.watermark_ms))
    sub = replace(sub, next_due_ms=next_due_ms(ctx.app, sub, after))
    await ctx.app.store.save_impulse_subscription(sub)
    if until == PAUSE_FOREVER:
        await ctx.reply(ctx.text("impuls.command.paused"))
        return
    parts = [ctx.text("impuls.command.paused_until", date=format_date(until, ctx.t))]
    parts.append(await next_line(ctx, sub, after) or Message("", ""))
    await ctx.reply(join(parts))


async def resume(ctx: Context, args: str) -> None:
    sub = await require_subscription(ctx)
    if sub is None:
        return
    was_paused = sub.pause_until is not None
    # Slots that fell into the pause are not caught up afterwards.
    watermark = max(sub.watermark_ms, to_ms(ctx.now))
    sub = replace(sub, pause_until=None, watermark_ms=watermark)
    sub = replace(sub, next_due_ms=next_due_ms(ctx.app, sub, from_ms(watermark)))
    await ctx.app.store.save_impulse_subscription(sub)
    key = "impuls.command.resumed" if was_paused else "impuls.command.not_paused"
    await ctx.reply(join([ctx.text(key), await next_line(ctx, sub, ctx.now) or Message("", "")]))


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


async def topics(ctx: Context, args: str) -> None:
    sub = await require_subscription(ctx)
    if sub is None:
        return
    library = feature(ctx.app).library
    available = ", ".join(library.topics())
    text = args.strip()
    if not text:
        await ctx.reply(
            join(
                [
                    ctx.text(
                        "impuls.command.topics_current", current=topics_text(sub.topics, ctx.t)
                    ),
                    ctx.text("impuls.command.topics_available", available=available),
                    ctx.text("impuls.command.topics_hint"),
                ]
            )
        )
        return
    if normalize_topic(text) in ALL_TOPICS:
        chosen: tuple[str, ...] = ()
    else:
        words = [w for w in re.split(r"[,;]", text) if w.strip()]
        chosen, unknown = resolve_topics(words, library)
        if unknown and len(words) == 1:
            # "themen daten beteiligung" without commas: try the words one by one.
            chosen, unknown = resolve_topics(text.split(), library)
        if unknown:
            example = ", ".join(library.topics()[:2])
            await ctx.reply(
                ctx.text(
                    "impuls.command.err_topics_unknown",
                    unknown=", ".join(w.strip() for w in unknown),
                    available=available,
                    example=example,
                )
            )
            return
    await ctx.app.store.save_impulse_subscription(replace(sub, topics=chosen))
    count = len(library.matching(chosen))
    if chosen:
        await ctx.reply(
            ctx.text("impuls.command.topics_set", topics=", ".join(chosen), count=count)
        )
    else:
        await ctx.reply(ctx.text("impuls.command.topics_cleared", count=count))


async def plan(ctx: Context, args: str) -> None:
    sub = await require_subscription(ctx)
    if sub is None:
        return
    if sub.pause_until == PAUSE_FOREVER:
        await ctx.reply(ctx.text("impuls.command.paused"))
        return
    now = ctx.now
    slots = upcoming_slots(ctx.app, sub, max(now, from_ms(sub.watermark_ms)), PLAN_LENGTH)
    history = await ctx.app.store.impulse_history(ctx.room_id)
    coming = upcoming(feature(ctx.app).library, history, sub.topics, len(slots))
    message = render_plan(
        list(zip(slots, coming, strict=False)),
        parse_schedule(sub.schedule),
        ctx.app.config.bot.tz,
        ctx.t.lang,
        now=now,
        pause_until=sub.pause_until,
        holidays_state=ctx.app.config.impulses.holidays_state,
    )
    await ctx.reply(message)


async def post_now(ctx: Context, args: str) -> None:
    sub = await ctx.app.store.get_impulse_subscription(ctx.room_id)
    chosen = sub.topics if sub else ()
    key = f"now:{ctx.incoming.event_id}"  # a re-run of this command reuses claim and txn ID
    now = ctx.now
    post = await claim_next(ctx.app, ctx.room_id, key, "now", chosen, now, now)
    if post is None:
        await ctx.reply(ctx.text("impuls.command.no_impulse", topics=topics_text(chosen, ctx.t)))
        return
    await deliver(ctx.app, post)


async def preview(ctx: Context, args: str) -> None:
    sub = await ctx.app.store.get_impulse_subscription(ctx.room_id)
    chosen = sub.topics if sub else ()
    history = await ctx.app.store.impulse_history(ctx.room_id)
    impulse = choose_next(feature(ctx.app).library, history, chosen)
    if impulse is None:
        await ctx.reply(ctx.text("impuls.command.no_impulse", topics=topics_text(chosen, ctx.t)))
        return
    when = ""
    if sub is not None:
        slots = upcoming_slots(ctx.app, sub, max(ctx.now, from_ms(sub.watermark_ms)), 1)
        if slots:
            slot = format_slot(slots[0], ctx.app.config.bot.tz, ctx.t)
            when = ctx.t.raw("impuls.command.preview_when").format(when=slot)
    if ctx.is_direct:
        header = ctx.text("impuls.command.preview_header_here", when=when)
    else:
        room = ctx.app.shell.client.rooms.get(ctx.room_id)
        name = room.display_name if room is not None else ctx.room_id
        header = ctx.text("impuls.command.preview_header", room=name, when=when)
    message = join([header, render_impulse(impulse, ctx.t.lang)], separator="\n\n")
    if ctx.is_direct:
        await ctx.answer_privately(message)
        return
    await ctx.send_direct(message)  # waits in the store until the person has joined
    await ctx.reply(ctx.text("impuls.command.preview_sent"))


async def repeat_latest(ctx: Context) -> None:
    latest = await ctx.app.store.latest_impulse_post(ctx.room_id)
    impulse = feature(ctx.app).library.get(latest.impulse_id) if latest else None
    if latest is None or impulse is None:
        await ctx.reply(ctx.text("impuls.command.nothing_posted"))
        return
    posted = from_ms(latest.posted_at or latest.claimed_at)
    date = format_date(posted.astimezone(ctx.app.config.bot.tz).date(), ctx.t)
    message = join(
        [ctx.text("impuls.command.repeat_header", date=date), render_impulse(impulse, ctx.t.lang)],
        separator="\n\n",
    )
    key = f"repeat:{ctx.incoming.event_id}"
    now = to_ms(ctx.now)
    await ctx.app.store.claim_impulse(ctx.room_id, key, "repeat", impulse.id, now, now)
    event_id = await ctx.reply(message)
    # Reactions and replies to the repeat count for the impulse, too.
    await ctx.app.store.mark_impulse_posted(ctx.room_id, key, event_id, to_ms(ctx.now))


HANDLERS = {
    "subscribe": subscribe,
    "unsubscribe": unsubscribe,
    "pause": pause,
    "resume": resume,
    "topics": topics,
    "plan": plan,
    "now": post_now,
    "preview": preview,
}


async def impuls(ctx: Context) -> None:
    words = ctx.args.strip().split(maxsplit=1)
    if not words:
        await repeat_latest(ctx)
        return
    sub = SUBCOMMANDS.get(words[0].casefold())
    rest = words[1] if len(words) > 1 else ""
    if sub is None:
        await ctx.reply(ctx.text("impuls.command.unknown_sub", sub=words[0]))
        return
    await HANDLERS[sub](ctx, rest)  # room scope, checked by the core


COMMAND = Command(
    name="impulse",
    german="impuls",
    handler=impuls,
    scope=Scope.EVERYONE,  # without arguments: repeats the latest impulse
    subscopes=(SubScope(Scope.ROOM, *SUBCOMMANDS),),  # this room's schedule
    listener=on_event,
    jobs=(Job(every_seconds=TICK_SECONDS, run=run_due),),
    setup=setup,
)
