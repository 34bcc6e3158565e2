"""The catalogue's search index and how a query is answered (``SearchIndex.search``).

1. Filters are taken out of the text (``filters``).
2. The remaining words become units (``query``). A word no offering contains and
   the German lexicon does not know either is a typo: it is corrected to the closest catalogue
   word at once (``typos``); when two corrections are equally good, the search
   asks back instead.
3. Every unit must match (AND), ranked by FTS5 bm25 (title and topics above the description).
   The provider field takes part only for a word naming a provider ("KGSt", "Bertelsmann"): one
   that occurs more often in provider names than in titles, topics and descriptions.
4. If no offering matches every unit, each candidate's *coverage* is the weighted share of the
   units it matches: a unit weighs its idf in the catalogue times its specificity in everyday
   German (``rarity``), and counts less when the offering has it only in the description.
   Offerings covering enough of the query (:data:`PARTIAL_COVERAGE`) are listed as partial
   matches; otherwise nothing fits: the result says so and carries at most
   :data:`RELATED_LIMIT` offerings to be shown as "entfernt verwandt".
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace

from bot.features.catalogue.model import Catalogue, Offering
from bot.features.search.coverage import (
    Docs,
    Groups,
    Scored,
    best,
    credit_groups,
    share_groups,
    strong_groups,
)
from bot.features.search.filters import Filters
from bot.features.search.model import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_QUERY_CHARS,
    Hit,
    SearchResult,
    parse_query,
)
from bot.features.search.morphology import raw_lemma
from bot.features.search.query import (
    PROVIDER,
    All,
    Any,
    Node,
    Synonyms,
    Terms,
    Unit,
    all_of,
    analyse_field,
    as_meant,
    group_token,
    query_units,
    to_fts,
    unit_for,
)
from bot.features.search.rarity import specificity, warm_up
from bot.features.search.typos import Speller, same_case
from bot.features.search.vocabulary import indexed_features
from bot.store.search_index import IndexedOffering, RowFilter, SearchIndexStore
from bot.text.german import fold, stem

PARTIAL_COVERAGE = 0.4  # share of the query's weight an offering must cover to be listed
RELATED_LIMIT = 3
_PROSE_CREDIT = 0.7  # coverage credit of a word found only outside the title and topics
_FEW = 3  # below this many full matches, offerings matching most of the query follow them
_ENOUGH_EXACT = 3  # matches of a word as written above which its relatives are left out
_PROSE = ("titel", "anbieter", "beschreibung")
_SHORT = frozenset({"themen", "zielgruppen", "merkmale"})
# Fields that rank partial matches of equal coverage: the title as written, then title compounds
# and topics, then topic compounds.
_STRONG = (("titel",), ("titel_parts", "themen"), ("themen_parts",))
_NONE: frozenset[int] = frozenset()
_FILTERS_KEPT = 256
_PLAIN = re.compile(r"[a-z0-9]+")  # one FTS5 unicode61 token exactly as written


class SearchIndex:
    """Full-text index over a catalogue. Build a new one whenever the catalogue is (re)loaded."""

    def __init__(self, catalogue: Catalogue, synonyms: Sequence[Sequence[str]]) -> None:
        self.catalogue = catalogue
        # Docids follow the titles' alphabetical order: ties and filter-only lists use it.
        self._entries: list[Offering] = sorted(catalogue.entries, key=lambda e: fold(e.titel))
        self._store = SearchIndexStore()
        self._synonyms = Synonyms(synonyms)
        self._filters = Filters(self._synonyms, synonyms)
        self._speller = Speller()
        self._df: Counter[str] = Counter()  # index token → entries containing it
        # token → docids, over all columns and over title and topics only: partial matches are
        # scored from these without another full-text query per word
        all_postings: dict[str, list[int]] = defaultdict(list)
        strong_postings = tuple(defaultdict(list) for _ in _STRONG)
        short_fields: dict[str, tuple[str, str]] = {}  # topics, target groups, features repeat
        rows = []
        for docid, entry in enumerate(self._entries):
            fields = _field_texts(entry)
            columns: dict[str, str] = {}
            for name, text in fields.items():
                streams = short_fields.get(text) if name in _SHORT else None
                if streams is None:
                    streams = analyse_field(text, self._synonyms, provider=name == "anbieter")
                    if name in _SHORT:
                        short_fields[text] = streams
                columns[name], columns[f"{name}_parts"] = streams
            tokens = {t for text in columns.values() for t in text.split()}
            self._df.update(tokens)
            for token in tokens:
                all_postings[token].append(docid)
            for names, postings in zip(_STRONG, strong_postings, strict=True):
                for token in {t for name in names for t in columns[name].split()}:
                    postings[token].append(docid)
            self._speller.learn(fields[name] for name in _PROSE)
            facets = {
                "thema": self._filters.register("thema", entry.themen),
                "zielgruppe": self._filters.register("zielgruppe", entry.zielgruppen),
            }
            rows.append(IndexedOffering(docid, columns, entry.typ, entry.format, entry.is_free))
            rows[-1].facets.update(facets)
        self._store.add(rows)
        # Frozen once here: a query then intersects and unites them without copying a list.
        self._postings = _frozen(all_postings)
        self._filtered: dict[RowFilter, frozenset[int]] = {}  # see _passing
        self._plain = all(_PLAIN.fullmatch(token) for token in self._postings)
        self._strong = tuple(_frozen(postings) for postings in strong_postings)
        self._relatives: dict[str, set[str]] = {}  # word family → its lemmas in the catalogue
        for word in self._synonyms.words():
            for term, kin in zip(word.derived, word.families, strict=True):
                self._relatives.setdefault(kin, set()).add(term)
        # A provider is named by a word more frequent in provider names than elsewhere ("KGSt").
        self._provider_words = frozenset(
            t[len(PROVIDER) :]
            for t, n in self._df.items()
            if t.startswith(PROVIDER) and len(t) >= len(PROVIDER) + 3 and n > self._df[t[2:]]
        )
        # A synonym that finds something is catalogue vocabulary too: "sozialmonitorng" is
        # corrected to "sozialmonitoring", which only synonyme.yaml spells out.
        for number, group in enumerate(synonyms):
            found = self._df[group_token(number)]
            if found:
                self._speller.learn_word((w for w in group if " " not in w), found)
        self._speller.finish()
        warm_up()

    @classmethod
    def build(
        cls, catalogue: Catalogue, synonyms: Sequence[Sequence[str]] | None = None
    ) -> SearchIndex:
        """Index ``catalogue``; synonym groups default to the catalogue's own ``synonyme.yaml``."""
        return cls(catalogue, catalogue.synonyms if synonyms is None else synonyms)

    def close(self) -> None:
        self._store.close()

    # -- querying --

    def search(self, text: str, offset: int = 0, limit: int = DEFAULT_LIMIT) -> SearchResult:
        """Entries matching ``text`` (free words and filters), best first; see module docs."""
        offset = max(0, offset)
        limit = min(max(1, limit), MAX_LIMIT)
        parsed = parse_query(text)
        applied, errors, row_filter = self._filters.resolve(parsed)
        base = SearchResult(query=text, offset=offset, limit=limit, filters=applied)
        if errors:
            return replace(base, filter_errors=tuple(errors))
        units = query_units(parsed.text, self._synonyms)
        if not units:
            if row_filter.is_empty:
                return base
            docids, total = self._store.list_filtered(row_filter, offset, limit)
            hits = tuple(Hit(self._entries[d], 0.0) for d in docids)
            return replace(base, hits=hits, total=total)
        base = replace(base, terms=tuple(" ".join(stem(t.folded) for t in u.tokens) for u in units))
        units, suggestion, ambiguous = self._correct(units, text)
        if ambiguous:
            return replace(base, ambiguous=ambiguous)
        base = replace(base, suggestion=suggestion)
        nodes = [self._node(u) for u in units]
        query = _and(nodes)
        counted = self._count(query) if row_filter.is_empty else None
        rows, total = self._store.search(to_fts(query), row_filter, offset, limit, counted)
        if total >= _FEW or (total and len(nodes) == 1):
            return replace(base, hits=self._hits(rows), total=total)
        partial = self._partial(base, units, nodes, row_filter, 0, offset + limit)
        if not total:
            return replace(partial, hits=partial.hits[offset:]) if offset else partial
        # Very few offerings match every word: those first, then the ones matching most words
        # (every full match is among the partial ones: it covers the whole query).
        if offset:
            rows, _ = self._store.search(to_fts(query), row_filter, 0, _FEW)
        full = self._hits(rows)
        seen = {hit.entry.id for hit in full}
        more = () if partial.nothing_fits else partial.hits
        hits = (*full, *(h for h in more if h.entry.id not in seen))
        return replace(base, hits=hits[offset : offset + limit], total=max(total, partial.total))

    def _node(self, unit: Unit) -> Node:
        """The unit's expression; the provider field only for a word naming a provider."""
        named = any(lem in self._provider_words for lem in unit.lemmas)
        exact = unit.node(named)
        # Derivations widen a word only when it is rare as written: a relative ("planen") would
        # otherwise outrank the word the user typed ("Planung") wherever it is frequent.
        if self._estimate(exact) >= _ENOUGH_EXACT:
            return exact
        return unit.node(named, self._relatives)

    def _estimate(self, node: Node) -> int:
        """About how many entries ``node`` matches, from the token counts without a query: 0
        exactly when it matches none (unless parts are never close together)."""
        if isinstance(node, Terms):
            return min(self._df[t] for t in node.tokens)
        counts = [self._estimate(c) for c in node.children]
        return min(counts) if isinstance(node, All) else max(counts)

    def _count(self, node: Node) -> int | None:
        """How many entries match ``node``, from the postings where they say it exactly: every
        term a single plain token (terms close together need positions, which postings lack;
        FTS5 would split a token with other characters)."""
        if not self._plain or not _plain_terms(node):
            return None
        return len(self._docs(node, self._postings))

    def _passing(self, row_filter: RowFilter) -> frozenset[int]:
        """Entries passing ``row_filter``, kept per filter: people combine few filter values."""
        found = self._filtered.get(row_filter)
        if found is None:
            if len(self._filtered) >= _FILTERS_KEPT:
                self._filtered.clear()
            found = self._filtered[row_filter] = frozenset(self._store.passing(row_filter))
        return found

    def _hits(self, rows: list[tuple[int, float]]) -> tuple[Hit, ...]:
        return tuple(Hit(self._entries[docid], score) for docid, score in rows)

    def _partial(
        self,
        base: SearchResult,
        units: list[Unit],
        nodes: list[Node],
        row_filter: RowFilter,
        offset: int,
        limit: int,
    ) -> SearchResult:
        """No offering matches every word: partial matches, or "nothing fits" plus relatives.

        Coverage is the idf-weighted share of the units an offering matches (from the postings,
        with compound parts anywhere in its text rather than close together). A compound the
        catalogue lacks counts half the share of its parts an offering has ("Stadtteilarbeit":
        Stadtteil, Arbeit), provided it has the first part. Ties go to the offering matching more
        in its title and topics."""
        scoring: list[Scored] = []
        for unit, node in zip(units, nodes, strict=True):
            weight = self._weight(unit, node)
            found = self._docs(node, self._postings)
            parts = self._part_nodes(unit)
            # The first part says what kind of thing a compound is ("Schul-sozialarbeit"): an
            # offering lacking it shares only the generic rest, which is no partial match.
            part_docs = [self._docs(part, self._postings) - found for part in parts]
            # A word only the description shares is weaker evidence than one in the title or
            # topics ("Beschaffung" mentioned in passing is no offering about procurement).
            ranks = tuple(self._docs(node, postings) for postings in self._strong)
            prose = weight * _PROSE_CREDIT
            shares = share_groups(part_docs)
            titled = _NONE.union(*ranks)
            scoring.append(Scored(weight, prose, found, ranks, titled, shares, len(parts)))
        total_weight = sum(s.weight for s in scoring)
        heaviest = sorted(scoring, key=lambda s: -s.weight)
        # Only entries matching one of the heaviest units can reach the coverage bar; if none
        # does, the relatives come from the heaviest unit anything matches.
        pool: set[int] = set()
        rest = total_weight
        for scored in heaviest:
            if rest < PARTIAL_COVERAGE * total_weight:
                break
            pool |= scored.reach()
            rest -= scored.weight
        if not pool:
            matched = [s for s in heaviest if s.matched]
            if matched:
                pool = set(matched[0].found or matched[0].shares[-1][1])
        if not row_filter.is_empty:
            pool &= self._passing(row_filter)
        credits = credit_groups(scoring, pool)
        ranked = [(s.weight, s.ranks) for s in scoring]

        def strong(members: Docs) -> Groups:
            return strong_groups(members, ranked)

        # (-coverage, -title/topic weight, docid): smallest first is best first.
        if len(nodes) > 1:
            page, good = best(credits, total_weight, offset + limit, strong, PARTIAL_COVERAGE)
            if good:
                hits = tuple(Hit(self._entries[d], -share) for share, _, d in page[offset:])
                return replace(base, hits=hits, total=good, relaxed=True)
        related = best(credits, total_weight, RELATED_LIMIT, strong)[0] if offset == 0 else []
        hits = tuple(Hit(self._entries[d], -share) for share, _, d in related)
        return replace(base, hits=hits, total=len(related), relaxed=True, nothing_fits=True)

    def _weight(self, unit: Unit, node: Node) -> float:
        """Rare words weigh most: idf in the catalogue times specificity in everyday German
        (``rarity``). Verbs and adjectives ("messen", "neue") count half as much as nouns: they
        say less about the topic than the nouns beside them."""
        weight = math.log(1 + len(self._entries) / (1 + self._estimate(node)))
        weight *= specificity(" ".join(t.surface for t in unit.tokens))  # a phrase as a whole
        return weight if _is_noun(unit) else weight * 0.5

    def _docs(self, node: Node, postings: dict[str, frozenset[int]]) -> frozenset[int]:
        """Entries containing ``node``'s terms (close together or not)."""
        if isinstance(node, Terms):
            found = postings.get(node.tokens[0], _NONE)
            for token in node.tokens[1:]:
                found = found & postings.get(token, _NONE)
            return found
        sets = [self._docs(c, postings) for c in node.children]
        return frozenset.intersection(*sets) if isinstance(node, All) else _NONE.union(*sets)

    @staticmethod
    def _part_nodes(unit: Unit) -> list[Node]:
        """Each part of a compound unit on its own (its lemma or its family)."""
        if len(unit.derived) < 2 or len(unit.tokens) > 1:
            return []
        return [
            Terms((lem,)) if lem == kin else Any((Terms((lem,)), Terms((kin,))))
            for lem, kin in zip(unit.derived, unit.families, strict=True)
        ]

    # -- typo tolerance --

    def _correct(
        self, units: list[Unit], text: str
    ) -> tuple[list[Unit], str | None, tuple[str, ...]]:
        """Replace misspelt words by the closest catalogue word; (units, corrected query, ())
        or, when a correction is ambiguous, (units, None, (typed word, candidates…))."""
        corrected: list[Unit] = []
        suggestion = " ".join(text[:MAX_QUERY_CHARS].split())
        changed = False
        for unit in units:
            token = unit.tokens[0]
            if len(unit.tokens) > 1 or token.pieces or self._estimate(self._any(unit)):
                corrected.append(unit)
                continue
            choices = self._speller.closest(token.surface)
            if len(choices) > 1:
                return units, None, (token.surface, *choices)
            if not choices:
                corrected.append(unit)
                continue
            spelled = same_case(choices[0], token.surface)
            corrected.append(unit_for(spelled, self._synonyms))
            suggestion = _replace_word(suggestion, token.surface, spelled)
            changed = True
        return corrected, (suggestion if changed else None), ()

    def _any(self, unit: Unit) -> Node:
        return unit.node(True, self._relatives)


