"""Text analysis shared by index and query, and the FTS5 expressions a query compiles to.

A field's text becomes two token streams (see ``bot.store.search_index.COLUMNS``):

- the *lemma* stream, one folded lemma per word ("Workshops" → ``workshop``);
- the *parts* stream, per compound its leaf parts' lemmas in order ("Seniorenbeteiligung" →
  ``senior beteiligung``), each followed by its word family where that differs
  (``beteiligen``), and per word the token of every synonym group it belongs to.

A query word matches its lemma in either stream (in the parts stream: inside a compound), a
relative of the same word family ("beteiligen" → "Beteiligung"), or its synonym group's token.
Compound parts must occur close together in one column (FTS5 ``NEAR``), so
"Seniorenbeteiligung" never matches "Senioren" in a provider name plus "Beteiligung" in a title.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from bot.features.search.morphology import family, lemma, noun_reading, part_families, parts
from bot.text.german import QUERY_FILLERS, Token, fold, is_meaningful, token, tokenize

MAX_QUERY_WORDS = 12
NEAR_DISTANCE = 4  # tokens between compound parts ("Beteiligung von Senioren", family tokens)
_HYPHENS = re.compile(r"[-‐‑]")


# --- expressions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    """One term, or several that must occur close together in one column."""

    tokens: tuple[str, ...]


@dataclass(frozen=True)
class All:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Any:
    children: tuple[Node, ...]


Node = Terms | All | Any


def any_of(children: Iterable[Node | None]) -> Node | None:
    unique = list(dict.fromkeys(c for c in children if c is not None))
    if not unique:
        return None
    return unique[0] if len(unique) == 1 else Any(tuple(unique))


def all_of(children: Iterable[Node | None]) -> Node | None:
    items = list(children)
    if not items or any(c is None for c in items):
        return None  # a conjunction with an unusable part can never match
    unique = list(dict.fromkeys(c for c in items if c is not None))
    return unique[0] if len(unique) == 1 else All(tuple(unique))


def to_fts(node: Node) -> str:
    """FTS5 MATCH text. Terms are always double-quoted (quotes doubled), so no user input can be
    read as FTS5 syntax (NEAR, *, ^, column filters, …). No column filters: they make FTS5 read
    every position list, and the streams need none (provider words carry :data:`PROVIDER`)."""
    if isinstance(node, Terms):
        quoted = " ".join('"' + t.replace('"', '""') + '"' for t in node.tokens)
        return quoted if len(node.tokens) == 1 else f"NEAR({quoted}, {NEAR_DISTANCE})"
    operator = " AND " if isinstance(node, All) else " OR "
    return "(" + operator.join(to_fts(c) for c in node.children) + ")"


PROVIDER = "0p"  # prefix of every provider-field token: a provider matches only when named


def group_token(group: int) -> str:
    # Starts with a digit and ends in letters: no lemma of real text looks like this.
    return f"0syn{group}x"


# --- words ---------------------------------------------------------------------------------------


def pieces(token: Token) -> list[str]:
    """The surfaces of a word's hyphen pieces ("E-Government" → E, Government)."""
    return _HYPHENS.split(token.surface) if token.pieces else [token.surface]


@dataclass(frozen=True)
class Word:
    """What one word contributes to the two streams."""

    lemmas: tuple[str, ...]
    derived: tuple[str, ...]  # the lemma, or a compound's parts, in order
    families: tuple[str, ...]  # the family of each derived term


@lru_cache(maxsize=262_144)
def analyse_word(token: Token) -> Word:
    lemmas: list[str] = []
    derived: list[str] = []
    families: list[str] = []
    surfaces = [s for s in pieces(token) if is_meaningful(fold(s))]
    if token.pieces and is_meaningful(token.folded):
        lemmas.append(token.folded)  # "E-Government" also as "egovernment"
    for surface in surfaces:
        lemmas.append(lemma(surface))
        derived.extend(parts(surface) or (lemma(surface),))
        families.extend(part_families(surface) or (family(surface),))
    return Word(tuple(lemmas), tuple(derived), tuple(families))


# --- synonyms ------------------------------------------------------------------------------------


class Synonyms:
    """Synonym groups (``synonyme.yaml``) keyed by lemma sequences; families count as well."""

    def __init__(self, groups: Sequence[Sequence[str]]) -> None:
        self.single: dict[str, int] = {}
        self.phrases: dict[tuple[str, ...], int] = {}
        self.members: list[list[tuple[str, ...]]] = []
        for number, group in enumerate(groups):
            members = []
            for text in group:
                tokens = [t for t in tokenize(text) if is_meaningful(t.folded)]
                lemmas = tuple(lemma(t.surface) for t in tokens)
                if not lemmas:
                    continue
                members.append(lemmas)
                if len(lemmas) == 1:
                    self.single.setdefault(lemmas[0], number)
                    self.single.setdefault(family(tokens[0].surface), number)
                else:
                    self.phrases.setdefault(lemmas, number)
            self.members.append(members)
        self.longest = max((len(k) for k in self.phrases), default=1)
        self._starts = {k[0] for k in self.phrases}
        self._streams: dict[Word, tuple[tuple[str, ...], tuple[str, ...]]] = {}

    def words(self) -> Iterable[Word]:
        """Every word :meth:`streams` has seen (the catalogue's vocabulary)."""
        return self._streams.keys()

    def streams(self, word: Word) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """What one word adds to the lemma and the parts stream (cached: words repeat)."""
        found = self._streams.get(word)
        if found is None:
            parts: list[str] = []
            # A plain word is in the lemma stream already; only what differs goes here.
            compound = len(word.derived) > 1
            for term, kin in zip(word.derived, word.families, strict=True):
                if compound:
                    parts.append(term)
                if kin != term:  # "sozialraumorientiert" meets "Sozialraumorientierung"
                    parts.append(kin)
            groups = self.groups_of((*word.lemmas, *word.derived, *word.families))
            parts.extend(group_token(g) for g in groups)
            found = (word.lemmas, tuple(parts))
            self._streams[word] = found
        return found

    def groups_of(self, terms: Iterable[str]) -> list[int]:
        return sorted({self.single[t] for t in terms if t in self.single})

    def phrase_at(self, lemmas: Sequence[str], start: int) -> tuple[int, int | None]:
        """(length, group) of the longest multi-word synonym starting at ``start``."""
        if lemmas[start] not in self._starts:
            return 1, None
        for span in range(min(self.longest, len(lemmas) - start), 1, -1):
            group = self.phrases.get(tuple(lemmas[start : start + span]))
            if group is not None:
                return span, group
        return 1, None


