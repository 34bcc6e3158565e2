"""Typo correction for search words: the catalogue's own vocabulary, spelled as its prose
spells it, and the closest word to one the lexicon does not know ("Sozialraumanalise" →
"Sozialraumanalyse", "Workschop" → "Workshop"), returned in the user's casing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.features.search.morphology import is_known, lemma, parts, raw_lemma
from bot.text.german import fold, is_meaningful, words


class Speller:
    def __init__(self) -> None:
        self.spellings: dict[str, Counter[str]] = {}  # folded word → spellings in prose
        self.word_df: Counter[str] = Counter()  # folded word → offerings using it
        self._choices: list[str] = []

    def learn(self, texts: Iterable[str]) -> None:
        """Add one offering's prose (title, provider, description)."""
        seen: set[str] = set()
        for text in texts:
            for surface in words(text):
                for piece, folded in _prose_pieces(surface):
                    spellings = self.spellings.get(folded)
                    if spellings is None:
                        spellings = self.spellings[folded] = Counter()
                    spellings[piece] += 1
                    seen.add(folded)
        self.word_df.update(seen)

    def learn_word(self, spellings: Iterable[str], offerings: int) -> None:
        """Add words the catalogue's prose lacks but a search finds in ``offerings`` entries."""
        for spelled in spellings:
            for piece, _ in _prose_pieces(spelled):
                self._add(piece, offerings)

    def finish(self) -> None:
        """After the last offering: dictionary forms, too ("Onlinezugangsgesezt" is close to
        "Onlinezugangsgesetz" only, not to the catalogue's "Onlinezugangsgesetzes")."""
        for folded, spellings in list(self.spellings.items()):
            spelled = spellings.most_common(1)[0][0]
            base = raw_lemma(spelled)
            if base != spelled and base.isalpha():
                self._add(base, self.word_df[folded])
            # Parts of compounds, too: "Feedbak" is close to the "Feedback" of the catalogue's
            # "Feedbackschleifen" only.
            for part in _literal_parts(spelled):
                self._add(part, self.word_df[folded])
        self._choices = sorted(w for w in self.spellings if len(w) >= 4)

    def _add(self, spelled: str, offerings: int) -> None:
        """A spelling to correct to, unless the word has one from the prose already."""
        folded = fold(spelled)
        if folded not in self.spellings:
            self.spellings[folded] = Counter({spelled: 1})
            self.word_df[folded] = offerings

    def closest(self, surface: str) -> list[str]:
        """Catalogue spellings closest to an unknown word: one if clear, several if ambiguous,
        none for a real word the catalogue lacks ("Onboarding") or nothing close."""
        folded = fold(surface)
        if len(folded) < 4 or not folded.isalpha() or is_known(surface):
            return []
        # One slip per word, two in long words: more would "correct" real words.
        max_distance = 1 if len(folded) < 8 else 2
        found = process.extract(
            folded, self._choices, scorer=OSA.distance, score_cutoff=max_distance, limit=10
        )
        if not found:
            return []
        capital = surface[:1].isupper()

        def key(choice: tuple[str, int, int]) -> tuple[int, bool, bool, bool]:
            word, distance, _ = choice
            spelled = self.spellings[word].most_common(1)[0][0]
            return (
                distance,
                word[0] != folded[0],  # typos rarely hit the first letter
                # "Beratun" is a noun: Beratung, not beraten (lower case says nothing: many
                # people type everything in lower case)
                capital and not spelled[:1].isupper(),
                not word.startswith(folded),  # a cut-off word: "Beratun" → "Beratung"
            )

        ranked = sorted(found, key=lambda c: (key(c), -self.word_df[c[0]], c[0]))
        best = [c for c in ranked if key(c) == key(ranked[0])]
        lemmas = {lemma(self.spell(c[0])) for c in best}
        top_df = self.word_df[ranked[0][0]]
        rivals = [c for c in best[1:] if 2 * self.word_df[c[0]] > top_df]
        if len(lemmas) > 1 and rivals:
            return [self.spell(c[0]) for c in [ranked[0], *rivals][:3]]
        return [self.spell(ranked[0][0])]

    def spell(self, folded: str) -> str:
        return self.spellings[folded].most_common(1)[0][0]


@lru_cache(maxsize=262_144)
def _prose_pieces(surface: str) -> tuple[tuple[str, str], ...]:
    """(piece as written, folded) of the hyphen pieces of a prose word worth correcting to."""
    found = []
    for piece in surface.replace("‐", "-").split("-"):
        folded = fold(piece)
        if piece.isalpha() and is_meaningful(folded):
            found.append((piece, folded))
    return tuple(found)


def _literal_parts(spelled: str) -> list[str]:
    """A compound's parts that stand in it letter for letter, spelled as nouns when the
    compound is one ("Feedbackschleifen" → Feedback; "Fördermittel" gives no "fördern")."""
    word = fold(spelled)
    found = []
    for part in parts(spelled):
        start = word.find(part)
        if start < 0 or len(part) < 5 or fold(spelled[start : start + len(part)]) != part:
            continue
        piece = spelled[start : start + len(part)]
        found.append(piece[:1].upper() + piece[1:] if spelled[:1].isupper() else piece)
    return found


def same_case(spelled: str, typed: str) -> str:
    """The catalogue's spelling in the user's casing: "beratun" → "beratung", "BERATUN" → …"""
    if typed.isupper() and len(typed) > 1:
        return spelled.upper()
    first = spelled[:1].upper() if typed[:1].isupper() else spelled[:1].lower()
    return first + spelled[1:]
