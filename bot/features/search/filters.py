"""Filters of a search (``typ:``, ``format:``, ``thema:``, ``zielgruppe:``, ``kostenlos``).

Values for ``typ:`` and ``format:`` come from ``vocabulary``; topics and target groups
from the catalogue itself (tolerant of case, umlauts, inflection and synonyms).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.features.catalogue.model import FORMATS, TYPES
from bot.features.search.model import (
    CANONICAL_KEYS,
    FILTER_KEYS,
    FREE_KEYWORDS,
    AppliedFilter,
    FilterError,
    ParsedQuery,
)
from bot.features.search.morphology import lemma, parts
from bot.features.search.query import Synonyms
from bot.features.search.vocabulary import enum_value_names, value_forms
from bot.store.search_index import RowFilter
from bot.text.german import fold, is_meaningful, tokenize


def facet_key(value: str) -> str:
    return " ".join(fold(value).split())


@dataclass
class _Facet:
    """Distinct values of themen or zielgruppen, with what each one can be found by."""

    display: dict[str, str] = field(default_factory=dict)  # key → value as written
    counts: Counter[str] = field(default_factory=Counter)
    terms: dict[str, frozenset[str]] = field(default_factory=dict)  # key → lemmas incl. parts


def _value_terms(value: str) -> frozenset[str]:
    found: set[str] = set()
    for token in tokenize(value.replace("-", " ")):
        if is_meaningful(token.folded):
            found.add(lemma(token.surface))
            found.update(parts(token.surface))
    return frozenset(found)


class Filters:
    def __init__(self, synonyms: Synonyms, groups: Sequence[Sequence[str]]) -> None:
        self._synonyms = synonyms
        self._facets = {"thema": _Facet(), "zielgruppe": _Facet()}
        self._value_names = enum_value_names(groups)

    def register(self, kind: str, values: Iterable[str]) -> frozenset[str]:
        """Count an entry's topics or target groups; their folded keys."""
        facet = self._facets[kind]
        keys = set()
        for value in values:
            key = facet_key(value)
            keys.add(key)
            facet.counts[key] += 1
            if key not in facet.display:
                facet.display[key] = value  # as written: what users can type after "thema:"
                facet.terms[key] = _value_terms(value)
        return frozenset(keys)

    def resolve(
        self, parsed: ParsedQuery
    ) -> tuple[tuple[AppliedFilter, ...], list[FilterError], RowFilter]:
        applied: list[AppliedFilter] = []
        errors: list[FilterError] = []
        types: set[str] | None = None
        formats: set[str] | None = None
        facets: dict[str, set[str]] = {}
        free_only = parsed.free_only
        for typed_key, value in parsed.filters:
            key = FILTER_KEYS.get(fold(typed_key))
            if key is None:
                errors.append(self._unknown_key(typed_key, value))
                continue
            values = [v for v in (part.strip() for part in value.split(",")) if v]
            if key == "kosten":
                if not values or any(fold(v) not in FREE_KEYWORDS for v in values):
                    errors.append(FilterError(typed_key, value, key, ("kostenlos",)))
                    continue
                free_only = True
                continue
            if not values:
                errors.append(FilterError(typed_key, value, key, self.valid_values(key)))
                continue
            matched = set()
            for single in values:
                keys = self._match_value(key, single)
                if not keys:
                    errors.append(self._unknown_value(typed_key, key, single))
                matched |= keys
            if not matched:
                continue
            applied.append(AppliedFilter(key, value))
            if key == "typ":
                types = matched if types is None else types | matched
            elif key == "format":
                formats = matched if formats is None else formats | matched
            else:
                facets.setdefault(key, set()).update(matched)
        if free_only:
            applied.append(AppliedFilter("kosten", ""))
        row_filter = RowFilter(
            types=frozenset(types) if types is not None else None,
            formats=frozenset(formats) if formats is not None else None,
            free_only=free_only,
            facets=tuple((kind, frozenset(keys)) for kind, keys in facets.items()),
        )
        return tuple(applied), errors, row_filter

    def _match_value(self, key: str, value: str) -> set[str]:
        if key in ("typ", "format"):
            forms = value_forms(value)
            return {slug for slug, names in self._value_names[key].items() if names & forms}
        # A topic matches when it contains the value's words (also as compound parts) or those
        # of a synonym: thema:beteiligung finds "Bürgerbeteiligung" and "Partizipation".
        facet = self._facets[key]
        matched = {facet_key(value)} & facet.display.keys()
        alternatives = self._value_alternatives(value)
        matched.update(
            k for k, terms in facet.terms.items() if any(alt <= terms for alt in alternatives)
        )
        return matched

    def _value_alternatives(self, value: str) -> list[frozenset[str]]:
        """Lemma sets any of which a topic must contain: the value itself, its synonyms."""
        tokens = [t for t in tokenize(value.replace("-", " ")) if is_meaningful(t.folded)]
        if not tokens:
            return []
        lemmas = tuple(lemma(t.surface) for t in tokens)
        alternatives = [frozenset(lemmas)]
        group = (
            self._synonyms.single.get(lemmas[0])
            if len(lemmas) == 1
            else self._synonyms.phrases.get(lemmas)
        )
        if group is not None:
            alternatives.extend(frozenset(member) for member in self._synonyms.members[group])
        return alternatives

    def _unknown_key(self, typed_key: str, value: str) -> FilterError:
        valid = (*(f"{k}:" for k in CANONICAL_KEYS if k != "kosten"), "kostenlos")
        close = process.extract(
            fold(typed_key), list(FILTER_KEYS), scorer=OSA.distance, score_cutoff=2, limit=1
        )
        suggestions = tuple(f"{FILTER_KEYS[c]}:" for c, _, _ in close)
        return FilterError(typed_key, value, None, valid, suggestions)

    def _unknown_value(self, typed_key: str, key: str, value: str) -> FilterError:
        valid = self.valid_values(key)
        if key in ("typ", "format"):
            choices = {
                slug: " ".join(sorted(names)) for slug, names in self._value_names[key].items()
            }
        else:
            facet = self._facets[key]
            choices = {facet.display[k]: k for k in facet.display}
        close = process.extract(fold(value), choices, scorer=fuzz.WRatio, score_cutoff=75, limit=3)
        suggestions = tuple(str(found_key) for _, _, found_key in close)
        return FilterError(typed_key, value, key, valid, suggestions)

    def valid_values(self, key: str) -> tuple[str, ...]:
        if key == "typ":
            return TYPES
        if key == "format":
            return FORMATS
        facet = self._facets[key]
        ranked = sorted(facet.display, key=lambda k: (-facet.counts[k], k))
        return tuple(facet.display[k] for k in ranked)
