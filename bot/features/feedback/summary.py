"""Counts for ``!feedback übersicht`` and the dashboard: per kind, ISO week × room, room, rating
and reactions per reference. Pure; holds no Matrix IDs and no feedback text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FeedbackSummary:
    """Counts for the team overview; holds no Matrix IDs and no feedback text."""

    total: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    # ISO week ("2026-W47") → room ID → count; weeks in chronological order.
    by_week_room: dict[str, dict[str, int]] = field(default_factory=dict)
    by_room: dict[str, int] = field(default_factory=dict)
    rating_count: int = 0
    rating_sum: int = 0
    reactions_by_reference: dict[str, int] = field(default_factory=dict)

    @property
    def average_rating(self) -> float | None:
        return self.rating_sum / self.rating_count if self.rating_count else None

    def top_references(self, limit: int = 5) -> list[tuple[str, int]]:
        """References (impulses, polls) with the most reactions; ties in name order."""
        ranked = sorted(self.reactions_by_reference.items(), key=lambda item: (-item[1], item[0]))
        return ranked[:limit]


def iso_week(timestamp_ms: int, tz: dt.tzinfo) -> str:
    """The local ISO calendar week of a timestamp, e.g. ``2026-W48`` (weeks start on Monday)."""
    year, week, _ = dt.datetime.fromtimestamp(timestamp_ms // 1000, tz).isocalendar()
    return f"{year}-W{week:02d}"


def summarise_feedback(records: Iterable[Mapping[str, Any]], tz: dt.tzinfo) -> FeedbackSummary:
    """Aggregate stored feedback records (``created_at``, ``room_id``, ``kind``, ``reference``,
    ``rating``) into counts per kind, week × room, average rating and reactions per reference."""
    summary = FeedbackSummary()
    for record in records:
        summary.total += 1
        kind = str(record.get("kind"))
        room = str(record.get("room_id"))
        week = iso_week(int(record["created_at"]), tz)
        summary.by_kind[kind] = summary.by_kind.get(kind, 0) + 1
        summary.by_room[room] = summary.by_room.get(room, 0) + 1
        rooms = summary.by_week_room.setdefault(week, {})
        rooms[room] = rooms.get(room, 0) + 1
        rating = record.get("rating")
        if isinstance(rating, int) and not isinstance(rating, bool):
            summary.rating_count += 1
            summary.rating_sum += rating
        reference = record.get("reference")
        if kind == "reaction" and reference:
            refs = summary.reactions_by_reference
            refs[reference] = refs.get(reference, 0) + 1
    summary.by_week_room = dict(sorted(summary.by_week_room.items()))
    return summary
