"""The gap report and the weekly digest as chat messages, and the report's bar chart (PNG)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from bot.features.insights.report import GapReport, TopicCount
from bot.text.i18n import Message, Texts, join


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
