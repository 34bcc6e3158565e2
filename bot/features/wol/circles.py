"""Working Out Loud circles: formation, the 12-week schedule, reminders and guide links.

Pure logic only: the shell creates the encrypted rooms, posts what the render functions return
and persists :class:`Circle` via ``to_dict``/``from_dict``.

Circle sizes (the official guides describe circles of up to five; four or five is the usual
recommendation). :func:`circle_sizes` uses as few circles as possible (``ceil(n / 5)``) with
sizes as even as possible, so sizes are 4–5 whenever that is arithmetically possible. Only 3, 6,
7 and 11 people cannot be split into fours and fives; then one or two circles of three are
formed (6 → 3 + 3, 7 → 4 + 3, 11 → 4 + 4 + 3). A circle never has more than five members. With
fewer than three people nobody is grouped: they keep waiting for more.

Guides: John Stepper's Circle Guides may be shared as they are but not modified or bundled, so
the bot only ever *links* them and stores no circle content (no goals, no notes). The link
targets are configuration (:class:`GuideLinks`): a specific page per week where the operator
knows one, otherwise an overview page. The default is the official website's front page
(workingoutloud.com), the one address whose officialness could be verified.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.outcome import Outcome, Rejected
from bot.text.i18n import Message, Texts, join

WEEKS = 12
MIN_CIRCLE = 3
MAX_CIRCLE = 5
MAX_DEPARTMENT_LENGTH = 60
DEFAULT_FIRST_MEETING_LEAD = dt.timedelta(days=1)
DEFAULT_REMINDER_GRACE = dt.timedelta(hours=2)

OFFICIAL_SITE = "https://workingoutloud.com/"

# Mixing: first as few same-department pairs as possible, then as few same-home-server pairs.
# The department weight exceeds any possible count of same-server pairs (lexicographic order).
W_SAME_DEPARTMENT = 100_000
W_SAME_SERVER = 1
LOCAL_SEARCH_RESTARTS = 4

_TEXTS = "austausch.wol"


# --------------------------------------------------------------------------------------------
# Guide links (configuration)
# --------------------------------------------------------------------------------------------


class GuideLinks(BaseModel):
    """Where the reminders link to. Meant as the ``wol.guides`` section of the config."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    overview: str = OFFICIAL_SITE
    weeks: dict[Annotated[int, Field(ge=1, le=WEEKS)], str] = {}

    @field_validator("overview")
    @classmethod
    def _overview(cls, value: str) -> str:
        return _https(value)

    @field_validator("weeks")
    @classmethod
    def _weeks(cls, values: dict[int, str]) -> dict[int, str]:
        return {week: _https(url) for week, url in values.items()}

    def for_week(self, week: int) -> str:
        return self.weeks.get(week, self.overview)


def _https(value: str) -> str:
    if not re.match(r"^https://[^\s/]+(/\S*)?$", value):
        raise ValueError(f"expected an https:// address, got {value!r}")
    return value


# --------------------------------------------------------------------------------------------
# Formation
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeker:
    """Someone looking for a circle. ``department`` is optional and free text."""

    user_id: str
    department: str | None = None

    @property
    def server(self) -> str:
        return self.user_id.split(":", 1)[1].casefold() if ":" in self.user_id else ""

    def to_dict(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "department": self.department}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Seeker:
        return cls(str(data["user_id"]), data.get("department"))


def circle_sizes(count: int) -> list[int]:
    """How to split ``count`` people: fewest circles of at most five, sizes as even as possible.

    >>> circle_sizes(9), circle_sizes(6), circle_sizes(11)
    ([5, 4], [3, 3], [4, 4, 3])
    """
    if count < MIN_CIRCLE:
        return []
    circles = math.ceil(count / MAX_CIRCLE)
    base, extra = divmod(count, circles)
    return [base + 1] * extra + [base] * (circles - extra)


@dataclass(frozen=True)
class Formation:
    circles: list[tuple[str, ...]]
    waiting: list[str]  # not placed (fewer than three people)


def _conflict(a: Seeker, b: Seeker) -> int:
    cost = 0
    if a.department and b.department and a.department.casefold() == b.department.casefold():
        cost += W_SAME_DEPARTMENT
    if a.server == b.server:
        cost += W_SAME_SERVER
    return cost


def _circle_cost(members: Sequence[Seeker]) -> int:
    return sum(_conflict(a, b) for a, b in itertools.combinations(members, 2))


