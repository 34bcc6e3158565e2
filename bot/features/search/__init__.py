"""Search in the catalogue of offerings — the names the rest of the bot uses.

The engine's modules: ``morphology`` (lemmas, word families, compounds),
``query`` (text analysis, FTS5 expressions), ``filters``, ``vocabulary`` (filter values),
``index`` (ranking, typo correction, "nothing fits"), ``coverage`` (partial-match credits
per group of offerings) and ``render`` (replies). The feature's
runtime state (loaded catalogue, last searches) is ``state``, the gap digest ``digest``.
"""

from __future__ import annotations

from bot.features.search.index import PARTIAL_COVERAGE, RELATED_LIMIT, SearchIndex
from bot.features.search.model import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    AppliedFilter,
    FilterError,
    Hit,
    ParsedQuery,
    SearchResult,
    parse_query,
)
from bot.features.search.render import (
    Overview,
    TopicSummary,
    audience_label,
    format_label,
    overview,
    render_details,
    render_filter_errors,
    render_overview,
    render_results,
    render_unknown_id,
    topic_label,
    type_label,
)

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "PARTIAL_COVERAGE",
    "RELATED_LIMIT",
    "AppliedFilter",
    "FilterError",
    "Hit",
    "Overview",
    "ParsedQuery",
    "SearchIndex",
    "SearchResult",
    "TopicSummary",
    "audience_label",
    "format_label",
    "overview",
    "parse_query",
    "render_details",
    "render_filter_errors",
    "render_overview",
    "render_results",
    "render_unknown_id",
    "topic_label",
    "type_label",
]
