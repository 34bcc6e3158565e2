"""Kaffee-Tandem: opt-in peer pairing across departments and municipalities (pure logic).

A round pairs everyone who opted in and is not paused. :func:`pair_participants` is a seeded,
deterministic optimiser. In order of importance:

1. no repeat of recent pairings when avoidable (recent rounds weigh more than older ones),
2. people who do not already share a room,
3. people on different home servers (in practice: different municipalities),
4. shared topics (a little, capped so that topics never outweigh 2. or 3.).

Rule 1 is strictly lexicographic: no amount of 2.–4. buys a repeat. An odd count makes one trio;
0 or 1 participants make no groups. Up to :data:`EXACT_LIMIT` people the optimum is found by
enumeration; above that by restarted local search (swap and move moves), which is fast and in
practice optimal for the sizes a municipality network has.

Stored minimally: user id, the topics a person chose and an optional pause end. The last
:data:`HISTORY_ROUNDS` rounds of groups are enough to avoid repeats; older ones can be deleted.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from bot.outcome import Outcome, Rejected
from bot.text.i18n import Message, Texts, escape, join

STARTERS_FILE = "tandem-gespraechsanstoesse.yaml"

HISTORY_ROUNDS = 6  # rounds of history worth keeping; older pairings no longer count
EXACT_LIMIT = 12  # up to this many participants the best grouping is found exhaustively
LOCAL_SEARCH_RESTARTS = 6

W_NO_SHARED_ROOM = 3
W_OTHER_SERVER = 2
W_TOPIC = 1
MAX_TOPIC_BONUS = 2
_POSITIVE_MAX = W_NO_SHARED_ROOM + W_OTHER_SERVER + MAX_TOPIC_BONUS

MAX_TOPICS = 10
MAX_TOPIC_LENGTH = 40
PAUSE_RANGE_DAYS = (1, 26 * 7)
FIRST_ROUND_GRACE = dt.timedelta(hours=12)

_TEXTS = "austausch.tandem"

Group = tuple[str, ...]
Round = set[frozenset[str]]  # one round of history: its groups (pairs or a trio)


# --------------------------------------------------------------------------------------------
# Conversation starters (content/tandem-gespraechsanstoesse.yaml)
# --------------------------------------------------------------------------------------------


class ConversationStarter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: Annotated[str, Field(min_length=10, max_length=400)]
    themen: Annotated[list[str], Field(min_length=1)]

    @field_validator("text")
    @classmethod
    def _tidy(cls, value: str) -> str:
        return " ".join(value.split())

    @field_validator("themen")
    @classmethod
    def _topics(cls, values: list[str]) -> list[str]:
        cleaned = [" ".join(v.split()) for v in values]
        if any(not v for v in cleaned):
            raise ValueError("empty topic")
        return cleaned


class ContentError(ValueError):
    """A content file is unreadable or invalid; the message names file and entry."""


_STARTERS = TypeAdapter(list[ConversationStarter])


def load_starters(path: str | Path) -> list[ConversationStarter]:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ContentError(f"{path}: kann nicht gelesen werden: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ContentError(f"{path}: kein gültiges YAML: {exc}") from exc
    try:
        starters = _STARTERS.validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"Eintrag {'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ContentError(f"{path}: {problems}") from exc
    if not starters:
        raise ContentError(f"{path}: keine Gesprächsanstöße enthalten")
    seen: set[str] = set()
    for starter in starters:
        key = starter.text.casefold()
        if key in seen:
            raise ContentError(f"{path}: doppelter Gesprächsanstoß: {starter.text!r}")
        seen.add(key)
    return starters


def known_topics(starters: Iterable[ConversationStarter]) -> list[str]:
    """The topic vocabulary of the starters, for suggesting topics to people opting in."""
    found: dict[str, str] = {}
    for starter in starters:
        for topic in starter.themen:
            found.setdefault(normalize_topic(topic), topic)
    return sorted(found.values(), key=str.casefold)


def choose_starter(
    starters: Sequence[ConversationStarter], group_topics: Iterable[str], rng_seed: int
) -> ConversationStarter:
    """A starter on a topic the group shares if there is one, else any (seeded choice)."""
    if not starters:
        raise ValueError("no conversation starters")
    wanted = {normalize_topic(topic) for topic in group_topics}
    matching = [s for s in starters if wanted & {normalize_topic(x) for x in s.themen}]
    return random.Random(rng_seed).choice(matching or list(starters))


# --------------------------------------------------------------------------------------------
# Pairing
# --------------------------------------------------------------------------------------------


def home_server(user_id: str) -> str:
    return user_id.split(":", 1)[1].casefold() if ":" in user_id else ""


_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def normalize_topic(topic: str) -> str:
    """'#Bürgerservice' and 'buergerservice' are the same topic."""
    text = topic.casefold().strip().lstrip("#").translate(_UMLAUTS)
    text = unicodedata.normalize("NFKC", text)
    return " ".join(re.sub(r"[^\w\s-]", " ", text).split())


@dataclass(frozen=True)
class Participant:
    user_id: str
    topics: frozenset[str] = frozenset()

    @property
    def server(self) -> str:
        return home_server(self.user_id)


def groups_to_round(groups: Iterable[Sequence[str]]) -> Round:
    """A finished round as history for the next ones."""
    return {frozenset(group) for group in groups}


@dataclass(frozen=True)
class _Scorer:
    """Pair scores as integers. A repeat costs more than any grouping can gain otherwise."""

    positive: dict[frozenset[str], int]
    repeats: dict[frozenset[str], int]
    repeat_weight: int

    def pair(self, a: str, b: str) -> int:
        key = frozenset((a, b))
        return self.positive.get(key, 0) - self.repeat_weight * self.repeats.get(key, 0)

    def group(self, members: Sequence[str]) -> int:
        return sum(self.pair(a, b) for a, b in itertools.combinations(members, 2))

    def total(self, groups: Iterable[Sequence[str]]) -> int:
        return sum(self.group(g) for g in groups)


def _build_scorer(
    people: Sequence[Participant],
    shared_rooms: set[frozenset[str]],
    history: Sequence[Iterable[frozenset[str]]],
) -> _Scorer:
    topics = {p.user_id: {normalize_topic(x) for x in p.topics} for p in people}
    positive: dict[frozenset[str], int] = {}
    for a, b in itertools.combinations(people, 2):
        key = frozenset((a.user_id, b.user_id))
        score = 0 if key in shared_rooms else W_NO_SHARED_ROOM
        score += W_OTHER_SERVER if a.server != b.server else 0
        score += W_TOPIC * min(MAX_TOPIC_BONUS, len(topics[a.user_id] & topics[b.user_id]))
        positive[key] = score
    # The latest round weighs HISTORY_ROUNDS, the one before one less, …, never below 1.
    repeats: dict[frozenset[str], int] = {}
    for age, past_round in enumerate(reversed(list(history))):
        weight = max(1, HISTORY_ROUNDS - age)
        for group in past_round:
            for a, b in itertools.combinations(sorted(group), 2):
                key = frozenset((a, b))
                repeats[key] = repeats.get(key, 0) + weight
    # Lexicographic in effect: one repeat outweighs the largest possible positive total.
    repeat_weight = _POSITIVE_MAX * (len(people) + 3) + 1
    return _Scorer(positive, repeats, repeat_weight)


def pair_participants(
    participants: Sequence[Participant],
    shared_rooms: set[frozenset[str]],
    history: Sequence[Iterable[frozenset[str]]],
    rng_seed: int,
) -> list[Group]:
    """Group people into pairs (one trio for an odd count). Deterministic for a given seed.

    ``shared_rooms`` holds the pairs of user ids who already share a room; ``history`` the
    groups of earlier rounds, oldest first. Returns groups with members sorted, ordered by
    their first member.
    """
    unique: dict[str, Participant] = {}
    for person in participants:
        unique.setdefault(person.user_id, person)
    people = sorted(unique.values(), key=lambda p: p.user_id)
    if len(people) < 2:
        return []
    rng = random.Random(rng_seed)
    ids = [p.user_id for p in people]
    rng.shuffle(ids)  # ties between equally good groupings are broken by the seed
    scorer = _build_scorer(people, shared_rooms, history)
    groups = _best_exact(ids, scorer) if len(ids) <= EXACT_LIMIT else _best_local(ids, scorer, rng)
    return sorted((tuple(sorted(g)) for g in groups), key=lambda g: g)


def _best_exact(ids: list[str], scorer: _Scorer) -> list[list[str]]:
    best: tuple[int, list[list[str]]] = (-math.inf, [])  # type: ignore[assignment]
    need_trio = len(ids) % 2 == 1

    def search(rest: list[str], trio_left: bool, groups: list[list[str]], score: int) -> None:
        nonlocal best
        if not rest:
            if score > best[0]:
                best = (score, [list(g) for g in groups])
            return
        first, others = rest[0], rest[1:]
        for i, partner in enumerate(others):
            remaining = others[:i] + others[i + 1 :]
            # A pair is only possible if the rest can still be split (trio counts for odd).
            if len(remaining) % 2 == (1 if trio_left else 0):
                groups.append([first, partner])
                search(remaining, trio_left, groups, score + scorer.pair(first, partner))
                groups.pop()
            if trio_left:
                for j in range(i + 1, len(others)):
                    third = others[j]
                    rest3 = [x for k, x in enumerate(others) if k not in (i, j)]
                    groups.append([first, partner, third])
                    search(rest3, False, groups, score + scorer.group([first, partner, third]))
                    groups.pop()

    search(ids, need_trio, [], 0)
    return best[1]


def _greedy(ids: list[str], scorer: _Scorer) -> list[list[str]]:
    pool = list(ids)
    groups: list[list[str]] = []
    while len(pool) >= 2:
        first = pool.pop(0)
        partner = max(pool, key=lambda other: scorer.pair(first, other))
        pool.remove(partner)
        groups.append([first, partner])
    if pool:  # odd count: the last person joins the pair that welcomes them most
        last = pool[0]
        target = max(groups, key=lambda g: scorer.group([*g, last]) - scorer.group(g))
        target.append(last)
    return groups


def _improve(groups: list[list[str]], scorer: _Scorer) -> list[list[str]]:
    """Swap two people between groups, or move one out of the trio, while it helps."""
    improved = True
    while improved:
        improved = False
        for gi, gj in itertools.combinations(range(len(groups)), 2):
            a, b = groups[gi], groups[gj]
            before = scorer.group(a) + scorer.group(b)
            for x, y in itertools.product(range(len(a)), range(len(b))):
                new_a = [*a[:x], b[y], *a[x + 1 :]]
                new_b = [*b[:y], a[x], *b[y + 1 :]]
                if scorer.group(new_a) + scorer.group(new_b) > before:
                    groups[gi], groups[gj] = a, b = new_a, new_b
                    before = scorer.group(a) + scorer.group(b)
                    improved = True
            for src, dst, si, di in ((a, b, gi, gj), (b, a, gj, gi)):
                if len(src) != 3:
                    continue
                for x in range(3):
                    new_src = src[:x] + src[x + 1 :]
                    new_dst = [*dst, src[x]]
                    if scorer.group(new_src) + scorer.group(new_dst) > before:
                        groups[si], groups[di] = new_src, new_dst
                        improved = True
                        break
                if improved:
                    break
    return groups


def _best_local(ids: list[str], scorer: _Scorer, rng: random.Random) -> list[list[str]]:
    best_groups: list[list[str]] = []
    best_score = -math.inf
    for attempt in range(LOCAL_SEARCH_RESTARTS):
        order = list(ids)
        if attempt:
            rng.shuffle(order)
        groups = _improve(_greedy(order, scorer), scorer)
        score = scorer.total(groups)
        if score > best_score:
            best_groups, best_score = groups, score
    return best_groups


def repeated_pairs(
    groups: Iterable[Sequence[str]], history: Iterable[Round]
) -> set[frozenset[str]]:
    """Pairs in ``groups`` that already met in ``history`` (for reports and tests)."""
    past = {
        frozenset(pair)
        for past_round in history
        for group in past_round
        for pair in itertools.combinations(sorted(group), 2)
    }
    return {
        frozenset(pair)
        for group in groups
        for pair in itertools.combinations(sorted(group), 2)
        if frozenset(pair) in past
    }


def shared_topics(group: Sequence[str], topics: Mapping[str, Iterable[str]]) -> list[str]:
    """Topics all members of a group chose, in the spelling of the first member."""
    if not group:
        return []
    normalised = [{normalize_topic(x): x for x in topics.get(user, ())} for user in group]
    common = set(normalised[0]).intersection(*normalised[1:])
    return sorted((normalised[0][key] for key in common), key=str.casefold)


# --------------------------------------------------------------------------------------------
# Member state and schedule
# --------------------------------------------------------------------------------------------


@dataclass
class TandemMember:
    user_id: str
    topics: list[str] = field(default_factory=list)
    paused_until: dt.datetime | None = None

    def is_active(self, now: dt.datetime) -> bool:
        return self.paused_until is None or now >= self.paused_until

    def participant(self) -> Participant:
        return Participant(self.user_id, frozenset(self.topics))

    def to_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "topics": list(self.topics),
            "paused_until": self.paused_until.isoformat() if self.paused_until else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TandemMember:
        until = data.get("paused_until")
        return cls(
            user_id=str(data["user_id"]),
            topics=[str(x) for x in data.get("topics", [])],
            paused_until=_aware(dt.datetime.fromisoformat(until)) if until else None,
        )


def active_participants(members: Iterable[TandemMember], now: dt.datetime) -> list[Participant]:
    return [m.participant() for m in members if m.is_active(now)]


def interval_weeks(interval_seconds: int) -> int:
    """Rounds fall on a fixed weekday, so the interval is a whole number of weeks (≥ 1)."""
    return max(1, math.ceil(interval_seconds / (7 * 86400)))


def _slot_on_or_after(day: dt.date, weekday: int, at: dt.time, tz: ZoneInfo) -> dt.datetime:
    day = day + dt.timedelta(days=(weekday - day.weekday()) % 7)
    return dt.datetime.combine(day, at, tzinfo=tz)


def next_round_at(
    now: dt.datetime,
    interval_seconds: int,
    weekday: int,
    at: dt.time,
    tz: ZoneInfo,
    last_round: dt.datetime | None = None,
) -> dt.datetime:
    """When the next round is due, as an aware datetime in ``tz`` (wall-clock time, so DST
    changes do not shift it).

    Without a previous round: the next ``weekday`` at ``at`` from ``now`` on. Otherwise the first
    such slot at least the interval after the last round's date. A result ≤ ``now`` means the
    round is overdue (the bot was offline) and should run now, once.
    """
    _aware(now)
    if last_round is None:
        slot = _slot_on_or_after(now.astimezone(tz).date(), weekday, at, tz)
        if slot < now:
            slot = _slot_on_or_after(slot.date() + dt.timedelta(days=1), weekday, at, tz)
        return slot
    _aware(last_round)
    earliest = last_round.astimezone(tz).date() + dt.timedelta(
        weeks=interval_weeks(interval_seconds)
    )
    return _slot_on_or_after(earliest, weekday, at, tz)


def round_due(
    now: dt.datetime,
    interval_seconds: int,
    weekday: int,
    at: dt.time,
    tz: ZoneInfo,
    last_round: dt.datetime | None,
) -> bool:
    """Whether a round should run now. The very first round runs if its slot passed less than
    :data:`FIRST_ROUND_GRACE` ago (a bot started on a Tuesday waits for the next Monday)."""
    if last_round is None:
        local = now.astimezone(tz)
        back = (local.weekday() - weekday) % 7
        slot = dt.datetime.combine(local.date() - dt.timedelta(days=back), at, tzinfo=tz)
        if slot > now:
            slot = dt.datetime.combine(slot.date() - dt.timedelta(days=7), at, tzinfo=tz)
        return now - slot < FIRST_ROUND_GRACE
    return next_round_at(now, interval_seconds, weekday, at, tz, last_round) <= now


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def _reject(reason: str, **params: Any) -> Rejected:
    return Rejected(_TEXTS, reason, params)


_SUBCOMMANDS = {
    "an": "on",
    "ein": "on",
    "on": "on",
    "join": "on",
    "mitmachen": "on",
    "aus": "off",
    "off": "off",
    "abmelden": "off",
    "leave": "off",
    "pause": "pause",
    "pausieren": "pause",
    "status": "status",
    "runde": "round",  # team only: pair now instead of waiting for the scheduled slot
    "round": "round",
    "hilfe": "help",
    "help": "help",
}

_PAUSE = re.compile(
    r"^(?P<num>\d{1,3})\s*(?P<unit>w|wo|woche|wochen|week|weeks|d|t|tag|tage|day|days)\.?$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class TandemCommand:
    action: str  # "on", "off", "pause", "status", "round", "help"
    topics: tuple[str, ...] = ()
    pause_days: int = 0


def parse_topics(text: str) -> list[str] | Rejected:
    """Topics are separated by commas if there are any, else by spaces ('KI, Vergabe')."""
    raw = text.split(",") if "," in text else text.split()
    topics: dict[str, str] = {}
    for item in raw:
        topic = " ".join(item.strip().lstrip("#").split())
        if not topic:
            continue
        if len(topic) > MAX_TOPIC_LENGTH:
            return _reject("topic_too_long", max=MAX_TOPIC_LENGTH)
        topics.setdefault(normalize_topic(topic), topic)
    if len(topics) > MAX_TOPICS:
        return _reject("too_many_topics", max=MAX_TOPICS)
    return list(topics.values())


def parse_pause(text: str) -> int | Rejected:
    """'4w', '4 Wochen', '10d', '10 Tage' → days."""
    match = _PAUSE.match(text.strip())
    if not match:
        return _reject("pause_invalid", value=text.strip())
    unit = match.group("unit").lower()
    days = int(match.group("num")) * (1 if unit in ("d", "t", "tag", "tage", "day", "days") else 7)
    low, high = PAUSE_RANGE_DAYS
    if not low <= days <= high:
        return _reject("pause_range", max=high // 7)
    return days


def parse_command(args: str) -> TandemCommand | Rejected:
    """Parse everything after ``!tandem``."""
    args = args.strip()
    if not args:
        return TandemCommand("help")
    head, _, rest = args.partition(" ")
    action = _SUBCOMMANDS.get(head.casefold())
    if action is None:
        return _reject("unknown_subcommand", name=head)
    rest = rest.strip()
    if action == "on":
        topics = parse_topics(rest)
        if isinstance(topics, Rejected):
            return topics
        return TandemCommand("on", topics=tuple(topics))
    if action == "pause":
        if not rest:
            return _reject("pause_missing")
        days = parse_pause(rest)
        if isinstance(days, Rejected):
            return days
        return TandemCommand("pause", pause_days=days)
    if rest and action != "help":
        return _reject("unexpected_argument", name=head, argument=rest)
    return TandemCommand(action)


@dataclass(frozen=True)
class OptedIn(Outcome):
    topics: tuple[str, ...]
    next_round: dt.datetime
    already: bool  # was enrolled before (topics updated / pause lifted)
    suggestions: tuple[str, ...] = ()

    def message(self, t: Texts, prefix: str = "!") -> Message:
        key = "updated" if self.already else "opted_in"
        parts = [t(f"{_TEXTS}.{key}", prefix=prefix, next=format_when(t, self.next_round))]
        if self.topics:
            parts.append(t(f"{_TEXTS}.your_topics", topics=", ".join(self.topics)))
        elif self.suggestions:
            parts.append(
                t(f"{_TEXTS}.topic_hint", prefix=prefix, examples=", ".join(self.suggestions))
            )
        parts.append(t(f"{_TEXTS}.privacy", prefix=prefix))
        return join(parts)


@dataclass(frozen=True)
class OptedOut(Outcome):
    def message(self, t: Texts, prefix: str = "!") -> Message:
        return t(f"{_TEXTS}.opted_out", prefix=prefix)


@dataclass(frozen=True)
class Paused(Outcome):
    until: dt.datetime

    def message(self, t: Texts, prefix: str = "!") -> Message:
        return t(f"{_TEXTS}.paused", prefix=prefix, until=format_when(t, self.until))


@dataclass(frozen=True)
class Status(Outcome):
    enrolled: bool
    topics: tuple[str, ...] = ()
    paused_until: dt.datetime | None = None
    next_round: dt.datetime | None = None

    def message(self, t: Texts, prefix: str = "!") -> Message:
        if not self.enrolled:
            return t(f"{_TEXTS}.status_none", prefix=prefix)
        if self.paused_until is not None:
            head = t(
                f"{_TEXTS}.status_paused", prefix=prefix, until=format_when(t, self.paused_until)
            )
        else:
            head = t(
                f"{_TEXTS}.status_active",
                prefix=prefix,
                next=format_when(t, self.next_round) if self.next_round else "–",
            )
        topics = (
            t(f"{_TEXTS}.your_topics", topics=", ".join(self.topics))
            if self.topics
            else t(f"{_TEXTS}.no_topics", prefix=prefix)
        )
        return join([head, topics])


def opt_in(
    member: TandemMember | None,
    user_id: str,
    topics: Sequence[str],
    next_round: dt.datetime,
    suggestions: Sequence[str] = (),
) -> tuple[TandemMember, OptedIn]:
    """``!tandem an [Themen…]``: enrol, or update topics and lift a pause.

    Without new topics an existing member keeps the topics they had.
    """
    kept = list(topics) if topics or member is None else list(member.topics)
    updated = TandemMember(user_id=user_id, topics=kept, paused_until=None)
    return updated, OptedIn(tuple(kept), next_round, member is not None, tuple(suggestions[:6]))


def opt_out(member: TandemMember | None) -> OptedOut | Rejected:
    """``!tandem aus``: the shell deletes the member's row (and their history) on success."""
    if member is None:
        return _reject("not_enrolled")
    return OptedOut()


