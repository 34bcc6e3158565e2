"""``!feedback übersicht``: the team's overview of the last weeks' feedback, worded for chat.

Counted per room *name*: all direct chats (and the anonymous entries, which come from direct
chats) fall together, and rooms with fewer than ``privacy.min_group`` people behind their entries
are shown together as one line, so no line of the overview stands for one person.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import TYPE_CHECKING, Any

from bot.features.feedback.rooms import ROOM_NAME_KEY
from bot.features.feedback.summary import FeedbackSummary, summarise_feedback
from bot.text.i18n import Message, Texts, join

if TYPE_CHECKING:
    from collections.abc import Callable

    from bot.app import Impulsbot

OVERVIEW_WEEKS = 8
TOP_REFERENCES = 5


def overview_start(now: dt.datetime, tz: dt.tzinfo, weeks: int = OVERVIEW_WEEKS) -> dt.datetime:
    """Local Monday 00:00 that starts the overview window of ``weeks`` calendar weeks."""
    today = now.astimezone(tz).date()
    monday = today - dt.timedelta(days=today.weekday() + 7 * (weeks - 1))
    return dt.datetime.combine(monday, dt.time(0, 0), tzinfo=tz)


async def overview(app: Impulsbot, texts: Texts, now: dt.datetime) -> Message:
    """The overview of the calendar weeks up to ``now``, in the reader's language."""
    tz = app.config.bot.tz
    start = overview_start(now, tz)
    since_ms = int(start.timestamp() * 1000)
    labels: dict[str | None, str] = {}
    records = []
    async for record in app.store.iter_feedback(since_ms=since_ms):
        room = record["room_id"]
        if room not in labels:
            labels[room] = await _room_name(app, texts, room)
        records.append({**record, "room_id": labels[room]})
    small = texts("privacy.overview.small_rooms").plain
    summary = summarise_feedback(
        merge_small_groups(records, app.config.privacy.min_group, small), tz
    )
    names = {name: name for name in summary.by_room}
    text = partial(texts, prefix=app.config.bot.prefix)
    return render_overview(text, texts, summary, names, start.date(), now.astimezone(tz))


def merge_small_groups(
    records: list[dict[str, Any]], min_group: int, label: str
) -> list[dict[str, Any]]:
    """Rooms with fewer than ``min_group`` distinct people behind their entries become one line
    named ``label``, so "Raum X: 2" never points at the one or two people in it."""
    people: dict[str, set[str]] = {}
    for record in records:
        if record["user_id"]:
            people.setdefault(record["room_id"], set()).add(record["user_id"])
    return [
        r if len(people.get(r["room_id"], ())) >= min_group else {**r, "room_id": label}
        for r in records
    ]


async def _room_name(app: Impulsbot, texts: Texts, room_id: str | None) -> str:
    if room_id is None:
        return texts("feedback.room_direct").plain
    return await app.store.get_value(ROOM_NAME_KEY.format(room_id=room_id)) or room_id


def render_overview(
    text: Callable[..., Message],
    texts: Texts,
    summary: FeedbackSummary,
    names: dict[str, str],
    since: dt.date,
    until: dt.datetime,
) -> Message:
    """``text`` renders a locale text with ``{prefix}`` filled in (``ctx.text``)."""
    head = [
        text("feedback.overview.title"),
        text(
            "feedback.overview.period",
            since=since.strftime("%d.%m.%Y"),
            until=until.strftime("%d.%m.%Y"),
        ),
        text("feedback.overview.total", count=summary.total),
    ]
    if not summary.total:
        return join([*head, text("feedback.overview.empty")])
    sections = [join(head), _kinds(text, texts, summary), _weeks(text, summary, names)]
    sections += [_rooms(text, summary, names), _ratings(text, texts, summary)]
    if summary.reactions_by_reference:
        lines = [
            text("feedback.overview.top_line", reference=ref, count=count)
            for ref, count in summary.top_references(TOP_REFERENCES)
        ]
        sections.append(join([text("feedback.overview.top_reactions"), *lines]))
    sections.append(text("feedback.overview.chat_export_hint"))
    return join(sections, separator="\n\n")


def _kinds(text: Callable[..., Message], texts: Texts, summary: FeedbackSummary) -> Message:
    lines = [
        text("feedback.overview.kind_line", kind=texts.raw(f"feedback.kinds.{kind}"), count=n)
        for kind, n in sorted(summary.by_kind.items(), key=lambda item: -item[1])
    ]
    return join([text("feedback.overview.by_kind"), *lines])


def _weeks(
    text: Callable[..., Message], summary: FeedbackSummary, names: dict[str, str]
) -> Message:
    lines = []
    for week, rooms in summary.by_week_room.items():
        ranked = sorted(rooms.items(), key=lambda item: (-item[1], names[item[0]]))
        parts = ", ".join(f"{names[room]} {n}" for room, n in ranked)
        lines.append(
            text("feedback.overview.week_line", week=week, count=sum(rooms.values()), rooms=parts)
        )
    return join([text("feedback.overview.weeks"), *lines])


def _rooms(
    text: Callable[..., Message], summary: FeedbackSummary, names: dict[str, str]
) -> Message:
    ranked = sorted(summary.by_room.items(), key=lambda item: (-item[1], names[item[0]]))
    lines = [text("feedback.overview.room_line", room=names[r], count=n) for r, n in ranked]
    return join([text("feedback.overview.by_room"), *lines])


def _ratings(text: Callable[..., Message], texts: Texts, summary: FeedbackSummary) -> Message:
    average = summary.average_rating
    if average is None:
        return join([text("feedback.overview.ratings"), text("feedback.overview.no_ratings")])
    shown = f"{average:.1f}"
    if texts.lang == "de":
        shown = shown.replace(".", ",")
    line = text("feedback.overview.average", average=shown, count=summary.rating_count)
    return join([text("feedback.overview.ratings"), line])
