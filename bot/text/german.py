"""German text normalisation: folding, tokenising, stopwords and a Snowball stem.

Everything works on *folded* text (see :func:`fold`), so "Führungskräfte", "FUEHRUNGSKRAEFTE" and
"fuehrungskräfte" all become ``fuehrungskraefte`` before anything else happens.

The catalogue search matches on lemmas and lexicon-based compound parts
(``features.search.morphology``); :func:`stem` only groups logged search words for the gap report,
where merging "Messe" and "messen" does no harm.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import snowballstemmer

# Words are runs of letters/digits, optionally chained with hyphens ("E-Government",
# "Open-Data-Portal"). The underscore is excluded on purpose: it is not a word character in prose.
_WORD = re.compile(r"[^\W_]+(?:[-‐‑][^\W_]+)*")
_HYPHENS = re.compile(r"[-‐‑]")
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})

# Longer "words" are not language (hashes, base64, keyboard mashing); splitting or stemming them
# only costs time.
MAX_WORD_LENGTH = 64
MIN_TOKEN_LENGTH = 2


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOPWORDS: frozenset[str] = _word_set(
    """
    aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes
    auch auf aus bei beim bin bis bist da damit dann das dass dein deine dem den denn der des
    dessen dich die dies diese diesem diesen dieser dieses dir doch dort du durch ein eine einem
    einen einer eines er es etwas euch euer eure fuer gegen hat hatte haben hier ich ihr ihre ihrem
    ihren im in ins ist ja jede jedem jeden jeder jedes kann kein keine keinem keinen keiner
    koennen man mein meine mich mir mit nach nicht noch nun nur ob oder ohne sehr sein seine sich
    sie sind so solche soll sollen sollte sondern sonst ueber um und uns unser unsere unter vom von
    vor war was weil welche welchem welchen welcher wenn wer werden wie wir wird wo zu zum zur
    zwischen the and of for with
    """
)

# Words people put around a search ("Gibt es Angebote zu …?") that say nothing about the topic.
# Only dropped from queries, never from the index, and only if something else remains.
QUERY_FILLERS: frozenset[str] = _word_set(
    """
    angebot angebote angeboten gibt suche suchen sucht brauche brauchen benoetige finde finden
    moechte moechten bitte hallo irgendwas unseren unserem unserer meinen meinem meiner eigene
    eigenen besser bessere gute guten etwas mal mehr tun
    """
)


def fold(text: str) -> str:
    """Case-fold and spell umlauts out: "Führungskräfte" → "fuehrungskraefte".

    Other diacritics are dropped ("Café" → "cafe"), so any spelling a user may type on any
    keyboard lands on the same form.
    """
    return _fold_short(text) if len(text) <= 80 else _fold(text)


@lru_cache(maxsize=65_536)
def _fold_short(text: str) -> str:
    # Slugs, labels and filter values repeat in every entry: cache the short ones.
    return _fold(text)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().translate(_UMLAUTS)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    """The words of ``text`` as written (hyphenated words stay together)."""
    return _WORD.findall(text)


@dataclass(frozen=True)
class Token:
    """One word of a text, folded. ``pieces`` holds the parts of a hyphenated word."""

    surface: str
    folded: str  # hyphens removed: "E-Government" → "egovernment"
    pieces: tuple[str, ...] = ()  # folded hyphen parts, ("e", "government"); empty if no hyphen


def tokenize(text: str) -> list[Token]:
    """Folded tokens of ``text``; overlong words are dropped, stopwords are kept."""
    tokens = []
    for surface in _WORD.findall(text):
        found = token(surface)
        if found is not None:
            tokens.append(found)
    return tokens


@lru_cache(maxsize=262_144)
def token(surface: str) -> Token | None:
    """The token of one word as written (see :func:`words`); None for overlong words.

    Cached per spelling: a catalogue repeats its words, and folding is the costly step."""
    if len(surface) > 2 * MAX_WORD_LENGTH:
        return None
    folded_pieces = [fold(p) for p in _HYPHENS.split(surface)]
    folded = "".join(folded_pieces)
    if not folded or len(folded) > MAX_WORD_LENGTH:
        return None
    pieces = tuple(folded_pieces) if len(folded_pieces) > 1 else ()
    return Token(surface, folded, pieces)


def is_stopword(folded: str) -> bool:
    return folded in STOPWORDS


def is_meaningful(folded: str) -> bool:
    """Worth indexing or searching: not a stopword and not a single character."""
    return len(folded) >= MIN_TOKEN_LENGTH and not is_stopword(folded)


_STEMMER = snowballstemmer.stemmer("german")


@lru_cache(maxsize=65_536)
def stem(folded: str) -> str:
    """Snowball German stem of a folded word: "beteiligungen" → "beteil".

    The stemmer reads "ae/oe/ue" as umlauts, so folded and unfolded spellings stem alike.
    """
    return _STEMMER.stemWord(folded)
