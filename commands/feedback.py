"""``!feedback`` / ``!rueckmeldung``: feedback for the initiative team, in a room or a DM.

Also ``!feedback übersicht`` (team: counts per week and room, average rating, most-reacted
impulses) and a listener that remembers room names for the exports
(the export CLI has no Matrix connection).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from bot.context import Context, Incoming
from bot.features.export.table import FeedbackSummary, summarise_feedback
from bot.privacy import FeedbackInput, FeedbackInputError, parse_feedback
from bot.registry import Command, Scope, SubScope
from bot.store import Store
from bot.store.feedback import FeedbackRecord
from bot.text.i18n import Message, join

if TYPE_CHECKING:
    from bot.app import Impulsbot

log = logging.getLogger(__name__)

CONFIRM_REACTION = "✅"
OVERVIEW_WORDS = frozenset({"übersicht", "uebersicht", "ubersicht", "overview"})
OVERVIEW_WEEKS = 8
RATE_WINDOW_MS = 3600 * 1000
TOP_REFERENCES = 5
ROOM_NAME_CACHE = "feedback.room_names"
ANONYMOUS_TIMES = "feedback.anonymous_times"


# --- recording ---------------------------------------------------------------------------------


async def feedback(ctx: Context) -> None:
    await remember_room_name(ctx.app, ctx.room_id)
    words = ctx.args.split()
    if len(words) == 1 and words[0].casefold() in OVERVIEW_WORDS:
        await overview(ctx)
        return
    try:
        parsed = parse_feedback(ctx.args)
    except FeedbackInputError as exc:
        await ctx.reply(ctx.text(exc.key, **exc.params))
        return
    if parsed.anonymous and not ctx.is_direct:
        await refuse_anonymous_in_room(ctx, "privacy.anonymous.feedback_room")
        return
    store = ctx.app.store
    # A re-run after a crash finds its feedback already stored: confirm again, never refuse.
    if not await store.feedback_stored(ctx.incoming.event_id):
        limit = ctx.app.config.feedback.rate_limit
        if await recent_feedback_count(ctx) >= limit:
            await ctx.reply(ctx.text("feedback.rate_limited", limit=limit))
            return
        await store.add_feedback(await _record(ctx, parsed), ctx.app.config.bot.tz)
        if parsed.anonymous:
            since = ctx.incoming.timestamp_ms - RATE_WINDOW_MS
            anonymous_times(ctx.app, ctx.sender, "feedback", since).append(
                ctx.incoming.timestamp_ms
            )
    await _confirm(ctx, parsed)


async def refuse_anonymous_in_room(ctx: Context, key: str) -> None:
    """In a room everyone sees who wrote the command, so "anonymous" would be a false promise:
    explain, store nothing, and open the direct chat where it works."""
    await ctx.reply(ctx.text(key))

    async def open_direct() -> None:
        try:
            await ctx.send_direct(ctx.text("privacy.anonymous.direct_hint"))
        except Exception:  # the room answer already says what to do
            log.warning("could not open a direct chat for an anonymous entry", exc_info=True)

    ctx.app.spawn(open_direct())


async def _record(ctx: Context, parsed: FeedbackInput) -> FeedbackRecord:
    return FeedbackRecord(
        created_at=ctx.incoming.timestamp_ms,
        room_id=ctx.room_id,
        kind="feedback",
        text=parsed.text,
        source_event_id=ctx.incoming.event_id,
        user_id=None if parsed.anonymous else ctx.sender,
        reference=await resolve_reference(ctx.app.store, ctx.incoming),
        rating=parsed.rating,
    )


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


async def resolve_reference(store: Store, incoming: Incoming) -> str | None:
    """What the feedback refers to: ``impuls:<id>``/``umfrage:<id>`` when the replied-to event
    (or the thread root) is a known impulse post or poll, else ``event:<event_id>``, else None.

    Lookups, first match wins: the key ``ref:<event_id>`` (any feature may set it), the impulse
    posts, the polls.
    """
    candidates = [e for e in (incoming.replied_to, incoming.thread_root) if e]
    for event_id in candidates:
        known = await _known_reference(store, incoming.room_id, event_id)
        if known:
            return known
    return f"event:{candidates[0]}" if candidates else None


async def _known_reference(store: Store, room_id: str, event_id: str) -> str | None:
    try:
        known = await store.get_value(f"ref:{event_id}")
        if known:
            return known
        impulse = await store.impulse_of_event(room_id, event_id)
        if impulse:
            return f"impuls:{impulse}"
        poll = await store.poll_by_start_event(event_id)
        if poll is not None and poll.room_id == room_id:
            return f"umfrage:{poll.id}"
    except Exception:
        # Feedback must never be lost over a lookup; the raw event reference still helps.
        log.exception("resolving the reference of a feedback failed")
    return None


async def recent_feedback_count(ctx: Context) -> int:
    """Feedback from the sender in the last hour; anonymous items are counted in memory only,
    because their author is deliberately not stored."""
    since = ctx.incoming.timestamp_ms - RATE_WINDOW_MS
    named = await ctx.app.store.count_feedback_since(ctx.sender, "feedback", since)
    return named + len(anonymous_times(ctx.app, ctx.sender, "feedback", since))


def anonymous_times(app: Impulsbot, user_id: str, kind: str, since_ms: int) -> list[int]:
    """Times of the sender's recent anonymous entries of one kind (memory only, never stored),
    pruned to ``since_ms``; the caller may append to the list."""
    per_user: dict[tuple[str, str], list[int]] = app.features.setdefault(ANONYMOUS_TIMES, {})
    times = per_user.setdefault((user_id, kind), [])
    times[:] = [t for t in times if t >= since_ms]
    return times


# --- room names for the exports ------------------------------------------------------------


async def room_label(app: Impulsbot, room_id: str) -> str | None:
    """The room's own name; DMs and unnamed rooms get a neutral label (their computed display
    names are people's names, which do not belong in an export)."""
    room = app.shell.client.rooms.get(room_id)
    if room is None:
        return None
    name = room.name or room.canonical_alias
    if name:
        return str(name)
    count = await app.private.joined_count(room_id)  # the homeserver's count, not nio's
    key = "feedback.room_direct" if count is not None and count <= 1 else "feedback.room_unnamed"
    return app.texts(key).plain


