"""German morphology for search: lemmas, word families and compound parts.

All three come from one lexicon, simplemma's German dictionary (about 1.1 million word forms,
shipped inside the package; nothing is downloaded). The results are *folded* (``german.fold``)
so index and query meet whatever keyboard the user has.

- :func:`lemma` — the dictionary form: "Workshops" → ``workshop``, "Kommunen" → ``kommune``,
  "beteiligt" → ``beteiligen``. A lexicon keeps apart what a stemmer merges: "messen" / "Messe",
  "Förderung" / "Forderung", "Rat" / "Rate" all stay different.
- :func:`family` — the lemma a derived noun comes from, when the lexicon knows it: "Beteiligung" →
  ``beteiligen``, "Evaluation" → ``evaluieren``, "ehrenamtlich" → ``ehrenamt``. The search uses
  families to find a word's relatives in the catalogue, so "beteiligen" finds "Beteiligung" —
  and "messen" never "Messe".
- :func:`parts` — the lemmas of a compound's leaf parts: "Seniorenbeteiligung" →
  (``senior``, ``beteiligung``); "Fördermittel" → (``foerdern``, ``mittel``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from simplemma.strategies.dictionaries import DefaultDictionaryFactory

from bot.text.german import MAX_WORD_LENGTH, fold, is_stopword

_LANG = "de"
_MIN_PART = 4
# Three-letter words that are real compound parts (Seniorenrat, Sozialamt, Lernort, Fachtag).
_SHORT_PARTS = frozenset({"amt", "rat", "ort", "tag", "bau", "weg", "not", "rad", "see", "tat"})
# Linking elements between parts: Beteiligung-s-verfahren, Kunde-n-service, Kind-er-garten.
_LINKS = ("", "s", "es", "n", "en", "er", "e")
_MIN_COMPOUND = 9  # shorter words are not split: "Netzwerk" stays whole, "Beratung" too
# Derivational suffixes that the lexicon happens to list as words: never a compound's last part.
_SUFFIXES = frozenset({"schaft", "chen", "isch", "lich", "heit", "keit", "ling", "innen", "lein"})
_UNFOLD = (("ae", "ä"), ("oe", "ö"), ("ue", "ü"))
_MIN_INNER = 10  # a part is split again only when long: "Jugendhilfe" is, "Netzwerk" is not
_Split = tuple[float, int, tuple[str, ...]]  # (cost, tie-break, parts)
_ISCH = re.compile(r"([^\W\d_]{4,}isch)(?:e|en|er|es|em)?")


@lru_cache(maxsize=1)
def lexicon() -> Mapping[str, str]:
    """Word form → lemma (loaded once, ~1 s; the bot pays it while it logs in)."""
    return DefaultDictionaryFactory().get_dictionary(_LANG)


def _lookup(word: str) -> str | None:
    """The lemma of a form as the dictionary has it, trying the noun and lower-case spelling."""
    forms = lexicon()
    for form in (word, word[:1].upper() + word[1:], word.lower()):
        found = forms.get(form)
        if found is not None:
            return found
    return None


def is_known(word: str) -> bool:
    """A real German word (any spelling the user may type, "Foerderung" included)."""
    return _known_spelling(word) is not None


@lru_cache(maxsize=65_536)
def _known_spelling(word: str) -> str | None:
    """``word`` or its umlaut spelling ("foerderung" → "förderung") if the lexicon has it."""
    if _lookup(word) is not None:
        return word
    restored = _unfolded(word)
    if restored != word.lower() and _lookup(restored) is not None:
        return restored
    return None


def _unfolded(word: str) -> str:
    """``word`` in lower case with ae/oe/ue read as umlauts ("foerderung" → "förderung")."""
    restored = word.lower()
    for pair, umlaut in _UNFOLD:
        restored = restored.replace(pair, umlaut)
    return restored


def noun_reading(word: str) -> str | None:
    """The capitalised spelling of a word typed in lower case, when that is what the user meant:
    "wandel" is no form of "wandeln" but the noun Wandel. Only when the lower-case word is not a
    dictionary form itself, so "messen" stays a verb and never becomes "Messe"."""
    if not word.islower() or not word.isalpha():
        return None
    capital = word[:1].upper() + word[1:]
    lemma_as_typed = raw_lemma(word)
    if lemma_as_typed.lower() == word or not is_known(word):
        return None
    if is_known(capital) and raw_lemma(capital) == _known_spelling(capital):
        return capital
    return None


@lru_cache(maxsize=262_144)
def raw_lemma(word: str) -> str:
    """Lemma of one word (no hyphen) with its umlauts; the word itself when unknown."""
    if len(word) > MAX_WORD_LENGTH:
        return word
    spelling = _known_spelling(word)
    if spelling is not None:
        found = _lookup(spelling)
        return found if found is not None else spelling
    # Loan-word plurals the lexicon lacks: "Barcamps" → "Barcamp" when the singular is known.
    if len(word) > 4 and word[-1] == "s" and _known_spelling(word[:-1]) is not None:
        return raw_lemma(word[:-1])
    # Adjectives in -isch the lexicon lacks: "demografischer" → "demografisch" (and no split:
    # "Demo-grafie-scheren" is what a splitter makes of it).
    adjective = _ISCH.fullmatch(word)
    if adjective is not None:
        return adjective.group(1)
    # Inflected compounds the lexicon lacks: "Onlinezugangsgesetzes" → "Onlinezugangsgesetz",
    # when the shorter form is a compound with the same last part.
    noun = word[:1].isupper()
    last = _split(word.lower(), noun)[-1:]
    for ending in ("es", "en", "s", "n", "e"):
        shorter = word[: -len(ending)]
        if last and word.endswith(ending) and _split(shorter.lower(), noun)[-1:] == last:
            return shorter
    return word  # unknown words stay as written: guessing suffixes is what made stems collide


def lemma(word: str) -> str:
    """Folded lemma: "Workshops" → ``workshop``, "Räte" → ``rat``, "Raten" → ``rate``."""
    return fold(raw_lemma(word))


@lru_cache(maxsize=262_144)
def family(word: str) -> str:
    """Folded lemma of the word ``word`` is derived from, else its own lemma."""
    base = raw_lemma(word)
    return fold(_family_of_lemma(base))


def _family_of_lemma(base: str) -> str:
    lowered = base.lower()
    candidates: list[str] = []
    if lowered.endswith("ung") and len(lowered) > 6:
        stem = lowered[:-3]
        candidates += [stem + "en", stem + "n"]  # Beteiligung → beteiligen, Förderung → fördern
        if stem.endswith("l"):
            candidates.append(stem[:-1] + "eln")  # Entwicklung → entwickeln
    elif lowered.endswith("ation") and len(lowered) > 8:
        candidates.append(lowered[:-5] + "ieren")  # Evaluation → evaluieren
    for verb in candidates:
        if lexicon().get(verb) == verb:
            return verb
    for ending in ("licher", "liche", "lich"):  # ehrenamtlich(e) → Ehrenamt, beruflich → Beruf
        if lowered.endswith(ending) and len(lowered) - len(ending) >= _MIN_PART:
            noun = lowered[: -len(ending)].capitalize()
            if lexicon().get(noun) == noun:
                return noun
    return base


def parts(word: str) -> tuple[str, ...]:
    """Folded lemmas of a compound's leaf parts, in order; ``()`` when it is no compound."""
    return tuple(fold(p) for p in _leaf_lemmas(word))


