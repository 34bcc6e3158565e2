"""The search's own words for filter values and catalogue facets.

What ``typ:`` and ``format:`` accept, and which words index an offering's type and format, is
fixed here — not read from the UI translations, so that rewording a label in
``bot/text/locales/*/angebot.yaml`` never changes what a search finds or which filter values work.
Every name is compared folded and without spaces ("vor Ort" = ``vorort``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.features.catalogue.model import FORMATS, TYPES
from bot.features.search.morphology import lemma
from bot.text.german import fold

# slug → words a user may write for it (German and English, singular and plural). The first word
# is the one the index stores for the offering.
TYPE_NAMES: dict[str, tuple[str, ...]] = {
    "weiterbildung": ("Weiterbildung", "Weiterbildungen", "Training", "Trainings"),
    "publikation": ("Publikation", "Publikationen", "Publication", "Publications"),
    "werkzeugkoffer": ("Werkzeugkoffer", "Toolkit", "Toolkits"),
    "tool": ("Tool", "Tools"),
    "beratung": ("Beratung", "Beratungsangebote", "Beratungsangebot", "Consulting"),
    "netzwerk": ("Netzwerk", "Netzwerke", "Network", "Networks"),
    "veranstaltung": ("Veranstaltung", "Veranstaltungen", "Event", "Events"),
}
FORMAT_NAMES: dict[str, tuple[str, ...]] = {
    "online": ("online",),
    "praesenz": ("Präsenz", "in Präsenz", "in person", "vor Ort"),
    "hybrid": ("hybrid",),
    "selbstlern": ("Selbstlernen", "zum Selbstlernen", "self-paced", "Selbstlernkurs"),
}
FREE_WORD = "kostenlos"  # indexed for offerings without cost
assert set(TYPE_NAMES) == set(TYPES) and set(FORMAT_NAMES) == set(FORMATS)


def indexed_features(typ: str, fmt: str, free: bool) -> str:
    """Text of the "merkmale" column: the type's and format's first names, and ``kostenlos``."""
    words = [TYPE_NAMES[typ][0], FORMAT_NAMES[fmt][0]]
    if free:
        words.append(FREE_WORD)
    return " ".join(words)


def value_forms(value: str) -> frozenset[str]:
    """Comparable forms of a filter value or name: folded without spaces, and its lemma."""
    compact = re.sub(r"[\W_]+", "", fold(value))
    return frozenset({compact, lemma(compact)}) if compact else frozenset()


def enum_value_names(synonyms: Sequence[Sequence[str]]) -> dict[str, dict[str, frozenset[str]]]:
    """For typ and format: every slug with the forms of its names and of their synonyms
    (typ:seminar → weiterbildung, format:vor-ort → praesenz)."""
    names: dict[str, dict[str, frozenset[str]]] = {"typ": {}, "format": {}}
    for key, table in (("typ", TYPE_NAMES), ("format", FORMAT_NAMES)):
        for slug, words in table.items():
            forms = set(value_forms(slug))
            for word in words:
                forms |= value_forms(word)
            for group in synonyms:
                group_forms = frozenset().union(*(value_forms(word) for word in group))
                if group_forms & forms:
                    forms |= group_forms
            names[key][slug] = frozenset(forms)
    return names