async def remember_room_name(app: Impulsbot, room_id: str) -> None:
    label = await room_label(app, room_id)
    cache: dict[str, str] = app.features.setdefault(ROOM_NAME_CACHE, {})
    if label is None or cache.get(room_id) == label:
        return
    await app.store.set_value(f"roomname:{room_id}", label)
    cache[room_id] = label


async def on_event(app: Impulsbot, room_id: str, event: Any) -> None:
    # Rooms are renamed now and then; the cache makes this a dictionary lookup per event.
    await remember_room_name(app, room_id)


# --- !feedback übersicht -----------------------------------------------------------------------


def overview_start(now: dt.datetime, tz: dt.tzinfo, weeks: int = OVERVIEW_WEEKS) -> dt.datetime:
    """Local Monday 00:00 that starts the overview window of ``weeks`` calendar weeks."""
    today = now.astimezone(tz).date()
    monday = today - dt.timedelta(days=today.weekday() + 7 * (weeks - 1))
    return dt.datetime.combine(monday, dt.time(0, 0), tzinfo=tz)


async def overview(ctx: Context) -> None:
    tz = ctx.app.config.bot.tz
    start = overview_start(ctx.now, tz)
    since_ms = int(start.timestamp() * 1000)
    # Counted per room *name*: all direct chats (and the anonymous entries, which come from
    # direct chats) fall together, so no line of the overview stands for one person.
    labels: dict[str | None, str] = {}
    records = []
    async for record in ctx.app.store.iter_feedback(since_ms=since_ms):
        room = record["room_id"]
        if room not in labels:
            labels[room] = await _room_name(ctx, room)
        records.append({**record, "room_id": labels[room]})
    summary = summarise_feedback(merge_small_groups(ctx, records), tz)
    names = {name: name for name in summary.by_room}
    await ctx.answer_privately(
        render_overview(ctx, summary, names, start.date(), ctx.now.astimezone(tz))
    )


