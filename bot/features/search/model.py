"""The search's data model: query parsing (free text and filters) and the result types."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.features.catalogue.model import Offering
from bot.text.german import fold

MAX_QUERY_CHARS = 500  # longer input is cut: nobody types more, and it bounds the work per query
MAX_QUERY_WORDS = 12
MAX_LIMIT = 50
DEFAULT_LIMIT = 5

FILTER_KEYS: dict[str, str] = {
    "typ": "typ",
    "type": "typ",
    "art": "typ",
    "thema": "thema",
    "themen": "thema",
    "topic": "thema",
    "zielgruppe": "zielgruppe",
    "zielgruppen": "zielgruppe",
    "audience": "zielgruppe",
    "format": "format",
    "kosten": "kosten",
    "cost": "kosten",
}
CANONICAL_KEYS: tuple[str, ...] = ("typ", "thema", "zielgruppe", "format", "kosten")
FREE_KEYWORDS = frozenset({"kostenlos", "kostenfrei", "gratis", "free"})

# A word-like "key:" directly followed by a value. "https://…" is no filter (value starts "//").
_FILTER_TOKEN = re.compile(r"^(?P<key>[^\W\d_][^\W_]*):(?P<value>.*)$", re.S)
_QUERY_TOKEN = re.compile(r'[^\s"„“”]*(?:"[^"]*(?:"|$)|„[^“”"]*(?:[“”"]|$))[^\s]*|\S+')
_QUOTES = "\"„“”'"


# --- query model --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterError:
    """A filter the user typed that cannot be applied, with what would have been valid."""

    key: str  # as typed, e.g. "tpy"
    value: str  # as typed
    canonical_key: str | None  # None: the key itself is unknown
    valid: tuple[str, ...]  # valid keys (unknown key) or values (unknown value)
    suggestions: tuple[str, ...] = ()


@dataclass(frozen=True)
class AppliedFilter:
    key: str  # canonical key
    value: str  # as typed ("" for the keyword kostenlos)


@dataclass(frozen=True)
class Hit:
    entry: Offering
    score: float  # higher is better; 0 for listings without a text query


@dataclass(frozen=True)
class SearchResult:
    query: str
    hits: tuple[Hit, ...] = ()
    total: int = 0
    offset: int = 0
    limit: int = DEFAULT_LIMIT
    terms: tuple[str, ...] = ()  # normalised stems of the free text, for logging search gaps
    filters: tuple[AppliedFilter, ...] = ()
    filter_errors: tuple[FilterError, ...] = ()
    suggestion: str | None = None  # the query with typos corrected; hits are for it
    relaxed: bool = False  # True: no entry matched all words, hits match some
    # True: nothing matches the query's content words well enough. ``hits`` are then at most a
    # few "entfernt verwandt" offerings (matching a minor part of the query), never a result list.
    nothing_fits: bool = False
    ambiguous: tuple[str, ...] = ()  # typed word first, then the equally close corrections

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.hits) < self.total

    @property
    def next_offset(self) -> int:
        return self.offset + len(self.hits)

    @property
    def is_empty_query(self) -> bool:
        """Neither a search word nor a filter: the caller should explain or show the overview."""
        return not self.terms and not self.filters and not self.filter_errors


@dataclass(frozen=True)
class ParsedQuery:
    text: str  # free text without filters
    filters: tuple[tuple[str, str], ...]  # (key as typed, value as typed)
    free_only: bool


def parse_query(text: str) -> ParsedQuery:
    """Split a query into free text and filters. ``typ: weiterbildung`` (with a space) works for
    known keys; quoted values may contain spaces: ``thema:"künstliche Intelligenz"``."""
    raw_tokens = _QUERY_TOKEN.findall(text[:MAX_QUERY_CHARS])
    free_words: list[str] = []
    filters: list[tuple[str, str]] = []
    free_only = False
    index = 0
    while index < len(raw_tokens):
        token = raw_tokens[index]
        index += 1
        match = _FILTER_TOKEN.match(token)
        known_key = bool(match) and fold(match.group("key")) in FILTER_KEYS
        # "Tipp: …" is prose, "tpy:x" a mistyped filter, "https://…" a link
        if match and (match.group("value") or known_key) and not token.count("//"):
            key, value = match.group("key"), match.group("value")
            if not value and index < len(raw_tokens):
                value = raw_tokens[index]
                index += 1
            filters.append((key, value.strip(_QUOTES)))
        elif fold(token.strip(_QUOTES + ".,;!?")) in FREE_KEYWORDS:
            free_only = True
        else:
            free_words.append(token)
    return ParsedQuery(" ".join(free_words), tuple(filters), free_only)
