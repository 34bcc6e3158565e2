"""Partial matches: how much of a query an offering covers when none matches every word.

:class:`Postings` keeps, per index token, the offerings containing it — over all columns and
over the *strong* fields (title; title compounds and topics; topic compounds) — so that
coverage is scored without a full-text query per word. :func:`rank_partial` scores and ranks.

Coverage is the idf-weighted share of the units an offering matches. Compound parts count only
close together (checked by the full-text index); a compound the catalogue lacks counts half the
share of its parts an offering has ("Stadtteilarbeit": Stadtteil, Arbeit), provided it has the
first part. Ties go to the offering matching more in its title and topics.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping

from bot.features.search.morphology import raw_lemma
from bot.features.search.query import All, Any, Node, Terms, Unit, to_fts
from bot.store.search_index import RowFilter, SearchIndexStore

PARTIAL_COVERAGE = 0.5  # share of the query's weight an offering must cover to be listed
# Fields that rank partial matches of equal coverage: the title as written, then title compounds
# and topics, then topic compounds.
STRONG = (("titel",), ("titel_parts", "themen"), ("themen_parts",))
# An unknown word's idf is a smoothing artefact (no offering to count): it weighs at most this
# many times the heaviest word some offering contains, but never less than _UNKNOWN_FLOOR of its
# idf, so that a query of ubiquitous words plus an unknown one still finds nothing.
_UNKNOWN_CAP = 1.5
_UNKNOWN_FLOOR = 0.75

_NEAR_CHECKED = 300  # candidates up to which closeness is checked (bounds the cost at scale)
Ranked = tuple[float, float, int]  # (-coverage, -title/topic weight, docid): smallest is best


class Postings:
    def __init__(self) -> None:
        self.df: Counter[str] = Counter()  # index token → entries containing it
        self.all: dict[str, list[int]] = defaultdict(list)
        self.strong: tuple[dict[str, list[int]], ...] = tuple(defaultdict(list) for _ in STRONG)

    def add(self, docid: int, columns: Mapping[str, str]) -> None:
        """Add one offering (docids ascending) with its column texts."""
        tokens = {t for text in columns.values() for t in text.split()}
        self.df.update(tokens)
        for token in tokens:
            self.all[token].append(docid)
        for names, postings in zip(STRONG, self.strong, strict=True):
            for token in {t for name in names for t in columns[name].split()}:
                postings[token].append(docid)

    def estimate(self, node: Node) -> int:
        """About how many entries ``node`` matches, from the token counts without a query: 0
        exactly when it matches none (unless parts are never close together)."""
        if isinstance(node, Terms):
            return min(self.df[t] for t in node.tokens)
        counts = [self.estimate(c) for c in node.children]
        return min(counts) if isinstance(node, All) else max(counts)

    def docs(self, node: Node, postings: Mapping[str, list[int]] | None = None) -> set[int]:
        """Entries containing ``node``'s terms (close together or not)."""
        postings = self.all if postings is None else postings
        if isinstance(node, Terms):
            found = set(postings.get(node.tokens[0], ()))
            for token in node.tokens[1:]:
                found.intersection_update(postings.get(token, ()))
            return found
        sets = [self.docs(c, postings) for c in node.children]
        return set.intersection(*sets) if isinstance(node, All) else set().union(*sets)


def part_nodes(unit: Unit) -> list[Node]:
    """Each part of a compound unit on its own (its lemma or its family)."""
    if len(unit.derived) < 2 or len(unit.tokens) > 1:
        return []
    return [
        Terms((lem,)) if lem == kin else Any((Terms((lem,)), Terms((kin,))))
        for lem, kin in zip(unit.derived, unit.families, strict=True)
    ]


