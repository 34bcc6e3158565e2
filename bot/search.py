"""Search in the catalogue of offerings: query parsing, ranking, typo fallback, paging, rendering.

How a query is answered (``SearchIndex.search``):

1. Filters are taken out of the text (``typ:weiterbildung``, ``thema:…``, ``zielgruppe:…``,
   ``format:online``, the keyword ``kostenlos``); unknown keys or values end the search with a
   :class:`FilterError` listing what is valid.
2. Every remaining word is folded and stemmed (``bot.german``). A word matches an entry if its stem
   occurs there, or a synonym of it does (``synonyme.yaml``), or — for a compound — all its parts
   do. Entries index "derived terms" in separate, lower-weighted columns: the parts of their own
   compounds, so "Planung" finds "Jugendhilfeplanung" but an entry with "Planung" in its title
   ranks above one that only has it inside a compound; and one term per synonym group they
   mention, so the query "Beteiligung" also finds "Partizipation" without the rarer synonym
   outranking the word the user typed.
3. All words must match (AND), ranked by FTS5 bm25 with title > topics > target groups > … >
   description. If nothing matches, unknown words are corrected against the catalogue's vocabulary
   (rapidfuzz, "Meinten Sie …?"); if still nothing matches, any word may match (``relaxed``).

The same query with a larger ``offset`` gives the next page (``!mehr``).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from bot.catalogue import FORMATS, TYPES, Catalogue, Offering
from bot.german import (
    QUERY_FILLERS,
    Decompounder,
    Token,
    fold,
    is_meaningful,
    stem,
    tokenize,
)
from bot.german import token as token_of
from bot.german import words as words_of
from bot.i18n import Message, Texts, escape, join
from bot.store.search_index import IndexedOffering, RowFilter, SearchIndexStore

_PROSE_FIELDS = frozenset({"titel", "anbieter", "beschreibung"})
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
    suggestion: str | None = None  # corrected query when the typed one found nothing
    relaxed: bool = False  # True: no entry matched all words, hits match some

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


# --- expression trees (compiled to FTS5 MATCH syntax) -------------------------------------------


@dataclass(frozen=True)
class _Phrase:
    stems: tuple[str, ...]


@dataclass(frozen=True)
class _All:
    children: tuple[_Node, ...]


@dataclass(frozen=True)
class _Any:
    children: tuple[_Node, ...]


_Node = _Phrase | _All | _Any


def _any(children: Iterable[_Node | None]) -> _Node | None:
    unique = list(dict.fromkeys(c for c in children if c is not None))
    if not unique:
        return None
    return unique[0] if len(unique) == 1 else _Any(tuple(unique))


def _all(children: Iterable[_Node | None]) -> _Node | None:
    items = list(children)
    if not items or any(c is None for c in items):
        return None  # a conjunction with an unusable part can never match
    unique = list(dict.fromkeys(c for c in items if c is not None))
    return unique[0] if len(unique) == 1 else _All(tuple(unique))


def _to_fts(node: _Node) -> str:
    """FTS5 MATCH text. Stems are always double-quoted (quotes doubled), so no user input can be
    read as FTS5 syntax (NEAR, *, ^, column filters, …)."""
    if isinstance(node, _Phrase):
        return '"' + " ".join(node.stems).replace('"', '""') + '"'
    operator = " AND " if isinstance(node, _All) else " OR "
    return "(" + operator.join(_to_fts(c) for c in node.children) + ")"


def _satisfiable(node: _Node, known: dict[str, int]) -> bool:
    """Could this match anything at all? (Every stem of some alternative occurs in the index.)"""
    if isinstance(node, _Phrase):
        return all(s in known for s in node.stems)
    if isinstance(node, _All):
        return all(_satisfiable(c, known) for c in node.children)
    return any(_satisfiable(c, known) for c in node.children)


@dataclass(frozen=True)
class _Unit:
    """One searchable unit of the query: a word, or several words forming a synonym phrase."""

    tokens: tuple[Token, ...]
    node: _Node | None

    @property
    def primary_stem(self) -> str:
        return " ".join(stem(t.folded) for t in self.tokens)


# --- the index ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Facet:
    """Distinct values of themen or zielgruppen, with what each one can be found by."""

    display: dict[str, str] = field(default_factory=dict)  # key → label to show
    counts: Counter[str] = field(default_factory=Counter)
    terms: dict[str, frozenset[str]] = field(default_factory=dict)  # key → stems incl. parts


class SearchIndex:
    """Full-text index over a catalogue. Build a new one whenever the catalogue is (re)loaded."""

    def __init__(self, catalogue: Catalogue, synonyms: Sequence[Sequence[str]]) -> None:
        self.catalogue = catalogue
        # Docids follow the titles' alphabetical order: the index breaks ties and lists filter-only
        # results by docid.
        self._entries: list[Offering] = sorted(catalogue.entries, key=lambda e: fold(e.titel))
        self._store = SearchIndexStore()
        self._document_frequency: dict[str, int] = {}
        self._surface: dict[str, Counter[str]] = defaultdict(Counter)  # folded → spellings
        self._words: set[str] = set()  # every folded word of the catalogue
        self._word_cache: dict[str, tuple[list[str], list[str]]] = {}
        self._field_cache: dict[str, tuple[list[str], list[str]]] = {}
        texts = [self._field_texts(e) for e in self._entries]
        vocabulary = self._collect_vocabulary(texts, synonyms)
        self._decompounder = Decompounder(vocabulary)
        self._synonym_groups = self._prepare_synonyms(synonyms)
        self._facets = {"thema": _Facet(), "zielgruppe": _Facet()}
        self._store.add(self._index_rows(texts))
        self._fuzzy_choices = sorted(w for w in self._words if len(w) >= 4 and w.isalpha())
        self._value_names = _enum_value_names(synonyms)

    @classmethod
    def build(
        cls, catalogue: Catalogue, synonyms: Sequence[Sequence[str]] | None = None
    ) -> SearchIndex:
        """Index ``catalogue``; synonym groups default to the catalogue's own ``synonyme.yaml``."""
        return cls(catalogue, catalogue.synonyms if synonyms is None else synonyms)

    def close(self) -> None:
        self._store.close()

    # -- building --

    @staticmethod
    def _field_texts(entry: Offering) -> dict[str, str]:
        audiences = " ; ".join(_indexed_audience(value) for value in entry.zielgruppen)
        features = f"{_indexed_type(entry.typ)} {entry.format}"
        if entry.is_free:
            features += " kostenlos"
        return {
            "titel": entry.titel,
            "themen": " ; ".join(entry.themen),
            "zielgruppen": audiences,
            "merkmale": features,
            "anbieter": entry.anbieter,
            "beschreibung": entry.beschreibung,
        }

    def _collect_vocabulary(
        self, texts: list[dict[str, str]], synonyms: Sequence[Sequence[str]]
    ) -> set[str]:
        """Words compounds are split against; also fills the typo-correction vocabulary.

        Spellings for "Meinten Sie …?" come from prose (titles, providers, descriptions), not
        from slugs like "digitalisierung" in themen.
        """
        prose_counts: Counter[str] = Counter()
        other: set[str] = set()
        for fields in texts:
            for name, text in fields.items():
                if name in _PROSE_FIELDS:
                    prose_counts.update(words_of(text))
                else:
                    other.update(words_of(text))
        other.update(w for group in synonyms for text in group for w in words_of(text))
        vocabulary: set[str] = set()
        for surface in set(prose_counts) | other:
            found = token_of(surface)
            if found is None:
                continue
            for folded, spelled in _spellings(found):
                if is_meaningful(folded):
                    self._words.add(folded)
                    if surface in prose_counts:
                        self._surface[folded][spelled] += prose_counts[surface]
                    if len(folded) >= 4 and folded.isalpha():
                        vocabulary.add(folded)
        return vocabulary

    def _analyse_field(self, name: str, text: str) -> tuple[list[str], list[str]]:
        if name in _PROSE_FIELDS:
            return self._analyse(tokenize(text))
        # short fields (target groups, features, topics) repeat across entries
        cached = self._field_cache.get(text)
        if cached is None:
            cached = self._analyse(tokenize(text))
            self._field_cache[text] = cached
        return cached

    def _analyse(self, tokens: list[Token]) -> tuple[list[str], list[str]]:
        """(stems of the words, derived terms) of one field.

        Derived terms are the stems of compound parts plus one token per synonym group whose
        member occurs (as a word, a compound part or a multi-word phrase). Matching a group via its
        token instead of each member keeps all members equally rare for bm25 — a rare synonym
        would otherwise outrank the word the user actually typed.
        """
        words: list[str] = []
        derived: list[str] = []
        for token in tokens:
            word_stems, part_stems = self._analyse_word(token)
            words.extend(word_stems)
            derived.extend(part_stems)
        single = self._single_word_groups
        groups = {single[s] for s in words if s in single}
        groups.update(single[s] for s in derived if s in single)
        groups.update(self._phrase_groups(words))
        derived.extend(_group_token(g) for g in sorted(groups))
        return words, derived

    def _phrase_groups(self, stems: list[str]) -> set[int]:
        """Synonym groups whose multi-word member ("künstliche Intelligenz") occurs in ``stems``."""
        found: set[int] = set()
        for start in range(len(stems) - 1):
            if stems[start] not in self._phrase_starts:
                continue
            for span in range(2, min(self._longest_synonym, len(stems) - start) + 1):
                group = self._synonym_groups.get(tuple(stems[start : start + span]))
                if group is not None:
                    found.add(group)
        return found

    def _analyse_word(self, token: Token) -> tuple[list[str], list[str]]:
        cached = self._word_cache.get(token.surface)
        if cached is None:
            word_stems: list[str] = []
            part_stems: list[str] = []
            pieces = token.pieces or (token.folded,)
            if token.pieces and is_meaningful(token.folded):
                word_stems.append(stem(token.folded))
            for piece in pieces:
                if is_meaningful(piece):
                    word_stems.append(stem(piece))
                    part_stems.extend(stem(p) for p in self._decompounder.parts(piece))
            cached = (word_stems, part_stems)
            self._word_cache[token.surface] = cached
        return cached

    def _index_rows(self, texts: list[dict[str, str]]) -> Iterable[IndexedOffering]:
        for docid, (entry, fields) in enumerate(zip(self._entries, texts, strict=True)):
            columns: dict[str, str] = {}
            other_derived: list[str] = []
            seen: set[str] = set()
            for name, text in fields.items():
                stems, derived = self._analyse_field(name, text)
                columns[name] = " ".join(stems)
                if name in ("titel", "themen", "beschreibung"):
                    columns[f"{name}_extra"] = " ".join(derived)
                else:
                    other_derived.extend(derived)
                seen.update(stems)
                seen.update(derived)
            columns["weitere_extra"] = " ".join(other_derived)
            for term in seen:
                self._document_frequency[term] = self._document_frequency.get(term, 0) + 1
            facets = {
                "thema": self._register_facet("thema", entry.themen),
                "zielgruppe": self._register_facet("zielgruppe", entry.zielgruppen),
            }
            yield IndexedOffering(
                docid=docid,
                columns=columns,
                typ=entry.typ,
                format=entry.format,
                free=entry.is_free,
                facets=facets,
            )

    def _register_facet(self, kind: str, values: Iterable[str]) -> frozenset[str]:
        facet = self._facets[kind]
        keys = set()
        for value in values:
            key = _facet_key(value)
            keys.add(key)
            facet.counts[key] += 1
            if key not in facet.display:
                facet.display[key] = value  # as written: what users can type after "thema:"
                label = audience_label(value, _german_texts()) if kind == "zielgruppe" else value
                words, parts = self._analyse(tokenize(f"{value} {label}"))
                facet.terms[key] = frozenset(words) | frozenset(parts)
        return frozenset(keys)

    def _prepare_synonyms(self, synonyms: Sequence[Sequence[str]]) -> dict[tuple[str, ...], int]:
        """Stem sequence of each synonym → its group number."""
        by_stems: dict[tuple[str, ...], int] = {}
        self._group_members: list[list[tuple[str, ...]]] = []
        for number, group in enumerate(synonyms):
            members = []
            for word in group:
                stems = tuple(stem(t.folded) for t in tokenize(word) if is_meaningful(t.folded))
                if stems:
                    members.append(stems)
                    by_stems.setdefault(stems, number)
            self._group_members.append(members)
        self._longest_synonym = max((len(k) for k in by_stems), default=0)
        self._single_word_groups = {k[0]: g for k, g in by_stems.items() if len(k) == 1}
        self._phrase_starts = {k[0] for k in by_stems if len(k) > 1}
        return by_stems

    # -- querying --

    def search(self, text: str, offset: int = 0, limit: int = DEFAULT_LIMIT) -> SearchResult:
        """Entries matching ``text`` (free words and filters), best first; see module docs."""
        offset = max(0, offset)
        limit = min(max(1, limit), MAX_LIMIT)
        parsed = parse_query(text)
        applied, errors, row_filter = self._resolve_filters(parsed)
        base = SearchResult(query=text, offset=offset, limit=limit, filters=applied)
        if errors:
            return _replace(base, filter_errors=tuple(errors))
        units = self._units(parsed.text)
        terms = tuple(u.primary_stem for u in units)
        if not units:
            if row_filter.is_empty:
                return base
            docids, total = self._store.list_filtered(row_filter, offset, limit)
            return _replace(
                base, hits=tuple(Hit(self._entries[d], 0.0) for d in docids), total=total
            )
        result = self._run(units, row_filter, offset, limit, relaxed=False)
        if result[1] > 0:
            return self._result(base, terms, result)
        corrected, suggestion = self._correct(units, text)
        if corrected is not None:
            result = self._run(corrected, row_filter, offset, limit, relaxed=False)
            if result[1] > 0:
                return self._result(base, terms, result, suggestion=suggestion)
            units = corrected
        else:
            suggestion = None
        if len(units) > 1:
            result = self._run(units, row_filter, offset, limit, relaxed=True)
            if result[1] > 0:
                return self._result(base, terms, result, suggestion=suggestion, relaxed=True)
        return _replace(base, terms=terms)

    def _result(
        self,
        base: SearchResult,
        terms: tuple[str, ...],
        found: tuple[list[tuple[int, float]], int],
        suggestion: str | None = None,
        relaxed: bool = False,
    ) -> SearchResult:
        rows, total = found
        hits = tuple(Hit(self._entries[docid], score) for docid, score in rows)
        return _replace(
            base, hits=hits, total=total, terms=terms, suggestion=suggestion, relaxed=relaxed
        )

    def _run(
        self, units: list[_Unit], row_filter: RowFilter, offset: int, limit: int, relaxed: bool
    ) -> tuple[list[tuple[int, float]], int]:
        nodes = [u.node for u in units]
        node = _any(nodes) if relaxed else _all(nodes)
        if node is None or not _satisfiable(node, self._document_frequency):
            return [], 0
        return self._store.search(_to_fts(node), row_filter, offset, limit)

    def _units(self, free_text: str) -> list[_Unit]:
        tokens = [t for t in tokenize(free_text) if is_meaningful(t.folded)]
        content = [t for t in tokens if t.folded not in QUERY_FILLERS]
        tokens = (content or tokens)[:MAX_QUERY_WORDS]
        units: list[_Unit] = []
        index = 0
        while index < len(tokens):
            span, group = self._synonym_at(tokens, index)
            if span > 1 and group is not None:
                phrase = _Phrase(tuple(stem(t.folded) for t in tokens[index : index + span]))
                node = _any([phrase, _Phrase((_group_token(group),))])
                units.append(_Unit(tuple(tokens[index : index + span]), node))
            else:
                units.append(_Unit((tokens[index],), self._word_node(tokens[index])))
                span = 1
            index += span
        return units

    def _synonym_at(self, tokens: list[Token], index: int) -> tuple[int, int | None]:
        """Longest run of query words starting at ``index`` that is a multi-word synonym."""
        for span in range(min(self._longest_synonym, len(tokens) - index), 1, -1):
            key = tuple(stem(t.folded) for t in tokens[index : index + span])
            if key in self._synonym_groups:
                return span, self._synonym_groups[key]
        return 1, None

    def _word_node(self, token: Token, depth: int = 0) -> _Node | None:
        """Alternatives for one word: its stem, its synonym group, the conjunction of its parts."""
        word_stem = stem(token.folded)
        alternatives: list[_Node | None] = [_Phrase((word_stem,))]
        group = self._synonym_groups.get((word_stem,))
        if group is not None:
            alternatives.append(_Phrase((_group_token(group),)))
        if depth < 2:
            if token.pieces:
                pieces = [Token(p, p) for p in token.pieces if is_meaningful(p)]
                alternatives.append(_all(self._word_node(p, depth + 1) for p in pieces))
            else:
                parts = self._decompounder.split(token.folded)
                if parts:
                    alternatives.append(
                        _all(self._word_node(Token(p, p), depth + 1) for p in parts)
                    )
        return _any(alternatives)

    # -- typo tolerance --

    def _correct(self, units: list[_Unit], text: str) -> tuple[list[_Unit] | None, str | None]:
        """Replace words the index does not know by the closest catalogue word."""
        corrected: list[_Unit] = []
        suggestion = text[:MAX_QUERY_CHARS]
        changed = False
        for unit in units:
            if (
                len(unit.tokens) > 1
                or unit.node is None
                or _satisfiable(unit.node, self._document_frequency)
            ):
                corrected.append(unit)
                continue
            token = unit.tokens[0]
            replacement = self._closest_word(token.folded)
            if replacement is None:
                corrected.append(unit)
                continue
            new_token = Token(replacement, replacement)
            corrected.append(_Unit((new_token,), self._word_node(new_token)))
            suggestion = _replace_word(suggestion, token.surface, self._spelling(replacement))
            changed = True
        if not changed:
            return None, None
        return corrected, " ".join(suggestion.split())

    def _closest_word(self, folded: str) -> str | None:
        if len(folded) < 4 or not folded.isalpha():
            return None
        # One slip per word, two in long words: more would "correct" real but unknown words
        # ("erstellen" → "stellen") instead of typos.
        max_distance = 1 if len(folded) < 10 else 2
        candidates = process.extract(
            folded,
            self._fuzzy_choices,
            scorer=OSA.distance,
            score_cutoff=max_distance,
            limit=10,
        )
        if not candidates:
            return None
        # Closest first; then one with the same first letter (typos rarely hit it); then the word
        # more entries use.
        best = min(
            candidates,
            key=lambda c: (
                c[1],
                c[0][0] != folded[0],
                -self._document_frequency.get(stem(c[0]), 0),
                c[0],
            ),
        )
        return best[0]

    def _spelling(self, folded: str) -> str:
        """How the catalogue's prose most often writes a word (else the folded form)."""
        spellings = self._surface.get(folded)
        return spellings.most_common(1)[0][0] if spellings else folded

    # -- filters --

    def _resolve_filters(
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
                errors.append(FilterError(typed_key, value, key, self._valid_values(key)))
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
        """Catalogue keys a filter value stands for (tolerant of case, umlauts and inflection)."""
        if key in ("typ", "format"):
            forms = _value_forms(value)
            return {slug for slug, names in self._value_names[key].items() if names & forms}
        # A topic matches when it contains the value's words (also as compound parts) or those
        # of a synonym: thema:beteiligung finds "Bürgerbeteiligung" and "Partizipation".
        facet = self._facets[key]
        matched = {_facet_key(value)} & facet.display.keys()
        alternatives = self._value_alternatives(value)
        matched.update(
            k for k, terms in facet.terms.items() if any(alt <= terms for alt in alternatives)
        )
        return matched

    def _value_alternatives(self, value: str) -> list[frozenset[str]]:
        """Stem sets any of which a topic must contain: the value itself, its synonyms."""
        tokens = [t for t in tokenize(value) if is_meaningful(t.folded)]
        if not tokens:
            return []
        stems = tuple(stem(t.folded) for t in tokens)
        alternatives = [frozenset(stems)]
        group = self._synonym_groups.get(stems)
        if group is not None:
            alternatives.extend(frozenset(member) for member in self._group_members[group])
        return alternatives

    def _unknown_key(self, typed_key: str, value: str) -> FilterError:
        valid = (*(f"{k}:" for k in CANONICAL_KEYS if k != "kosten"), "kostenlos")
        close = process.extract(
            fold(typed_key), list(FILTER_KEYS), scorer=OSA.distance, score_cutoff=2, limit=1
        )
        suggestions = tuple(f"{FILTER_KEYS[c]}:" for c, _, _ in close)
        return FilterError(typed_key, value, None, valid, suggestions)

    def _unknown_value(self, typed_key: str, key: str, value: str) -> FilterError:
        valid = self._valid_values(key)
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

    def _valid_values(self, key: str) -> tuple[str, ...]:
        if key == "typ":
            return TYPES
        if key == "format":
            return FORMATS
        facet = self._facets[key]
        ranked = sorted(facet.display, key=lambda k: (-facet.counts[k], k))
        return tuple(facet.display[k] for k in ranked)


def _replace(result: SearchResult, **changes: object) -> SearchResult:
    return replace(result, **changes)  # type: ignore[arg-type]


def _spellings(token: Token) -> list[tuple[str, str]]:
    """(folded, as written) for a word and, if hyphenated, each of its pieces."""
    pairs = [(token.folded, token.surface)]
    if token.pieces:
        surfaces = re.split(r"[-‐‑]", token.surface)
        pairs.extend(zip(token.pieces, surfaces, strict=False))
    return pairs


def _replace_word(text: str, old: str, new: str) -> str:
    pattern = re.compile(r"(?<![^\W_])" + re.escape(old) + r"(?![^\W_])")
    return pattern.sub(lambda _: new, text, count=1)


def _group_token(group: int) -> str:
    # Starts with a digit and ends in letters: no stem of real text looks like this.
    return f"0syn{group}x"


def _facet_key(value: str) -> str:
    return " ".join(fold(value).split())


def _value_forms(value: str) -> frozenset[str]:
    """Comparable forms of a filter value or enum name: folded without spaces, and its stem."""
    compact = re.sub(r"[\W_]+", "", fold(value))
    return frozenset({compact, stem(compact)}) if compact else frozenset()


def _enum_value_names(
    synonyms: Sequence[Sequence[str]],
) -> dict[str, dict[str, frozenset[str]]]:
    """For typ and format: every slug with the forms of its German and English labels and of the
    synonyms of either (typ:seminar → weiterbildung, format:vor-ort → praesenz)."""
    names: dict[str, dict[str, frozenset[str]]] = {"typ": {}, "format": {}}
    for key, slugs in (("typ", TYPES), ("format", FORMATS)):
        for slug in slugs:
            forms = set(_value_forms(slug))
            for lang in ("de", "en"):
                t = Texts(lang)
                forms |= _value_forms(str(t.raw(f"angebot.{key}.{slug}")))
                if key == "typ":
                    forms |= _value_forms(str(t.raw(f"angebot.typ_plural.{slug}")))
            for group in synonyms:
                group_forms = frozenset().union(*(_value_forms(word) for word in group))
                if group_forms & forms:
                    forms |= group_forms
            names[key][slug] = frozenset(forms)
    return names


@lru_cache(maxsize=1024)
def _indexed_audience(value: str) -> str:
    """Target group text for the index: slug plus German label unless they are the same word."""
    label = audience_label(value, _german_texts())
    return value if fold(label) == fold(value) else f"{value} {label}"


@lru_cache(maxsize=16)
def _indexed_type(typ: str) -> str:
    return f"{typ} {type_label(typ, _german_texts())}"


@lru_cache(maxsize=1)
def _german_texts() -> Texts:
    return Texts("de")  # the catalogue is German, so labels in the index are too


# --- labels -------------------------------------------------------------------------------------


def type_label(typ: str, t: Texts) -> str:
    return _label(t, f"angebot.typ.{typ}", typ)


def format_label(fmt: str, t: Texts) -> str:
    return _label(t, f"angebot.format.{fmt}", fmt)


def audience_label(value: str, t: Texts, catalogue: Catalogue | None = None) -> str:
    """Human label of a target group: "fachkraefte" → "Fachkräfte" (from the locale file, else
    spelled like the catalogue texts); free text stays as written."""
    slug = "-".join(fold(value).split())
    label = _label(t, f"angebot.zielgruppe.{slug}", "")
    if label:
        return label
    return topic_label(value, catalogue)


def topic_label(value: str, catalogue: Catalogue | None = None) -> str:
    """Human label of a topic slug: "kuenstliche-intelligenz" → "Künstliche Intelligenz"."""
    if catalogue is not None:
        return catalogue.label(value)
    if value == value.lower() and " " not in value:
        return value[:1].upper() + value[1:].replace("-", " ")
    return value


def _label(t: Texts, key: str, fallback: str) -> str:
    try:
        value = t.raw(key)
    except KeyError:
        return fallback
    return value if isinstance(value, str) else fallback


# --- overview -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TopicSummary:
    topic: str  # label to show
    value: str  # as written in the catalogue, usable as thema:<value>
    count: int
    examples: tuple[str, ...]  # titles


@dataclass(frozen=True)
class Overview:
    total: int
    by_type: tuple[tuple[str, int], ...]  # (typ, count), most common first
    by_format: tuple[tuple[str, int], ...]
    free: int
    topics: tuple[TopicSummary, ...]


def overview(catalogue: Catalogue, topics: int = 6, examples: int = 2) -> Overview:
    """What ``!angebot`` alone shows: counts per type and the most common topics."""
    by_type = Counter(e.typ for e in catalogue.entries)
    by_format = Counter(e.format for e in catalogue.entries)
    topic_entries: dict[str, list[Offering]] = defaultdict(list)
    spellings: dict[str, Counter[str]] = defaultdict(Counter)
    for entry in catalogue.entries:
        for topic in dict.fromkeys(_facet_key(t) for t in entry.themen):
            topic_entries[topic].append(entry)
        for topic in entry.themen:
            spellings[_facet_key(topic)][topic] += 1
    ranked = sorted(topic_entries, key=lambda k: (-len(topic_entries[k]), k))[:topics]
    summaries = tuple(
        TopicSummary(
            catalogue.label(spellings[k].most_common(1)[0][0]),
            spellings[k].most_common(1)[0][0],
            len(topic_entries[k]),
            tuple(e.titel for e in topic_entries[k][:examples]),
        )
        for k in ranked
    )
    return Overview(
        total=len(catalogue.entries),
        by_type=tuple(sorted(by_type.items(), key=lambda kv: (-kv[1], TYPES.index(kv[0])))),
        by_format=tuple(sorted(by_format.items(), key=lambda kv: (-kv[1], FORMATS.index(kv[0])))),
        free=sum(1 for e in catalogue.entries if e.is_free),
        topics=summaries,
    )


# --- rendering (pure; the chat command sends the returned Message) ------------------------------

_DISPLAY_QUERY_CHARS = 80


def render_results(result: SearchResult, t: Texts, prefix: str = "!") -> Message:
    """The reply to a search: notes (typo, relaxed), numbered hits, paging and help hints."""
    if result.filter_errors:
        return render_filter_errors(result.filter_errors, t, prefix)
    if result.is_empty_query:
        return t("angebot.results.empty", prefix=prefix)
    query = _short(result.query)
    filters = _filters_text(result.filters, t)
    if not result.hits:
        return _render_no_hits(result, t, prefix, query, filters)
    parts: list[Message] = []
    first, last = result.offset + 1, result.offset + len(result.hits)
    if result.suggestion:
        parts.append(t("angebot.results.did_you_mean", query=query, suggestion=result.suggestion))
    if result.relaxed:
        parts.append(t("angebot.results.relaxed"))
    if result.terms:
        header_query = _short(result.suggestion) if result.suggestion else query
        parts.append(
            t(
                "angebot.results.header",
                query=header_query,
                first=first,
                last=last,
                total=result.total,
            )
        )
    else:
        parts.append(
            t(
                "angebot.results.header_filters_only",
                filters=filters,
                first=first,
                last=last,
                total=result.total,
            )
        )
    parts.append(_hit_list(result.hits, first, t))
    if result.has_more:
        parts.append(t("angebot.results.more", rest=result.total - last, prefix=prefix))
    parts.append(t("angebot.results.details_hint", prefix=prefix))
    return join(parts)


def _render_no_hits(
    result: SearchResult, t: Texts, prefix: str, query: str, filters: str
) -> Message:
    if result.total and result.offset >= result.total:
        return t("angebot.results.page_past_end", total=result.total)
    if result.terms:
        parts = [t("angebot.results.none", query=query)]
    else:
        parts = [t("angebot.results.none_filters", filters=filters)]
    parts.append(t("angebot.results.none_hint", prefix=prefix))
    return join(parts)


def _hit_list(hits: Sequence[Hit], first: int, t: Texts) -> Message:
    plain_lines: list[str] = []
    items: list[str] = []
    for number, hit in enumerate(hits, start=first):
        entry = hit.entry
        meta = _meta_line(entry, t)
        id_text = t("angebot.results.id", id=entry.id)
        plain = f"{number}. {entry.titel}\n   {meta.plain} · {id_text.plain}"
        if entry.link:
            plain += f"\n   {entry.link}"
        plain_lines.append(plain)
        items.append(f"<li>{_title_html(entry)}<br>{meta.html} · {id_text.html}</li>")
    html = f'<ol start="{first}">' + "".join(items) + "</ol>"
    return Message("\n".join(plain_lines), html)


def _title_html(entry: Offering) -> str:
    title = f"<b>{escape(entry.titel)}</b>"
    if entry.link:
        return f'<a href="{escape(entry.link)}">{title}</a>'
    return title


def _meta_line(entry: Offering, t: Texts) -> Message:
    separator = str(t.raw("angebot.results.meta_separator"))
    cost = str(t.raw("angebot.free")) if entry.is_free else entry.kosten
    values = [entry.anbieter, type_label(entry.typ, t), format_label(entry.format, t), cost]
    return Message.text(separator.join(values))


def render_details(
    entry: Offering, t: Texts, prefix: str = "!", catalogue: Catalogue | None = None
) -> Message:
    """Everything about one offering (``!angebot details <id>``). With ``catalogue``, topic slugs
    are shown spelled out ("Künstliche Intelligenz")."""
    facts = [
        Message(entry.titel, _title_html(entry)),
        t("angebot.details.provider", value=entry.anbieter),
        t("angebot.details.type", value=type_label(entry.typ, t)),
        t("angebot.details.format", value=format_label(entry.format, t)),
        t("angebot.details.cost", value=entry.kosten),
    ]
    if entry.dauer:
        facts.append(t("angebot.details.duration", value=entry.dauer))
    if entry.themen:
        topics = ", ".join(topic_label(v, catalogue) for v in entry.themen)
        facts.append(t("angebot.details.topics", value=topics))
    if entry.zielgruppen:
        labels = ", ".join(audience_label(v, t, catalogue) for v in entry.zielgruppen)
        facts.append(t("angebot.details.audiences", value=labels))
    closing = []
    if entry.link:
        link = Message(entry.link, f'<a href="{escape(entry.link)}">{escape(entry.link)}</a>')
        closing.append(t("angebot.details.link", value=link))
    closing.append(t("angebot.details.id", id=entry.id))
    return join([join(facts), Message.text(entry.beschreibung), join(closing)], separator="\n\n")


def render_unknown_id(
    offering_id: str, catalogue: Catalogue, t: Texts, prefix: str = "!"
) -> Message:
    """Reply to ``!angebot details <id>`` with an id that does not exist (or none at all)."""
    if not offering_id.strip():
        example = catalogue.entries[0].id if catalogue.entries else "beispiel-id"
        return t("angebot.details.missing_id", prefix=prefix, example=example)
    close = catalogue.closest_ids(offering_id)
    shown = _short(offering_id)
    if not close:
        return t("angebot.details.not_found", id=shown)
    return t("angebot.details.not_found_suggest", id=shown, suggestions=_code_list(close, t, "or"))


def render_overview(data: Overview, t: Texts, prefix: str = "!") -> Message:
    """``!angebot`` without arguments: size of the catalogue, types, common topics, usage."""
    if data.total == 0:
        return t("angebot.overview.empty")
    separator = str(t.raw("angebot.results.meta_separator"))
    types = separator.join(
        f"{_type_plural(typ, count, t)} ({count})" for typ, count in data.by_type
    )
    parts = [
        t("angebot.overview.header", total=data.total),
        t("angebot.overview.by_type", value=types),
    ]
    if data.free:
        parts.append(t("angebot.overview.free", count=data.free))
    if data.topics:
        parts.append(t("angebot.overview.topics_header"))
        for topic in data.topics:
            examples = ", ".join(
                f"„{title}“" if t.lang == "de" else f"“{title}”" for title in topic.examples
            )
            parts.append(
                t("angebot.overview.topic", topic=topic.topic, count=topic.count, examples=examples)
            )
    example = data.topics[0].topic if data.topics else "Beteiligung"
    parts.append(t("angebot.overview.usage", prefix=prefix, example=example))
    return join(parts)


def _type_plural(typ: str, count: int, t: Texts) -> str:
    if count == 1:
        return type_label(typ, t)
    return _label(t, f"angebot.typ_plural.{typ}", type_label(typ, t))


def render_filter_errors(errors: Sequence[FilterError], t: Texts, prefix: str = "!") -> Message:
    """Explain each unusable filter and list what is valid."""
    parts: list[Message] = []
    for error in errors:
        if error.canonical_key is None:
            valid = _code_list(error.valid, t, "and")
            parts.append(t("angebot.filter.unknown_key", name=_short(error.key, 30), valid=valid))
        else:
            parts.append(
                t(
                    "angebot.filter.unknown_value",
                    value=_short(error.value, 40),
                    name=error.canonical_key,
                )
            )
        if error.suggestions:
            parts.append(
                t("angebot.filter.suggestions", suggestions=_code_list(error.suggestions, t, "or"))
            )
        if error.canonical_key is not None:
            parts.append(_valid_values(error.valid, t))
    parts.append(t("angebot.filter.example", prefix=prefix))
    return join(parts)


_MAX_LISTED_VALUES = 15


def _valid_values(values: Sequence[str], t: Texts) -> Message:
    shown = list(values[:_MAX_LISTED_VALUES])
    listed = _code_list(shown, t, None)
    if len(values) > len(shown):
        return t("angebot.filter.valid_values_more", valid=listed, count=len(values))
    return t("angebot.filter.valid_values", valid=listed)


def _code_list(values: Sequence[str], t: Texts, conjunction: str | None) -> Message:
    """`a`, `b` und `c` as a message (code-formatted in HTML, plain in text)."""
    plain_items = [f"`{v}`" for v in values]
    html_items = [f"<code>{escape(v)}</code>" for v in values]
    if conjunction and len(values) > 1:
        word = str(t.raw(f"angebot.filter.{conjunction}"))
        plain = ", ".join(plain_items[:-1]) + f" {word} " + plain_items[-1]
        html = ", ".join(html_items[:-1]) + f" {escape(word)} " + html_items[-1]
        return Message(plain, html)
    return Message(", ".join(plain_items), ", ".join(html_items))


def _filters_text(filters: Sequence[AppliedFilter], t: Texts) -> str:
    shown = []
    for applied in filters:
        if applied.key == "kosten":
            shown.append(str(t.raw("angebot.free")))
        else:
            shown.append(f"{applied.key}:{applied.value}")
    return ", ".join(shown)


def _short(text: str, limit: int = _DISPLAY_QUERY_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
