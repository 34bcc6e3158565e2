"""What the Working Out Loud feature says: command outcomes, the welcome, the weekly reminder
(a link to the week's Circle Guide, never a copy), the schedule, the seekers list and the retro
poll's texts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.features.wol.formation import MIN_CIRCLE, Formation, Seeker
from bot.features.wol.schedule import WEEKS, CircleState
from bot.outcome import Outcome, Rejected
from bot.text.formats import format_when
from bot.text.i18n import Message, Texts, join

if TYPE_CHECKING:
    from bot.config import GuideLinks
    from bot.features.wol.circles import Circle

TEXTS = "austausch.wol"


def reject(reason: str, **params: Any) -> Rejected:
    return Rejected(TEXTS, reason, params)


@dataclass(frozen=True)
class TimeSet(Outcome):
    week: int
    next_meeting: dt.datetime
    upcoming: list[tuple[int, dt.datetime]]

    def message(self, t: Texts, prefix: str = "!") -> Message:
        head = t(f"{TEXTS}.time_set", week=self.week, when=format_when(t, self.next_meeting))
        return join([head, render_schedule(self.upcoming, t)])


@dataclass(frozen=True)
class CircleEnded(Outcome):
    meetings_held: int

    def message(self, t: Texts, prefix: str = "!") -> Message:
        return t(f"{TEXTS}.ended", weeks=self.meetings_held, total=WEEKS)


def render_schedule(weeks: Sequence[tuple[int, dt.datetime]], t: Texts) -> Message:
    lines = [t(f"{TEXTS}.schedule_title")]
    lines.extend(
        t(f"{TEXTS}.schedule_line", week=week, total=WEEKS, when=format_when(t, when))
        for week, when in weeks
    )
    return join(lines)


def render_welcome(circle: Circle, links: GuideLinks, t: Texts, prefix: str = "!") -> Message:
    """First message in a new circle room; with the schedule if a slot is already set."""
    parts = [t(f"{TEXTS}.welcome", size=len(circle.members), weeks=WEEKS, guides=links.overview)]
    if circle.start is not None:
        parts.append(render_schedule(circle.schedule(), t))
    else:
        parts.append(t(f"{TEXTS}.choose_time", prefix=prefix))
    parts.append(t(f"{TEXTS}.privacy"))
    return join(parts)


def render_reminder(
    week: int, when: dt.datetime, links: GuideLinks, t: Texts, prefix: str = "!"
) -> Message:
    """The weekly reminder: week number and a link (never a copy) to that week's guide."""
    key = "reminder_last" if week == WEEKS else "reminder"
    return t(
        f"{TEXTS}.{key}",
        prefix=prefix,
        week=week,
        total=WEEKS,
        when=format_when(t, when),
        url=links.for_week(week),
    )


def render_joined(department: str | None, t: Texts, prefix: str = "!") -> Message:
    """Reply to ``!wol an``."""
    if department:
        return t(f"{TEXTS}.joined_department", prefix=prefix, department=department)
    return t(f"{TEXTS}.joined", prefix=prefix)


def render_week(
    circle: Circle, now: dt.datetime, links: GuideLinks, t: Texts, prefix: str = "!"
) -> Message:
    """``!wol woche``: where the circle stands."""
    status = circle.status(now)
    if status.state == CircleState.NOT_SCHEDULED:
        return t(f"{TEXTS}.choose_time", prefix=prefix)
    if status.state == CircleState.ENDED:
        return t(f"{TEXTS}.week_ended", weeks=status.week, total=WEEKS)
    if status.state == CircleState.FINISHED:
        return t(f"{TEXTS}.week_finished", prefix=prefix, total=WEEKS)
    assert status.next_week is not None and status.next_meeting is not None
    key = "week_upcoming" if status.state == CircleState.UPCOMING else "week_running"
    return t(
        f"{TEXTS}.{key}",
        held=status.week,
        week=status.next_week,
        total=WEEKS,
        when=format_when(t, status.next_meeting),
        url=links.for_week(status.next_week),
    )


def render_seekers(seekers: Sequence[Seeker], t: Texts, prefix: str = "!") -> Message:
    """``!wol suche``: who is looking for a circle (department if they gave one)."""
    if not seekers:
        return t(f"{TEXTS}.seekers_empty", prefix=prefix)
    lines = [t(f"{TEXTS}.seekers_title", count=len(seekers))]
    for seeker in sorted(seekers, key=lambda s: s.user_id):
        if seeker.department:
            lines.append(
                t(
                    f"{TEXTS}.seeker_line_department",
                    user=seeker.user_id,
                    department=seeker.department,
                )
            )
        else:
            lines.append(t(f"{TEXTS}.seeker_line", user=seeker.user_id))
    lines.append(t(f"{TEXTS}.seekers_hint", prefix=prefix, min=MIN_CIRCLE))
    return join(lines)


def render_formation(formation: Formation, t: Texts) -> Message:
    if not formation.circles:
        return t(f"{TEXTS}.too_few", min=MIN_CIRCLE, waiting=len(formation.waiting))
    sizes = ", ".join(str(len(c)) for c in formation.circles)
    count = len(formation.circles)
    circles = t(f"{TEXTS}.circles_one" if count == 1 else f"{TEXTS}.circles_other", n=count)
    return t(f"{TEXTS}.formed", circles=circles.plain, sizes=sizes)


def retro_poll(t: Texts) -> tuple[str, list[str]]:
    """Question and answers of the closing retro poll (plain text, for the polls module)."""
    question = t(f"{TEXTS}.retro.question").plain
    answers = [t(f"{TEXTS}.retro.{key}").plain for key in ("a1", "a2", "a3", "a4")]
    return question, answers


def render_usage(t: Texts, prefix: str = "!") -> Message:
    return t(f"{TEXTS}.usage", prefix=prefix)
