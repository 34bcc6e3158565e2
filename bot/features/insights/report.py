"""The gap report ("Leerstellen"): searched but not found, wished for, found but never opened.

Pure functions over the anonymous search log (``bot/store/insights.py``) and the wishes in the
feedback table, plus :func:`load_report` reading both from the store. A group is only ever shown
when at least ``min_group`` *distinct people* stand behind it in the period (counted with keyed
hashes, see ``bot/store/insights.py``), so one person searching the same words on many days never
makes them appear in the team's report.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.features.insights.record import query_words
from bot.store.insights import TopicStatRow
from bot.text.german import fold, stem

DEFAULT_LIMIT = 10


@dataclass(frozen=True)
class TopicCount:
    topic: str  # grouping key (stems)
    label: str  # most common normalised wording
    count: int  # the figure the list is ranked by
    searches: int = 0
    previous: int = 0  # for trends: the figure in the period before


@dataclass(frozen=True)
class GapReport:
    since: str | None
    until: str | None
    min_group: int
    total_searches: int
    gaps: tuple[TopicCount, ...]  # searched, not (or only partly) found
    wishes: tuple[TopicCount, ...]  # wished for, counted in distinct people
    unclicked: tuple[TopicCount, ...]  # found, but nobody opened details
    never_found: tuple[str, ...] = ()  # catalogue ids never shown in the period
    hidden_groups: int = 0  # groups left out because fewer than min_group stand behind them


@dataclass
class _Topic:
    searches: int = 0
    gaps: int = 0
    opened: int = 0
    paged: int = 0
    people: int = 0
    wordings: Counter[str] = field(default_factory=Counter)

    @property
    def label(self) -> str:
        return max(self.wordings.items(), key=lambda kv: (kv[1], -len(kv[0]), kv[0]))[0]


def merge_topics(stats: Iterable[TopicStatRow]) -> dict[str, _Topic]:
    topics: dict[str, _Topic] = defaultdict(_Topic)
    for row in stats:
        topic = topics[row.topic]
        topic.searches += row.searches
        topic.gaps += row.gaps
        topic.opened += row.opened
        topic.paged += row.paged
        topic.people = max(topic.people, row.people)
        topic.wordings[row.words or row.topic] += row.searches
    return topics


def wish_topics(
    wishes: Iterable[str], people: Mapping[str, int], min_group: int
) -> tuple[list[TopicCount], int]:
    """Wished-for topics per stem with the distinct ``people`` behind each (from the store);
    (shown, hidden group count)."""
    wordings: dict[str, Counter[str]] = defaultdict(Counter)
    for text in wishes:
        for word in dict.fromkeys(query_words(text)):
            wordings[stem(fold(word))][word] += 1
    shown = [
        TopicCount(key, words.most_common(1)[0][0], people.get(key, 0), people.get(key, 0))
        for key, words in wordings.items()
        if people.get(key, 0) >= min_group
    ]
    shown.sort(key=lambda c: (-c.count, c.label))
    return shown, len(wordings) - len(shown)


def build_report(
    stats: Iterable[TopicStatRow],
    wishes: Iterable[str] = (),
    *,
    wish_people: Mapping[str, int] | None = None,
    min_group: int = 3,
    limit: int = DEFAULT_LIMIT,
    since: str | None = None,
    until: str | None = None,
    never_found: Iterable[str] = (),
) -> GapReport:
    """Gaps, wishes and unclicked topics of a period. A group shows only when ``min_group``
    distinct people stand behind it (and, for a figure, at least ``min_group`` searches)."""
    min_group = max(1, min_group)
    topics = merge_topics(stats)
    enough = {key: t for key, t in topics.items() if t.people >= min_group}
    gaps = [
        TopicCount(key, t.label, t.gaps, t.searches)
        for key, t in enough.items()
        if t.gaps >= min_group
    ]
    unclicked = [
        TopicCount(key, t.label, t.searches - t.gaps, t.searches)
        for key, t in enough.items()
        if t.searches - t.gaps >= min_group and t.opened == 0
    ]
    hidden = len(topics) - len(enough)
    wished, hidden_wishes = wish_topics(wishes, wish_people or {}, min_group)
    gaps.sort(key=lambda c: (-c.count, c.label))
    unclicked.sort(key=lambda c: (-c.count, c.label))
    return GapReport(
        since=since,
        until=until,
        min_group=min_group,
        total_searches=sum(t.searches for t in topics.values()),
        gaps=tuple(gaps[:limit]),
        wishes=tuple(wished[:limit]),
        unclicked=tuple(unclicked[:limit]),
        never_found=tuple(never_found),
        hidden_groups=hidden + hidden_wishes,
    )


def rising_topics(
    current: Iterable[TopicStatRow],
    previous: Iterable[TopicStatRow],
    *,
    min_group: int = 3,
    limit: int = 5,
) -> list[TopicCount]:
    """Topics searched clearly more often now than in the period before (at least min_group
    people and searches now, and at least half again as often as before)."""
    now, before = merge_topics(current), merge_topics(previous)
    rising = []
    for key, topic in now.items():
        earlier = before[key].searches if key in before else 0
        enough = topic.people >= min_group and topic.searches >= min_group
        if enough and topic.searches >= 1.5 * earlier + 1:
            rising.append(TopicCount(key, topic.label, topic.searches, topic.searches, earlier))
    rising.sort(key=lambda c: (-(c.count - c.previous), c.label))
    return rising[:limit]


def new_gaps(report: GapReport, earlier: Iterable[TopicStatRow]) -> list[TopicCount]:
    """Gaps of the report that had no unanswered search at all in the earlier period."""
    before = merge_topics(earlier)
    return [g for g in report.gaps if g.topic not in before or before[g.topic].gaps == 0]


def never_found_ids(catalogue_ids: Iterable[str], shown: set[str]) -> list[str]:
    return [i for i in catalogue_ids if i not in shown]


class InsightsSource(Protocol):
    """What :func:`load_report` needs of the store (``bot.store.Store`` provides it)."""

    async def search_topic_stats(
        self, since_day: str | None = None, until_day: str | None = None
    ) -> list[TopicStatRow]: ...

    async def shown_offering_ids(self, since_day: str | None = None) -> set[str]: ...

    def iter_feedback(
        self, since_ms: int | None = None, until_ms: int | None = None
    ) -> AsyncIterator[dict[str, Any]]: ...

    async def people_per_topic(
        self, kind: str, since_day: str | None = None, until_day: str | None = None
    ) -> dict[str, int]: ...


async def load_report(
    store: InsightsSource,
    *,
    tz: dt.tzinfo,
    min_group: int,
    catalogue_ids: Sequence[str] = (),
    since: str | None = None,
    until: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> GapReport:
    """The gap report of ``[since, until]`` (local days, inclusive) read from the store."""
    stats = await store.search_topic_stats(since, until)
    since_ms = _local_day_ms(since, tz) if since else None
    until_ms = _local_day_ms(until, tz, next_day=True) if until else None
    wishes = [
        row["text"]
        async for row in store.iter_feedback(since_ms=since_ms, until_ms=until_ms)
        if row["kind"] == "wish"
    ]
    shown = await store.shown_offering_ids(since)
    return build_report(
        stats,
        wishes,
        wish_people=await store.people_per_topic("wish", since, until),
        min_group=min_group,
        limit=limit,
        since=since,
        until=until,
        never_found=never_found_ids(catalogue_ids, shown),
    )


def _local_day_ms(day: str, tz: dt.tzinfo, next_day: bool = False) -> int:
    start = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(0, 0), tzinfo=tz)
    if next_day:
        start += dt.timedelta(days=1)
    return int(start.timestamp() * 1000)