def part_families(word: str) -> tuple[str, ...]:
    """Folded families of a compound's leaf parts ("Bürgerbeteiligung" → buerger, beteiligen)."""
    return tuple(fold(_family_of_lemma(p)) for p in _leaf_lemmas(word))


@lru_cache(maxsize=65_536)
def _leaf_lemmas(word: str) -> tuple[str, ...]:
    base = raw_lemma(word)
    if base.endswith("ion") and _known_spelling(word) is not None:
        return ()  # loan words: "Moderation" is no "Mode" + "Ration"
    if _ISCH.fullmatch(base):
        return ()
    top = _split(base.lower(), base[:1].isupper())
    if not top and base == word and _unfolded(word) != word:
        # Typed without umlauts: "fuehrungskraefteentwicklung" splits as Führungskräfte…
        top = _split(_unfolded(word).lower(), True)
    return tuple(leaf for part in top for leaf in _leaves(part))


def _leaves(part: str) -> list[str]:
    inner = _split(part.lower(), part[:1].isupper()) if len(part) >= _MIN_INNER else ()
    if not inner:
        return [part]
    return [leaf for piece in inner for leaf in _leaves(piece)]


@lru_cache(maxsize=65_536)
def _split(word: str, noun: bool) -> tuple[str, ...]:
    """Best split of a lower-case word into lemmas of known parts: fewest parts, then fewest
    linking elements, then the longer first part. A noun ends in a noun: "Förder-mittel", not
    "Förde-ermitteln"."""
    if len(word) < _MIN_COMPOUND or not word.isalpha():
        return ()
    memo: dict[int, _Split | None] = {}

    def cover(start: int, whole_allowed: bool) -> _Split | None:
        if whole_allowed and start in memo:
            return memo[start]
        options: list[_Split] = []
        if whole_allowed:
            last = _as_last_part(word[start:], noun)
            if last is not None:
                options.append((1.0, -(len(word) - start), (last,)))
        for end in range(start + 3, len(word) - 2):
            head = _as_head(word[start:end])
            if head is None:
                continue
            for link in _LINKS:
                after = end + len(link)
                if not word.startswith(link, end) or len(word) - after < 3:
                    continue
                sub = cover(after, whole_allowed=True)
                if sub is not None:
                    # linking elements and verb stems cost a little: "Landes-" is Land, not landen
                    cost = 1.0 + sub[0] + (0.1 if link else 0.0) + (0.05 if head.islower() else 0)
                    options.append((cost, -(end - start), (head, *sub[2])))
        best = min(options) if options else None
        if whole_allowed:
            memo[start] = best
        return best

    found = cover(0, whole_allowed=False)  # a compound has at least two parts
    return found[2] if found else ()