def analyse_field(text: str, synonyms: Synonyms, provider: bool = False) -> tuple[str, str]:
    """(lemma stream, parts stream) of a field's text. A provider field's tokens carry
    :data:`PROVIDER` and no synonym groups."""
    words = [analyse_word(t) for t in tokenize(text) if is_meaningful(t.folded)]
    if provider:
        lemma_tokens = [PROVIDER + lem for w in words for lem in w.lemmas]
        part_tokens = [PROVIDER + term for w in words for term in w.derived]
        return " ".join(lemma_tokens), " ".join(part_tokens)
    lemma_stream: list[str] = []
    parts_stream: list[str] = []
    flat = [w.lemmas[-1] for w in words if w.lemmas]
    phrase_groups = set()
    for start in range(len(flat)):
        _, group = synonyms.phrase_at(flat, start)
        if group is not None:
            phrase_groups.add(group)
    for word in words:
        lemmas, parts = synonyms.streams(word)
        lemma_stream.extend(lemmas)
        parts_stream.extend(parts)
    parts_stream.extend(group_token(g) for g in sorted(phrase_groups))
    return " ".join(lemma_stream), " ".join(parts_stream)


# --- query units ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """One searchable unit of a query: a word, or words forming a synonym phrase."""

    tokens: tuple[Token, ...]
    lemmas: tuple[str, ...]
    derived: tuple[str, ...]
    families: tuple[str, ...]
    group: int | None  # synonym group of the whole unit

    def node(self, provider: bool = False, relatives: dict[str, set[str]] | None = None) -> Node:
        """Alternatives for this unit. ``provider``: the word names a provider, so the provider
        field counts; ``relatives`` (word family → catalogue lemmas) widens a single word to its
        derivations ("beteiligen" → "Beteiligung")."""
        if len(self.tokens) > 1:  # a multi-word synonym: the phrase as written, or its group
            alternatives: list[Node | None] = [Terms(self.lemmas)]
        elif len(self.derived) == 1:
            # The word as written and inside compounds is one term: one idf, and the column
            # weights alone rank title over description.
            alternatives = [Terms(self.derived)]
            kin = (relatives or {}).get(self.families[0], set()) - {self.derived[0]}
            alternatives.extend(Terms((term,)) for term in sorted(kin))
        else:  # a compound or hyphenated word: as written, or its parts close together
            alternatives = [Terms((self.lemmas[0],))]
            if self.derived:
                alternatives.append(Terms(self.derived))
                alternatives.append(Terms(self.families))
        if provider:
            alternatives.extend(Terms((PROVIDER + lem,)) for lem in self.lemmas)
        if self.group is not None:
            alternatives.append(Terms((group_token(self.group),)))
        found = any_of(alternatives)
        assert found is not None
        return found


def query_units(free_text: str, synonyms: Synonyms) -> list[Unit]:
    tokens = [t for t in tokenize(free_text) if is_meaningful(t.folded)]
    content = [t for t in tokens if t.folded not in QUERY_FILLERS]
    tokens = (content or tokens)[:MAX_QUERY_WORDS]
    words = [analyse_word(as_meant(t)) for t in tokens]
    kept = [(t, w) for t, w in zip(tokens, words, strict=True) if w.lemmas]
    tokens, words = [t for t, _ in kept], [w for _, w in kept]
    flat = [w.lemmas[-1] if w.lemmas else t.folded for w, t in zip(words, tokens, strict=True)]
    units: list[Unit] = []
    index = 0
    while index < len(tokens):
        span, group = synonyms.phrase_at(flat, index)
        if group is not None:
            lemmas = tuple(flat[index : index + span])
            units.append(Unit(tuple(tokens[index : index + span]), lemmas, (), (), group))
        else:
            word = words[index]
            groups = synonyms.groups_of(word.lemmas[-1:])
            if not groups and len(word.derived) == 1:  # "beteiligen" via Beteiligung's group
                groups = synonyms.groups_of(word.derived)
            group = groups[0] if groups else None
            units.append(Unit((tokens[index],), word.lemmas, word.derived, word.families, group))
        index += span
    return units


def as_meant(typed: Token) -> Token:
    """A query word as the user meant it: many type nouns in lower case ("wandel")."""
    noun = noun_reading(typed.surface)
    found = token(noun) if noun is not None else None
    return found or typed


def unit_for(word: str, synonyms: Synonyms) -> Unit:
    """The unit of a single (corrected) word."""
    units = query_units(word, synonyms)
    return units[0]
