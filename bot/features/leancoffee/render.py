"""Lean Coffee texts: the board, the summary, usage, and durations and counts in words.

Every text comes from the ``austausch.lc`` locale section, HTML-escaped by :class:`Texts`.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from bot.features.leancoffee.model import (
    TEXTS,
    LeanCoffeeSession,
    LeanCoffeeSummary,
    Phase,
    Topic,
    TopicStatus,
)
from bot.text.i18n import Message, Texts, join


def format_duration(t: Texts, seconds: int) -> str:
    if seconds % 60 == 0:
        return count(t, "minutes", seconds // 60)
    return count(t, "seconds", seconds)


def count(t: Texts, noun: str, n: int) -> str:
    """``n`` with its noun in the right grammatical number ('1 Punkt', '2 Punkte')."""
    key = f"{TEXTS}.count.{noun}_one" if n == 1 else f"{TEXTS}.count.{noun}_other"
    return t(key, n=n).plain


def _topic_line(t: Texts, topic: Topic, votes: int) -> Message:
    return t(
        f"{TEXTS}.board_line", number=topic.number, text=topic.text, votes=count(t, "dots", votes)
    )


def render_board(
    session: LeanCoffeeSession, t: Texts, prefix: str = "!", now: datetime | None = None
) -> Message:
    """The board: to discuss (ranked) / being discussed / done, plus what to do next."""
    open_lines = [
        _topic_line(t, topic, session.votes_for(topic.number)) for topic in session.ranking()
    ]
    current = [topic for topic in session.topics if topic.status is TopicStatus.DISCUSSING]
    done = sorted(
        (topic for topic in session.topics if topic.status is TopicStatus.DONE),
        key=lambda topic: topic.discussed_order or 0,
    )
    empty = t(f"{TEXTS}.board_empty")
    parts = [t(f"{TEXTS}.board_title", host=session.host, dots=session.settings.dots_per_person)]
    parts.append(t(f"{TEXTS}.board_open"))
    parts.extend(open_lines or [empty])
    parts.append(t(f"{TEXTS}.board_current"))
    for topic in current:
        parts.append(_topic_line(t, topic, session.votes_for(topic.number)))
        if now is not None and session.deadline is not None and session.phase is Phase.DISCUSSING:
            left = max(0, int((session.deadline - now).total_seconds()))
            parts.append(
                t(
                    f"{TEXTS}.board_time_left",
                    duration=format_duration(t, 60 * ((left + 59) // 60)),
                )
            )
    if not current:
        parts.append(empty)
    parts.append(t(f"{TEXTS}.board_done"))
    parts.extend(
        [_topic_line(t, topic, session.votes_for(topic.number)) for topic in done] or [empty]
    )
    parts.append(t(f"{TEXTS}.hint_{session.phase.value}", prefix=prefix))
    return join(parts)


def render_summary(summary: LeanCoffeeSummary, t: Texts, tz: tzinfo | None = None) -> Message:
    started = summary.started_at.astimezone(tz) if tz else summary.started_at
    parts = [
        t(
            f"{TEXTS}.summary_title",
            date=started.strftime(t.raw("austausch.format.date")),
            voters=count(t, "people", summary.voters),
        )
    ]
    discussed = [topic for topic in summary.topics if topic.discussed]
    rest = [topic for topic in summary.topics if not topic.discussed]
    parts.append(t(f"{TEXTS}.summary_discussed"))
    if not discussed:
        parts.append(t(f"{TEXTS}.board_empty"))
    for topic in discussed:
        key = "summary_line_extended" if topic.extended else "summary_line"
        parts.append(
            t(
                f"{TEXTS}.{key}",
                number=topic.number,
                text=topic.text,
                votes=count(t, "dots", topic.votes),
            )
        )
        parts.extend(t(f"{TEXTS}.summary_note", note=note) for note in topic.notes)
    if rest:
        parts.append(t(f"{TEXTS}.summary_open"))
        parts.extend(
            t(
                f"{TEXTS}.summary_line",
                number=topic.number,
                text=topic.text,
                votes=count(t, "dots", topic.votes),
            )
            for topic in rest
        )
    return join(parts)


def render_usage(t: Texts, prefix: str = "!") -> Message:
    return t(f"{TEXTS}.usage", prefix=prefix)
