"""Gap insight ("Leerstellen"): what people search for in the catalogue and do not find.

Pure functions over the anonymous search log (``bot/store/insights.py``) and the wishes in the
feedback table. Searches are grouped by *topic*: the sorted set of the query's stems, so
"Drohnen Einsatz", "Einsatz von Drohnen" and "Drohneneinsätze"-like spellings that stem alike land
in one group. A group is only ever shown when at least ``min_group`` *distinct people* stand
behind it in the period (counted with keyed hashes, see ``bot/store/insights.py``), so one person
searching the same words on many days never makes them appear in the team's report.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import re
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.features.search import AppliedFilter, SearchResult
from bot.store.insights import SearchLogRecord, TopicStatRow
from bot.text.german import QUERY_FILLERS, fold, is_meaningful, stem, tokenize
from bot.text.i18n import Message, Texts, join

DEFAULT_PERIOD_DAYS = 30
MAX_PERIOD_DAYS = 5 * 366
DEFAULT_LIMIT = 10

# Words of a wish ("Ich habe eine Fortbildung zu … gesucht, aber nichts gefunden") that are no
# topic.
_WISH_FILLER_WORDS = (
    "gesucht gefunden leider nichts etwas thema themen wunsch wuensche waere waeren gut schoen"
    " gerne gern zum gibt bisher kein keine fehlt fehlen eigentlich vielleicht mehr hilfreich"
)
WISH_FILLERS: frozenset[str] = frozenset(_WISH_FILLER_WORDS.split())


# --- recording ----------------------------------------------------------------------------------


def query_words(text: str) -> list[str]:
    """The topic words of a text in lower case ("führung"): no stopwords, no search fillers (if
    anything else remains). This normalised form is all that is kept of what people typed."""
    tokens = [t for t in tokenize(text) if is_meaningful(t.folded)]
    content = [t for t in tokens if t.folded not in QUERY_FILLERS and t.folded not in WISH_FILLERS]
    return [t.surface.lower() for t in content or tokens]


def topic_key(terms: Iterable[str]) -> str:
    """Grouping key of a search: its stems sorted and de-duplicated ("drohn einsatz")."""
    return " ".join(sorted({part for term in terms for part in term.split() if part}))


def filters_text(filters: Sequence[AppliedFilter]) -> str:
    return " ".join(sorted(f"{f.key}:{fold(f.value)}" if f.value else f.key for f in filters))


def dedupe_key(salt: bytes, user_id: str, day: str, topic: str, filters: str) -> str:
    """Same person, same day, same search → same key (counted once). Keyed, so the hash cannot be
    matched to a user ID without the database's secret salt; cleared after the day anyway."""
    message = "\x1f".join((user_id, day, topic, filters)).encode()
    return hmac.new(salt, message, hashlib.sha256).hexdigest()[:32]


def search_record(
    result: SearchResult,
    day: str,
    room_category: str | None = None,
    dedupe: str | None = None,
) -> SearchLogRecord:
    """What is logged of one search: normalised terms only, never the text as typed."""
    free_text = " ".join(w for w in _free_words(result.query))
    return SearchLogRecord(
        day=day,
        topic=topic_key(result.terms),
        words=" ".join(query_words(free_text)) if result.terms else "",
        filters=filters_text(result.filters),
        result_count=result.total,
        relaxed=result.relaxed,
        room_category=room_category,
        dedupe=dedupe,
    )


_FILTER_WORD = re.compile(r"^[^\W\d_][^\W_]*:")


def _free_words(query: str) -> list[str]:
    # Filter tokens (typ:…) are recorded separately; only the free words make the label.
    return [w for w in query.split() if not _FILTER_WORD.match(w)]


# --- aggregation --------------------------------------------------------------------------------


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


def wish_stems(text: str) -> list[str]:
    """The topics of a wish: the stems of its topic words (the people count's grouping key)."""
    return list(dict.fromkeys(stem(fold(word)) for word in query_words(text)))


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


# --- periods ------------------------------------------------------------------------------------


class PeriodError(ValueError):
    """The period after ``!angebot lücken`` cannot be read."""


_PERIOD = re.compile(r"^(\d{1,4})\s*([a-z]*)$")
_UNIT_DAYS = {
    "": 1, "d": 1, "t": 1, "tag": 1, "tage": 1, "tagen": 1, "day": 1, "days": 1,
    "w": 7, "wo": 7, "woche": 7, "wochen": 7, "week": 7, "weeks": 7,
    "m": 30, "monat": 30, "monate": 30, "monaten": 30, "month": 30, "months": 30,
    "j": 365, "jahr": 365, "jahre": 365, "jahren": 365, "y": 365, "year": 365, "years": 365,
}  # fmt: skip
_NAMED_PERIODS = {"quartal": 91, "quarter": 91, "halbjahr": 182}