def form_circles(seekers: Sequence[Seeker], rng_seed: int) -> Formation:
    """Split seekers into circles that mix departments and home servers (seeded, deterministic)."""
    unique: dict[str, Seeker] = {}
    for seeker in seekers:
        unique.setdefault(seeker.user_id, seeker)
    people = sorted(unique.values(), key=lambda s: s.user_id)
    sizes = circle_sizes(len(people))
    if not sizes:
        return Formation([], [p.user_id for p in people])
    rng = random.Random(rng_seed)
    best: list[list[Seeker]] = []
    best_cost = math.inf
    for _ in range(LOCAL_SEARCH_RESTARTS):
        circles = _improve(_deal(people, sizes, rng))
        cost = sum(_circle_cost(c) for c in circles)
        if cost < best_cost:
            best, best_cost = circles, cost
    result = [tuple(sorted(s.user_id for s in circle)) for circle in best]
    return Formation(sorted(result), [])


def _deal(people: list[Seeker], sizes: list[int], rng: random.Random) -> list[list[Seeker]]:
    """Deal people like cards, biggest department first, so each circle gets a mix."""
    by_group: dict[str, list[Seeker]] = {}
    for person in people:
        key = (person.department or "").casefold() or f"\0{person.server}"
        by_group.setdefault(key, []).append(person)
    groups = list(by_group.values())
    for group in groups:
        rng.shuffle(group)
    rng.shuffle(groups)
    groups.sort(key=len, reverse=True)
    order = [person for group in groups for person in group]
    circles: list[list[Seeker]] = [[] for _ in sizes]
    slot = 0
    for person in order:
        while len(circles[slot % len(sizes)]) >= sizes[slot % len(sizes)]:
            slot += 1
        circles[slot % len(sizes)].append(person)
        slot += 1
    return circles


def _improve(circles: list[list[Seeker]]) -> list[list[Seeker]]:
    """Swap people between circles while that lowers the number of same-department pairs."""
    improved = True
    while improved:
        improved = False
        for i, j in itertools.combinations(range(len(circles)), 2):
            a, b = circles[i], circles[j]
            for x, y in itertools.product(range(len(a)), range(len(b))):
                new_a = [*a[:x], b[y], *a[x + 1 :]]
                new_b = [*b[:y], a[x], *b[y + 1 :]]
                if _circle_cost(new_a) + _circle_cost(new_b) < _circle_cost(a) + _circle_cost(b):
                    circles[i], circles[j] = a, b = new_a, new_b
                    improved = True
    return circles


# --------------------------------------------------------------------------------------------
# Schedule
# --------------------------------------------------------------------------------------------


def first_slot(
    now: dt.datetime,
    weekday: int,
    at: dt.time,
    tz: ZoneInfo,
    lead: dt.timedelta = DEFAULT_FIRST_MEETING_LEAD,
) -> dt.datetime:
    """The first ``weekday`` at ``at`` (local) that is at least ``lead`` after ``now``."""
    earliest = (now + lead).astimezone(tz)
    day = earliest.date() + dt.timedelta(days=(weekday - earliest.weekday()) % 7)
    slot = dt.datetime.combine(day, at, tzinfo=tz)
    if slot < earliest:
        slot = dt.datetime.combine(day + dt.timedelta(days=7), at, tzinfo=tz)
    return slot


class CircleState:
    NOT_SCHEDULED = "not_scheduled"
    UPCOMING = "upcoming"
    RUNNING = "running"
    FINISHED = "finished"  # all twelve meetings are behind it, not yet closed
    ENDED = "ended"


@dataclass(frozen=True)
class WeekStatus:
    state: str
    week: int  # meetings held so far (0–12)
    next_week: int | None
    next_meeting: dt.datetime | None


