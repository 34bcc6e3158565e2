"""Impulses, schedules and plans as people read them: the chat message of an impulse, localised
days, dates and slots, and the ``!impuls plan`` preview."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from bot.features.impulses.markup import convert
from bot.features.impulses.model import Impulse
from bot.features.impulses.public_holidays import holiday_name, normalize_state
from bot.features.impulses.schedule import Schedule, days_text, require_aware
from bot.text.i18n import DEFAULT_LANGUAGE, Message, Texts

# Locale keys of the weekdays, Python numbering.
WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekday_name(day: int, texts: Texts, *, long: bool = False) -> str:
    """Localised weekday name (0 = Monday), short ("Mi") or long ("Mittwoch")."""
    kind = "long" if long else "short"
    return str(texts.raw(f"impuls.weekday_{kind}.{WEEKDAY_KEYS[day]}"))


def describe_days(weekdays: frozenset[int], texts: Texts) -> str:
    """Days for people, not for parsing: "Mo–Fr", "Mo, Mi, Fr", "täglich"."""
    if len(weekdays) == 7:
        return str(texts.raw("impuls.schedule.daily"))
    return ", ".join(days_text(weekdays, lambda d: weekday_name(d, texts), "–"))


def describe_schedule(schedule: Schedule, texts: Texts) -> Message:
    """Human description such as "Mo–Fr um 09:00 Uhr"."""
    return texts(
        "impuls.schedule.describe",
        days=describe_days(schedule.weekdays, texts),
        time=f"{schedule.time:%H:%M}",
    )


def format_date(day: dt.date, texts: Texts) -> str:
    """Localised date with weekday, e.g. "Mi, 26.11.2026"."""
    return texts(
        "impuls.date",
        weekday=weekday_name(day.weekday(), texts),
        dd=f"{day.day:02d}",
        mm=f"{day.month:02d}",
        yyyy=f"{day.year:04d}",
    ).plain


def format_slot(slot: dt.datetime, tz: ZoneInfo, texts: Texts) -> str:
    """Localised local date and time of a slot, e.g. "Mi, 26.11.2026, 09:00"."""
    local = require_aware(slot, "slot").astimezone(tz)
    return texts("impuls.slot", date=format_date(local.date(), texts), time=f"{local:%H:%M}").plain


def render_impulse(impulse: Impulse, lang: str = DEFAULT_LANGUAGE) -> Message:
    """The impulse as a chat message: bold title, the text, the reflection question at the end."""
    texts = Texts(lang)
    converted = convert(impulse.body)
    title = texts("impuls.render.title", title=impulse.title)
    plain_parts = [title.plain, converted.plain]
    html_parts = [f"<p>{title.html}</p>", converted.html]
    if impulse.question:
        question = texts("impuls.render.question", question=impulse.question)
        plain_parts.append(question.plain)
        html_parts.append(f"<p>{question.html}</p>")
    return Message.from_html("\n\n".join(plain_parts), "\n".join(html_parts))


def render_plan(
    entries: Sequence[tuple[dt.datetime, Impulse]],
    schedule: Schedule,
    tz: ZoneInfo,
    lang: str = DEFAULT_LANGUAGE,
    *,
    now: dt.datetime | None = None,
    pause_until: dt.date | None = None,
    holidays_state: str | None = None,
) -> Message:
    """The plan as a message: header with the schedule, one line per slot, skipped holidays noted.

    ``entries`` pairs slots from :func:`~bot.features.impulses.schedule.next_slots` with
    impulses from :func:`upcoming`. With ``now`` and ``holidays_state``, holidays on schedule
    days up to the last entry are listed in between, so nobody wonders why a day is missing.
    """
    texts = Texts(lang)
    lines = [texts("impuls.plan.header", schedule=describe_schedule(schedule, texts))]
    if pause_until is not None:
        lines.append(texts("impuls.plan.paused", date=format_date(pause_until, texts)))
    if not entries:
        lines.append(texts("impuls.plan.empty"))
        return _join_lines(lines)
    timeline: list[tuple[dt.date, int, Message]] = [
        (
            slot.astimezone(tz).date(),
            1,
            texts("impuls.plan.line", when=format_slot(slot, tz, texts), title=impulse.title),
        )
        for slot, impulse in entries
    ]
    if now is not None and holidays_state:
        last_day = timeline[-1][0]
        for day, name in _holidays_on_schedule(
            schedule, tz, now, last_day, pause_until, holidays_state, lang
        ):
            note = texts("impuls.plan.holiday", date=format_date(day, texts), name=name)
            timeline.append((day, 0, note))
    lines.extend(message for _, _, message in sorted(timeline, key=lambda item: item[:2]))
    return _join_lines(lines)


def _holidays_on_schedule(
    schedule: Schedule,
    tz: ZoneInfo,
    now: dt.datetime,
    last_day: dt.date,
    pause_until: dt.date | None,
    state: str,
    lang: str,
) -> list[tuple[dt.date, str]]:
    code = normalize_state(state)
    day = now.astimezone(tz).date()
    found: list[tuple[dt.date, str]] = []
    while day <= last_day:
        paused = pause_until is not None and day <= pause_until
        if day.weekday() in schedule.weekdays and not paused:
            name = holiday_name(day, code, lang)
            if name:
                found.append((day, name))
        day += dt.timedelta(days=1)
    return found


def _join_lines(lines: list[Message]) -> Message:
    return Message("\n".join(m.plain for m in lines), "<br>".join(m.html for m in lines))