def parse_period(text: str) -> int | None:
    """Days covered by "30", "30d", "4 wochen", "monat", "quartal", "jahr"; None for "alle"/"all".
    Empty text means the default of 30 days. Raises PeriodError for anything else."""
    value = fold(text.strip())
    if not value:
        return DEFAULT_PERIOD_DAYS
    if value in ("alle", "all", "gesamt", "immer"):
        return None
    if value in _NAMED_PERIODS:
        return _NAMED_PERIODS[value]
    if value in _UNIT_DAYS and value:
        return _UNIT_DAYS[value]
    match = _PERIOD.match(value)
    if not match or match.group(2) not in _UNIT_DAYS:
        raise PeriodError(text)
    days = int(match.group(1)) * _UNIT_DAYS[match.group(2)]
    if not 1 <= days <= MAX_PERIOD_DAYS:
        raise PeriodError(text)
    return days


def period_start(today: dt.date, days: int | None) -> str | None:
    """First day (inclusive) of a period of ``days`` days ending today."""
    return None if days is None else (today - dt.timedelta(days=days - 1)).isoformat()


# --- weekly digest ------------------------------------------------------------------------------

DIGEST_HOUR = 8


def iso_week(day: dt.datetime) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def digest_due(local_now: dt.datetime) -> bool:
    """From Monday 08:00 on (local time) the digest of the week is due."""
    monday = (local_now - dt.timedelta(days=local_now.weekday())).replace(
        hour=DIGEST_HOUR, minute=0, second=0, microsecond=0
    )
    return local_now >= monday


# --- rendering ----------------------------------------------------------------------------------


def _lines(items: Sequence[TopicCount], t: Texts, key: str) -> list[Message]:
    return [
        t(key, number=n, label=item.label, count=item.count, searches=item.searches)
        for n, item in enumerate(items, start=1)
    ]


def render_report(report: GapReport, t: Texts, period: str, prefix: str = "!") -> Message:
    """The answer to ``!angebot lücken``."""
    parts = [t("angebot.gaps.header", period=period, searches=report.total_searches)]
    sections = (
        ("angebot.gaps.gaps_header", report.gaps, "angebot.gaps.gap_line"),
        ("angebot.gaps.wishes_header", report.wishes, "angebot.gaps.wish_line"),
        ("angebot.gaps.unclicked_header", report.unclicked, "angebot.gaps.unclicked_line"),
    )
    for header, items, line in sections:
        parts.append(t(header))
        parts.extend(_lines(items, t, line) or [t("angebot.gaps.none")])
    if report.never_found:
        parts.append(t("angebot.gaps.never_found", count=len(report.never_found)))
    parts.append(t("angebot.gaps.footer", min_group=report.min_group, prefix=prefix))
    return join(parts)


def render_digest(
    report: GapReport,
    fresh: Sequence[TopicCount],
    rising: Sequence[TopicCount],
    never_found: Sequence[str],
    t: Texts,
    week: str,
) -> Message:
    """The weekly digest: new gaps, rising topics, entries nobody found."""
    parts = [t("angebot.digest.header", week=week, searches=report.total_searches)]
    parts.append(t("angebot.digest.new_gaps_header"))
    parts.extend(_lines(fresh, t, "angebot.gaps.gap_line") or [t("angebot.gaps.none")])
    parts.append(t("angebot.digest.rising_header"))
    rising_lines = [
        t("angebot.digest.rising_line", label=r.label, count=r.count, previous=r.previous)
        for r in rising
    ]
    parts.extend(rising_lines or [t("angebot.gaps.none")])
    parts.append(t("angebot.digest.never_found_header", count=len(never_found)))
    if never_found:
        shown = ", ".join(never_found[:15])
        more = len(never_found) - 15
        parts.append(Message.text(shown + (f" … (+{more})" if more > 0 else "")))
    parts.append(t("angebot.digest.footer", min_group=report.min_group))
    return join(parts)


def gaps_chart(items: Sequence[TopicCount], title: str, xlabel: str) -> bytes:
    """A small horizontal bar chart (PNG) of the top gaps."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    shown = list(items[:10])[::-1]
    height = 1.2 + 0.35 * max(1, len(shown))
    figure, axes = plt.subplots(figsize=(6.4, height), dpi=100)
    try:
        axes.barh([i.label[:40] for i in shown], [i.count for i in shown], color="#2f6f9f")
        axes.set_title(title)
        axes.set_xlabel(xlabel)
        axes.xaxis.get_major_locator().set_params(integer=True)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)


# --- export -------------------------------------------------------------------------------------


def report_rows(report: GapReport, section_names: dict[str, str]) -> list[dict[str, object]]:
    """Flat rows (one per shown group) for ``impulsbot export gaps``."""
    rows: list[dict[str, object]] = []
    sections = (
        ("gaps", report.gaps),
        ("wishes", report.wishes),
        ("unclicked", report.unclicked),
    )
    for section, items in sections:
        for rank, item in enumerate(items, start=1):
            rows.append(
                {
                    "section": section_names.get(section, section),
                    "rank": rank,
                    "topic": item.label,
                    "stems": item.topic,
                    "count": item.count,
                    "searches": item.searches,
                }
            )
    for offering_id in report.never_found:
        rows.append(
            {
                "section": section_names.get("never_found", "never_found"),
                "rank": None,
                "topic": offering_id,
                "stems": "",
                "count": 0,
                "searches": 0,
            }
        )
    return rows