@dataclass
class Circle:
    """A circle: its members and schedule. No content: goals and notes stay in the circle."""

    circle_id: str
    members: list[str]
    formed_at: dt.datetime
    timezone: str = "Europe/Berlin"
    room_id: str | None = None
    start: dt.datetime | None = None  # the week-1 meeting
    last_reminded_week: int = 0
    ended_at: dt.datetime | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def ended(self) -> bool:
        return self.ended_at is not None

    def meeting_at(self, week: int) -> dt.datetime:
        """Week ``week``'s meeting, same wall-clock time every week (DST-proof)."""
        if self.start is None:
            raise ValueError("the circle has no meeting time yet")
        if not 1 <= week <= WEEKS:
            raise ValueError(f"week must be 1–{WEEKS}")
        local = self.start.astimezone(self.tz)
        day = local.date() + dt.timedelta(weeks=week - 1)
        return dt.datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=self.tz)

    def schedule(self) -> list[tuple[int, dt.datetime]]:
        return [(week, self.meeting_at(week)) for week in range(1, WEEKS + 1)]

    def meetings_held(self, now: dt.datetime) -> int:
        if self.start is None:
            return 0
        return sum(1 for week in range(1, WEEKS + 1) if self.meeting_at(week) <= now)

    def status(self, now: dt.datetime) -> WeekStatus:
        if self.ended:
            return WeekStatus(CircleState.ENDED, self.meetings_held(now), None, None)
        if self.start is None:
            return WeekStatus(CircleState.NOT_SCHEDULED, 0, None, None)
        held = self.meetings_held(now)
        if held >= WEEKS:
            return WeekStatus(CircleState.FINISHED, WEEKS, None, None)
        state = CircleState.UPCOMING if held == 0 else CircleState.RUNNING
        return WeekStatus(state, held, held + 1, self.meeting_at(held + 1))

    def set_time(self, weekday: int, at: dt.time, now: dt.datetime) -> TimeSet | Rejected:
        """Choose or move the weekly slot. Meetings already held keep their numbers: the next
        meeting moves to the first new slot at least a day away."""
        if self.ended:
            return _reject("circle_ended")
        held = self.meetings_held(now)
        if held >= WEEKS:
            return _reject("circle_finished")
        # The first meeting gets a day's notice; a move mid-circle may be as soon as the new
        # slot comes round (week ``held`` must stay in the past for the numbering to hold).
        lead = dt.timedelta(0) if held else DEFAULT_FIRST_MEETING_LEAD
        next_meeting = first_slot(now, weekday, at, self.tz, lead)
        if held:
            # Week held+1 is at next_meeting; count back so that meeting_at() stays consistent.
            day = next_meeting.date() - dt.timedelta(weeks=held)
            self.start = dt.datetime.combine(day, at, tzinfo=self.tz)
        else:
            self.start = next_meeting
        self.last_reminded_week = held
        return TimeSet(held + 1, next_meeting, self.schedule()[held:])

    def due_reminder(
        self,
        now: dt.datetime,
        lead: dt.timedelta = dt.timedelta(0),
        grace: dt.timedelta = DEFAULT_REMINDER_GRACE,
    ) -> int | None:
        """The week whose reminder is due now, if any. A reminder missed by more than
        ``grace`` (bot offline) is skipped rather than posted late."""
        if self.ended or self.start is None:
            return None
        due = None
        for week in range(self.last_reminded_week + 1, WEEKS + 1):
            at = self.meeting_at(week) - lead
            if at > now:
                break
            if now < at + grace:
                due = week
        return due

    def next_wakeup(
        self, now: dt.datetime, lead: dt.timedelta = dt.timedelta(0)
    ) -> dt.datetime | None:
        """When the shell should check :meth:`due_reminder` next."""
        if self.ended or self.start is None:
            return None
        for week in range(self.last_reminded_week + 1, WEEKS + 1):
            at = self.meeting_at(week) - lead
            if at > now:
                return at
        return None

    def mark_reminded(self, week: int) -> None:
        self.last_reminded_week = max(self.last_reminded_week, week)

    def end(self, now: dt.datetime, actor: str, moderator: bool = False) -> CircleEnded | Rejected:
        """``!wol ende``: members or moderators close the circle (early closing is fine)."""
        if self.ended:
            return _reject("circle_ended")
        if actor not in self.members and not moderator:
            return _reject("not_member")
        self.ended_at = now
        return CircleEnded(self.meetings_held(now))

    def to_dict(self) -> dict[str, Any]:
        return {
            "circle_id": self.circle_id,
            "members": list(self.members),
            "formed_at": self.formed_at.isoformat(),
            "timezone": self.timezone,
            "room_id": self.room_id,
            "start": self.start.isoformat() if self.start else None,
            "last_reminded_week": self.last_reminded_week,
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Circle:
        try:
            return cls(
                circle_id=str(data["circle_id"]),
                members=[str(m) for m in data["members"]],
                formed_at=_parse_dt(data["formed_at"]),
                timezone=str(data["timezone"]),
                room_id=data["room_id"],
                start=_parse_dt(data["start"]) if data["start"] else None,
                last_reminded_week=int(data["last_reminded_week"]),
                ended_at=_parse_dt(data["ended_at"]) if data["ended_at"] else None,
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed circle state: {exc!r}") from exc


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def _reject(reason: str, **params: Any) -> Rejected:
    return Rejected(_TEXTS, reason, params)


@dataclass(frozen=True)
class TimeSet(Outcome):
    week: int
    next_meeting: dt.datetime
    upcoming: list[tuple[int, dt.datetime]]

    def message(self, t: Texts, prefix: str = "!") -> Message:
        head = t(f"{_TEXTS}.time_set", week=self.week, when=format_when(t, self.next_meeting))
        return join([head, render_schedule(self.upcoming, t)])


@dataclass(frozen=True)
class CircleEnded(Outcome):
    meetings_held: int

    def message(self, t: Texts, prefix: str = "!") -> Message:
        return t(f"{_TEXTS}.ended", weeks=self.meetings_held, total=WEEKS)


_SUBCOMMANDS = {
    "an": "join",
    "mitmachen": "join",
    "join": "join",
    "aus": "leave",
    "leave": "leave",
    "suche": "list",
    "suchende": "list",
    "list": "list",
    "bilden": "form",
    "form": "form",
    "zeit": "time",
    "termin": "time",
    "time": "time",
    "woche": "week",
    "week": "week",
    "status": "week",
    "ende": "end",
    "beenden": "end",
    "end": "end",
    "hilfe": "help",
    "help": "help",
}

_WEEKDAYS = {
    0: ("mo", "mon", "montag", "monday"),
    1: ("di", "tue", "dienstag", "tuesday", "tu"),
    2: ("mi", "wed", "mittwoch", "wednesday"),
    3: ("do", "thu", "donnerstag", "thursday", "th"),
    4: ("fr", "fri", "freitag", "friday"),
    5: ("sa", "sat", "samstag", "saturday"),
    6: ("so", "sun", "sonntag", "sunday"),
}
_WEEKDAY_LOOKUP = {name: day for day, names in _WEEKDAYS.items() for name in names}
_TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?(?:\s*uhr)?$", re.IGNORECASE)


@dataclass(frozen=True)
class WolCommand:
    action: str  # join, leave, list, form, time, week, end, help
    department: str | None = None
    weekday: int | None = None
    at: dt.time | None = None


def parse_weekday(token: str) -> int | None:
    return _WEEKDAY_LOOKUP.get(token.casefold().rstrip(".,"))


def parse_time(text: str) -> dt.time | None:
    match = _TIME.match(text.strip())
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 23 or minute > 59:
        return None
    return dt.time(hour, minute)


def parse_slot(text: str) -> tuple[int, dt.time] | Rejected:
    """'Di 14:00', 'dienstag 9.30', 'Tue 14 Uhr' → (weekday, time)."""
    tokens = text.split(maxsplit=1)
    if len(tokens) < 2:
        return _reject("slot_missing")
    weekday = parse_weekday(tokens[0])
    if weekday is None:
        return _reject("weekday_invalid", value=tokens[0])
    at = parse_time(tokens[1])
    if at is None:
        return _reject("time_invalid", value=tokens[1])
    return weekday, at


def parse_command(args: str) -> WolCommand | Rejected:
    """Parse everything after ``!wol``."""
    args = args.strip()
    if not args:
        return WolCommand("help")
    head, _, rest = args.partition(" ")
    action = _SUBCOMMANDS.get(head.casefold())
    if action is None:
        return _reject("unknown_subcommand", name=head)
    rest = " ".join(rest.split())
    if action == "join":
        if len(rest) > MAX_DEPARTMENT_LENGTH:
            return _reject("department_too_long", max=MAX_DEPARTMENT_LENGTH)
        return WolCommand("join", department=rest or None)
    if action in ("time", "form") and (rest or action == "time"):
        slot = parse_slot(rest)
        if isinstance(slot, Rejected):
            return slot
        return WolCommand(action, weekday=slot[0], at=slot[1])
    if rest and action != "help":
        return _reject("unexpected_argument", name=head, argument=rest)
    return WolCommand(action)


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def format_when(t: Texts, moment: dt.datetime) -> str:
    """Weekday, date and time in the datetime's own zone ('Di, 14.10.2025, 14:00 Uhr')."""
    weekdays = t.raw("austausch.format.weekdays").split(",")
    return t(
        "austausch.format.when",
        weekday=weekdays[moment.weekday()].strip(),
        date=moment.strftime(t.raw("austausch.format.date")),
        time=moment.strftime(t.raw("austausch.format.time")),
    ).plain


def render_schedule(weeks: Sequence[tuple[int, dt.datetime]], t: Texts) -> Message:
    lines = [t(f"{_TEXTS}.schedule_title")]
    lines.extend(
        t(f"{_TEXTS}.schedule_line", week=week, total=WEEKS, when=format_when(t, when))
        for week, when in weeks
    )
    return join(lines)


def render_welcome(circle: Circle, links: GuideLinks, t: Texts, prefix: str = "!") -> Message:
    """First message in a new circle room; with the schedule if a slot is already set."""
    parts = [t(f"{_TEXTS}.welcome", size=len(circle.members), weeks=WEEKS, guides=links.overview)]
    if circle.start is not None:
        parts.append(render_schedule(circle.schedule(), t))
    else:
        parts.append(t(f"{_TEXTS}.choose_time", prefix=prefix))
    parts.append(t(f"{_TEXTS}.privacy"))
    return join(parts)


def render_reminder(
    week: int, when: dt.datetime, links: GuideLinks, t: Texts, prefix: str = "!"
) -> Message:
    """The weekly reminder: week number and a link (never a copy) to that week's guide."""
    key = "reminder_last" if week == WEEKS else "reminder"
    return t(
        f"{_TEXTS}.{key}",
        prefix=prefix,
        week=week,
        total=WEEKS,
        when=format_when(t, when),
        url=links.for_week(week),
    )


def render_joined(department: str | None, t: Texts, prefix: str = "!") -> Message:
    """Reply to ``!wol an``."""
    if department:
        return t(f"{_TEXTS}.joined_department", prefix=prefix, department=department)
    return t(f"{_TEXTS}.joined", prefix=prefix)


def render_week(
    circle: Circle, now: dt.datetime, links: GuideLinks, t: Texts, prefix: str = "!"
) -> Message:
    """``!wol woche``: where the circle stands."""
    status = circle.status(now)
    if status.state == CircleState.NOT_SCHEDULED:
        return t(f"{_TEXTS}.choose_time", prefix=prefix)
    if status.state == CircleState.ENDED:
        return t(f"{_TEXTS}.week_ended", weeks=status.week, total=WEEKS)
    if status.state == CircleState.FINISHED:
        return t(f"{_TEXTS}.week_finished", prefix=prefix, total=WEEKS)
    assert status.next_week is not None and status.next_meeting is not None
    key = "week_upcoming" if status.state == CircleState.UPCOMING else "week_running"
    return t(
        f"{_TEXTS}.{key}",
        held=status.week,
        week=status.next_week,
        total=WEEKS,
        when=format_when(t, status.next_meeting),
        url=links.for_week(status.next_week),
    )


def render_seekers(seekers: Sequence[Seeker], t: Texts, prefix: str = "!") -> Message:
    """``!wol suche``: who is looking for a circle (department if they gave one)."""
    if not seekers:
        return t(f"{_TEXTS}.seekers_empty", prefix=prefix)
    lines = [t(f"{_TEXTS}.seekers_title", count=len(seekers))]
    for seeker in sorted(seekers, key=lambda s: s.user_id):
        if seeker.department:
            lines.append(
                t(
                    f"{_TEXTS}.seeker_line_department",
                    user=seeker.user_id,
                    department=seeker.department,
                )
            )
        else:
            lines.append(t(f"{_TEXTS}.seeker_line", user=seeker.user_id))
    lines.append(t(f"{_TEXTS}.seekers_hint", prefix=prefix, min=MIN_CIRCLE))
    return join(lines)


def render_formation(formation: Formation, t: Texts) -> Message:
    if not formation.circles:
        return t(f"{_TEXTS}.too_few", min=MIN_CIRCLE, waiting=len(formation.waiting))
    sizes = ", ".join(str(len(c)) for c in formation.circles)
    count = len(formation.circles)
    circles = t(f"{_TEXTS}.circles_one" if count == 1 else f"{_TEXTS}.circles_other", n=count)
    return t(f"{_TEXTS}.formed", circles=circles.plain, sizes=sizes)


def retro_poll(t: Texts) -> tuple[str, list[str]]:
    """Question and answers of the closing retro poll (plain text, for the polls module)."""
    question = t(f"{_TEXTS}.retro.question").plain
    answers = [t(f"{_TEXTS}.retro.{key}").plain for key in ("a1", "a2", "a3", "a4")]
    return question, answers


def render_usage(t: Texts, prefix: str = "!") -> Message:
    return t(f"{_TEXTS}.usage", prefix=prefix)


def seekers_from(rows: Iterable[Mapping[str, Any]]) -> list[Seeker]:
    return [Seeker.from_dict(row) for row in rows]


def _parse_dt(value: Any) -> dt.datetime:
    moment = dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError("timezone-aware datetime required")
    return moment