def _part_allowed(piece: str) -> bool:
    if len(piece) < _MIN_PART and piece not in _SHORT_PARTS:
        return False
    return piece not in _SUFFIXES and not is_stopword(fold(piece))


def _part_lookup(piece: str) -> str | None:
    """Lemma of a lower-case part, read as a noun first: "rat" is Rat, not raten."""
    forms = lexicon()
    return forms.get(piece[:1].upper() + piece[1:]) or forms.get(piece)


@lru_cache(maxsize=262_144)
def _as_head(piece: str) -> str | None:
    """The lemma a non-final piece stands for. It must be a dictionary form itself — a noun or
    adjective ("Jugend", "sozial"), a noun with e-elision ("schul" → Schule) or a verb stem
    ("förder" → fördern) — so that "will-kommen" is no compound of "wollen"."""
    if not _part_allowed(piece):
        return None
    forms = lexicon()
    for candidate in (piece, piece + "e"):
        noun = forms.get(candidate[:1].upper() + candidate[1:])
        if noun is not None:  # nouns also in the plural: Fachkräfte-mangel, Senioren-rat
            return noun
        found = forms.get(candidate)
        if found is not None and found.lower() == candidate:
            return found
    for ending in ("en", "n"):
        verb = piece + ending
        if lexicon().get(verb) == verb:
            return verb
    return None


@lru_cache(maxsize=262_144)
def _as_last_part(piece: str, noun: bool) -> str | None:
    if not _part_allowed(piece):
        return None
    if noun:
        return lexicon().get(piece[:1].upper() + piece[1:])
    return _part_lookup(piece)