def _plain_terms(node: Node) -> bool:
    if isinstance(node, Terms):
        return len(node.tokens) == 1 and bool(_PLAIN.fullmatch(node.tokens[0]))
    return all(_plain_terms(child) for child in node.children)


def _frozen(postings: dict[str, list[int]]) -> dict[str, frozenset[int]]:
    return {token: frozenset(docids) for token, docids in postings.items()}


def _and(nodes: list[Node]) -> Node:
    found = all_of(nodes)
    assert found is not None
    return found


def _is_noun(unit: Unit) -> bool:
    return any(raw_lemma(as_meant(t).surface)[:1].isupper() for t in unit.tokens)


def _field_texts(entry: Offering) -> dict[str, str]:
    return {
        "titel": entry.titel,
        "themen": " ; ".join(v.replace("-", " ") for v in (*entry.themen, *entry.stichworte)),
        "zielgruppen": " ; ".join(v.replace("-", " ") for v in entry.zielgruppen),
        "merkmale": indexed_features(entry.typ, entry.format, entry.is_free),
        "anbieter": entry.anbieter,
        "beschreibung": entry.beschreibung,
    }


def _replace_word(text: str, old: str, new: str) -> str:
    pattern = re.compile(r"(?<![^\W_])" + re.escape(old) + r"(?![^\W_])")
    return pattern.sub(lambda _: new, text, count=1)