def pause(
    member: TandemMember | None, now: dt.datetime, days: int, tz: ZoneInfo
) -> tuple[TandemMember, Paused] | Rejected:
    """Pause until the start of the day ``days`` from now (local time)."""
    if member is None:
        return _reject("not_enrolled")
    day = now.astimezone(tz).date() + dt.timedelta(days=days)
    until = dt.datetime.combine(day, dt.time(0, 0), tzinfo=tz)
    return TandemMember(member.user_id, list(member.topics), until), Paused(until)


def status(member: TandemMember | None, now: dt.datetime, next_round: dt.datetime | None) -> Status:
    if member is None:
        return Status(enrolled=False)
    paused = member.paused_until if not member.is_active(now) else None
    return Status(True, tuple(member.topics), paused, next_round)


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------


def format_when(t: Texts, moment: dt.datetime) -> str:
    """Weekday, date and time in the datetime's own zone ('Mo, 13.10.2025, 10:00 Uhr')."""
    weekdays = t.raw("austausch.format.weekdays").split(",")
    return t(
        "austausch.format.when",
        weekday=weekdays[moment.weekday()].strip(),
        date=moment.strftime(t.raw("austausch.format.date")),
        time=moment.strftime(t.raw("austausch.format.time")),
    ).plain


def mention(user_id: str) -> Message:
    """A user pill: a matrix.to link in HTML, the plain id in text."""
    href = "https://matrix.to/#/" + quote(user_id, safe="@:")
    return Message.from_html(user_id, f'<a href="{escape(href)}">{escape(user_id)}</a>')


def render_introduction(
    group: Sequence[str],
    starter: ConversationStarter,
    common_topics: Sequence[str],
    t: Texts,
    prefix: str = "!",
) -> Message:
    """The message that opens a tandem's direct room."""
    names = join([mention(user) for user in group], separator=", ")
    key = "intro_trio" if len(group) == 3 else "intro_pair"
    parts = [t(f"{_TEXTS}.{key}", members=names)]
    if common_topics:
        parts.append(t(f"{_TEXTS}.intro_topics", topics=", ".join(common_topics)))
    parts.append(t(f"{_TEXTS}.intro_starter", starter=starter.text))
    parts.append(t(f"{_TEXTS}.intro_howto", prefix=prefix))
    return join(parts)


def render_round_report(groups: Sequence[Group], waiting: int, t: Texts) -> Message:
    """For the initiative team: counts only, never who met whom."""
    people = sum(len(g) for g in groups)
    return t(f"{_TEXTS}.round_report", groups=len(groups), people=people, waiting=waiting)


def render_usage(t: Texts, prefix: str = "!") -> Message:
    return t(f"{_TEXTS}.usage", prefix=prefix)


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timezone-aware datetime required")
    return moment
