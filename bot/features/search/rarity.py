"""How much a word says about a topic in general German, independent of the catalogue.

The catalogue's own idf cannot judge a word it does not contain, and on ~150 offerings a word
two descriptions happen to use looks rare. So each query unit's weight is also scaled by its
*specificity* in everyday German, from wordfreq's frequency lists (shipped inside the package;
nothing is downloaded): "lernen", "Leute", "neu" say little, "Brandschutzbegehung",
"Jugendhilfeplanung" say what the query is about. A query of one specific word the catalogue
lacks plus a few everyday ones is then "nothing fits", while "Wirkung messen" is about Wirkung.
"""

from __future__ import annotations

from functools import lru_cache

from wordfreq import zipf_frequency

# Zipf scale: log10 of occurrences per billion words. At or above COMMON a word is everyday
# German ("Leute" 5.6, "lernen" 5.1); SPAN below that it counts fully ("Rathaus" 4.35 → 0.61).
_COMMON = 6.5
_SPAN = 3.5
_FLOOR = 0.15  # even the most everyday word keeps some weight: the only word of a query may be it


@lru_cache(maxsize=65_536)
def specificity(word: str) -> float:
    """0.15 (everyday word) … 1.0 (rare or unknown word), from the word as typed."""
    zipf = zipf_frequency(word.lower(), "de")
    return min(1.0, max(_FLOOR, (_COMMON - zipf) / _SPAN))


def warm_up() -> None:
    """Load the German list now (about half a second) rather than during the first query."""
    specificity("Impuls")
