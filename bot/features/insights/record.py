"""What is kept of one search or wish: normalised topic words and their grouping key, never the
text as typed (``bot/store/insights.py`` stores the records).

Searches are grouped by *topic*: the sorted set of the query's stems, so "Drohnen Einsatz",
"Einsatz von Drohnen" and spellings that stem alike land in one group. Same person, same day,
same search counts once (a keyed hash, see :func:`dedupe_key`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from bot.store.insights import SearchLogRecord
from bot.text.german import QUERY_FILLERS, fold, is_meaningful, stem, tokenize

if TYPE_CHECKING:  # the gap report reads what the search found, without depending on it
    from bot.features.search.model import AppliedFilter, SearchResult

# Words of a wish ("Ich habe eine Fortbildung zu … gesucht, aber nichts gefunden") that are no
# topic.
_WISH_FILLER_WORDS = (
    "gesucht gefunden leider nichts etwas thema themen wunsch wuensche waere waeren gut schoen"
    " gerne gern zum gibt bisher kein keine fehlt fehlen eigentlich vielleicht mehr hilfreich"
)
WISH_FILLERS: frozenset[str] = frozenset(_WISH_FILLER_WORDS.split())


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


def wish_stems(text: str) -> list[str]:
    """The topics of a wish: the stems of its topic words (the people count's grouping key)."""
    return list(dict.fromkeys(stem(fold(word)) for word in query_words(text)))