def rank_partial(
    postings: Postings,
    store: SearchIndexStore,
    size: int,
    units: list[Unit],
    nodes: list[Node],
    row_filter: RowFilter,
) -> tuple[list[Ranked], list[Ranked]]:
    """(partial matches worth listing, every candidate), both unsorted."""
    scoring = []  # per unit: weight, entries matching it, parts shares, its part nodes, node
    for unit, node in zip(units, nodes, strict=True):
        # Rare words weigh most (idf); verbs and adjectives ("messen", "neue") half as much
        # as nouns: they say less about the topic than the nouns beside them.
        weight = math.log(1 + size / (1 + postings.estimate(node)))
        weight *= 1.0 if _is_noun(unit) else 0.5
        # Words that must stand close together (a compound's parts) are checked by the
        # full-text index: parts scattered over an offering are no match of the compound. The
        # check reads every candidate's positions, so it is left out for very common parts.
        found = postings.docs(node)
        if _has_near(node) and len(found) <= _NEAR_CHECKED:
            found = store.matching(to_fts(node))
        parts = part_nodes(unit)
        share: Counter[int] = Counter()
        # The first part says what kind of thing a compound is ("Schul-sozialarbeit"): an
        # offering lacking it shares only the generic rest, which is no partial match.
        part_docs = [postings.docs(part) - found for part in parts]
        for docs in part_docs:
            share.update(docs & part_docs[0])
        scoring.append((weight, found, share, parts, node))
    known = [s[0] for s in scoring if s[1] or s[2]]
    if known:  # words no offering contains: capped (see _UNKNOWN_CAP)
        cap = _UNKNOWN_CAP * max(known)
        scoring = [
            s if s[1] or s[2] else (max(_UNKNOWN_FLOOR * s[0], min(s[0], cap)), *s[1:])
            for s in scoring
        ]
    total_weight = sum(s[0] for s in scoring)
    pool = _pool(scoring, total_weight)
    if not row_filter.is_empty:
        pool &= set(store.list_filtered(row_filter, 0, size)[0])
    credits: dict[int, float] = {}
    strong: dict[int, float] = {}
    topical: set[int] = set()  # offerings with a whole query word in title or topics
    for weight, found, share, parts, node in scoring:
        hit = found & pool
        for docid in hit:
            credits[docid] = credits.get(docid, 0.0) + weight
        for docid in pool.intersection(share).difference(hit):
            credits[docid] = credits.get(docid, 0.0) + weight * 0.5 * share[docid] / len(parts)
        for rank, field in enumerate(postings.strong):  # title words, compounds, topics
            for docid in postings.docs(node, field) & pool:
                strong[docid] = strong.get(docid, 0.0) + weight / (rank + 1)
                topical.add(docid)
            # A compound's parts in the title or topics bring it closer than in the text.
            for part in parts:
                for docid in postings.docs(part, field) & pool:
                    credit = weight * 0.5 / len(parts) / (rank + 1)
                    strong[docid] = strong.get(docid, 0.0) + credit
    ranked = [(-c / total_weight, -strong.get(d, 0.0), d) for d, c in credits.items() if c]
    # A partial match is listed only when a word of the query is in its title or topics:
    # matching some words somewhere in a description says little about what it is.
    if len(nodes) < 2:
        return [], ranked
    return [r for r in ranked if -r[0] >= PARTIAL_COVERAGE and r[2] in topical], ranked


def _pool(scoring: list, total_weight: float) -> set[int]:
    """Only entries matching one of the heaviest units can reach the coverage bar; if none
    does, the relatives come from the heaviest unit anything matches."""
    pool: set[int] = set()
    rest = total_weight
    by_weight = sorted(scoring, key=lambda s: -s[0])
    for weight, found, share, _, _ in by_weight:
        if rest < PARTIAL_COVERAGE * total_weight:
            break
        pool |= found
        pool.update(share)
        rest -= weight
    if not pool:
        matched = [s for s in by_weight if s[1] or s[2]]
        if matched:
            _, found, share, _, _ = matched[0]
            most = max(share.values(), default=0)
            pool = found or {d for d, n in share.items() if n == most}
    return pool


def _has_near(node: Node) -> bool:
    if isinstance(node, Terms):
        return len(node.tokens) > 1
    return any(_has_near(child) for child in node.children)


def _is_noun(unit: Unit) -> bool:
    return any(raw_lemma(t.surface)[:1].isupper() for t in unit.tokens)