def merge_small_groups(ctx: Context, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rooms with fewer than ``privacy.min_group`` distinct people behind their entries are shown
    together as one line, so "Raum X: 2" never points at the one or two people in it."""
    people: dict[str, set[str]] = {}
    for record in records:
        if record["user_id"]:
            people.setdefault(record["room_id"], set()).add(record["user_id"])
    min_group = ctx.app.config.privacy.min_group
    small = ctx.t("privacy.overview.small_rooms").plain
    return [
        r if len(people.get(r["room_id"], ())) >= min_group else {**r, "room_id": small}
        for r in records
    ]


async def _room_name(ctx: Context, room_id: str | None) -> str:
    if room_id is None:
        return ctx.t("feedback.room_direct").plain
    return await ctx.app.store.get_value(f"roomname:{room_id}") or room_id


def render_overview(
    ctx: Context,
    summary: FeedbackSummary,
    names: dict[str, str],
    since: dt.date,
    until: dt.datetime,
) -> Message:
    head = [
        ctx.text("feedback.overview.title"),
        ctx.text(
            "feedback.overview.period",
            since=since.strftime("%d.%m.%Y"),
            until=until.strftime("%d.%m.%Y"),
        ),
        ctx.text("feedback.overview.total", count=summary.total),
    ]
    if not summary.total:
        return join([*head, ctx.text("feedback.overview.empty")])
    sections = [join(head), _kinds(ctx, summary), _weeks(ctx, summary, names)]
    sections += [_rooms(ctx, summary, names), _ratings(ctx, summary)]
    if summary.reactions_by_reference:
        lines = [
            ctx.text("feedback.overview.top_line", reference=ref, count=count)
            for ref, count in summary.top_references(TOP_REFERENCES)
        ]
        sections.append(join([ctx.text("feedback.overview.top_reactions"), *lines]))
    sections.append(ctx.text("feedback.overview.chat_export_hint"))
    return join(sections, separator="\n\n")


def _kinds(ctx: Context, summary: FeedbackSummary) -> Message:
    lines = [
        ctx.text("feedback.overview.kind_line", kind=ctx.t.raw(f"feedback.kinds.{kind}"), count=n)
        for kind, n in sorted(summary.by_kind.items(), key=lambda item: -item[1])
    ]
    return join([ctx.text("feedback.overview.by_kind"), *lines])


def _weeks(ctx: Context, summary: FeedbackSummary, names: dict[str, str]) -> Message:
    lines = []
    for week, rooms in summary.by_week_room.items():
        ranked = sorted(rooms.items(), key=lambda item: (-item[1], names[item[0]]))
        parts = ", ".join(f"{names[room]} {n}" for room, n in ranked)
        lines.append(
            ctx.text(
                "feedback.overview.week_line", week=week, count=sum(rooms.values()), rooms=parts
            )
        )
    return join([ctx.text("feedback.overview.weeks"), *lines])


def _rooms(ctx: Context, summary: FeedbackSummary, names: dict[str, str]) -> Message:
    ranked = sorted(summary.by_room.items(), key=lambda item: (-item[1], names[item[0]]))
    lines = [ctx.text("feedback.overview.room_line", room=names[r], count=n) for r, n in ranked]
    return join([ctx.text("feedback.overview.by_room"), *lines])


def _ratings(ctx: Context, summary: FeedbackSummary) -> Message:
    average = summary.average_rating
    if average is None:
        return join(
            [ctx.text("feedback.overview.ratings"), ctx.text("feedback.overview.no_ratings")]
        )
    shown = f"{average:.1f}"
    if ctx.t.lang == "de":
        shown = shown.replace(".", ",")
    line = ctx.text("feedback.overview.average", average=shown, count=summary.rating_count)
    return join([ctx.text("feedback.overview.ratings"), line])


COMMAND = Command(
    name="feedback",
    german="feedback",
    handler=feedback,
    aliases=("rueckmeldung", "rückmeldung"),
    scope=Scope.EVERYONE,
    subscopes=(SubScope(Scope.TEAM, *OVERVIEW_WORDS),),
    listener=on_event,
)
