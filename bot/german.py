"""German text normalisation for search: folding, tokenising, stemming and compound splitting.

Everything works on *folded* text (see :func:`fold`), so "Führungskräfte", "FUEHRUNGSKRAEFTE" and
"fuehrungskräfte" all become ``fuehrungskraefte`` before anything else happens. Index and query go
through the same functions, which is what makes them meet.

Compounds are split against a vocabulary (the catalogue's own words plus :data:`COMMON_PARTS`):
"Bürgerbeteiligungsverfahren" → buerger + beteiligung + (s) + verfahren. That is how a search for
"Beteiligung" finds it. The splitter only accepts a split whose every part is a known word, so it
never invents parts; unknown words simply stay whole.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
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
    moechte moechten bitte hallo irgendwas
    """
)

# Common German word parts, folded. Together with the catalogue's own words they form the vocabulary
# that compounds are split against. Kept to real standalone words (nouns, adjective stems) from
# public administration and social work, so that splits stay plausible.
COMMON_PARTS: frozenset[str] = _word_set(
    """
    abfall akte akten alltag alter amt analyse angebot anwendung arbeit armut art assistent aufgabe
    ausschuss austausch auswertung bau bedarf behoerde beirat beratung bereich bericht beruf
    beschaffung beteiligung betreuung betrieb bewegung bewerbung bezirk bildung buch buerger
    buergerin buero bund chance dach daten debatte demokratie dialog dienst digital digitalisierung
    dokumentation dorf eltern energie entscheidung entwicklung erziehung ethik evaluation fach
    fachkraefte fachkraft fall familie finanz finanzen foerderung forderung format forschung frage
    frau frauen freizeit fuehrung fuehrungskraefte fuehrungskraft garten geber gemeinde
    gemeinschaft generation gesellschaft gesetz gestaltung gesundheit gleichstellung gruppe haus
    haushalt heim hilfe hochschule idee information infrastruktur initiative inklusion innovation
    integration intelligenz jugend jugendliche kampagne karte kind kinder kita klima kommunal
    kommune kommunikation kompetenz konferenz konflikt konzept kooperation kosten kraefte kraft
    kreis kultur kunde kunden lage land landkreis lehr lehrer leistung leitfaden leitung lern
    lernen licht management markt medien mensch menschen methode migration mitarbeit mittel
    mobilitaet modell moderation modernisierung nachhaltigkeit netz netzwerk not nutzung
    oeffentlichkeit online ordnung organisation ort partizipation personal plan planung plattform
    politik portal praxis projekt prozess qualitaet quartier rahmen rat raum recht region register
    schule schutz selbst senioren service sicherheit sozial sozialraum spiel sport stadt stelle
    steuer strategie struktur system tag team technik teilhabe teilnahme training transformation
    uebersicht umwelt unterstuetzung veranstaltung verein verfahren verkehr vernetzung versorgung
    verwaltung vorlage wahl wandel weg weiter welt werk werkstatt werkzeug wirtschaft wissen wohnen
    wohnung zeit zentrum zugang zukunft zusammenarbeit
    """
)

# Linking elements (Fugenelemente) that may sit between two parts: Beteiligung-s-verfahren,
# Kunde-n-service, Frau-en-förderung, Kind-er-garten, Hund-e-hütte.
_LINKS = ("", "s", "es", "n", "en", "er", "e")
_MIN_PART = 3
_Split = tuple[float, int, tuple[str, ...]]  # (cost, tie-break, parts)


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


class Decompounder:
    """Splits folded compounds into known parts; results are cached per word."""

    def __init__(self, vocabulary: Iterable[str]) -> None:
        self._words = {w for w in vocabulary if len(w) >= _MIN_PART and not is_stopword(w)}
        self._words |= COMMON_PARTS
        # An inflected last part ("…planungen") counts if its stem is a known word's stem.
        self._stems = {stem(w) for w in self._words}
        self._cache: dict[str, tuple[str, ...]] = {}

    def split(self, folded: str) -> tuple[str, ...]:
        """Best top-level split of a compound, or ``()`` if it is not one.

        "jugendhilfeplanung" → ("jugendhilfe", "planung") when "jugendhilfe" is known; the
        fewest parts win, and a split without linking elements beats one with them.
        """
        if len(folded) < 2 * _MIN_PART or len(folded) > MAX_WORD_LENGTH or not folded.isalpha():
            return ()
        cached = self._cache.get(folded)
        if cached is None:
            cached = self._best_split(folded)
            self._cache[folded] = cached
        return cached

    def parts(self, folded: str) -> list[str]:
        """All parts of a compound, recursively: "jugendhilfeplanung" → jugendhilfe, jugend,
        hilfe, planung. Empty for a word that is not a compound."""
        found: list[str] = []
        pending = list(self.split(folded))
        while pending:
            part = pending.pop(0)
            if part not in found:
                found.append(part)
                pending.extend(self.split(part))
        return found

    def _best_split(self, word: str) -> tuple[str, ...]:
        # Dynamic programming over start positions. A split's cost is its number of parts plus
        # 0.1 per linking element; among equal costs the longer first part wins.
        memo: dict[int, _Split | None] = {}

        def cover(start: int, whole_allowed: bool) -> _Split | None:
            if whole_allowed and start in memo:
                return memo[start]
            options: list[_Split] = []
            if whole_allowed and self._is_last_part(word[start:]):
                options.append((1.0, -(len(word) - start), (word[start:],)))
            for end in range(start + _MIN_PART, len(word) - _MIN_PART + 1):
                head = self._as_part(word[start:end])
                if head is None:
                    continue
                for link in _LINKS:
                    after = end + len(link)
                    if not word.startswith(link, end) or len(word) - after < _MIN_PART:
                        continue
                    sub = cover(after, whole_allowed=True)
                    if sub is not None:
                        cost = 1.0 + sub[0] + (0.1 if link else 0.0)
                        options.append((cost, -len(head), (head, *sub[2])))
            best = min(options) if options else None
            if whole_allowed:
                memo[start] = best
            return best

        found = cover(0, whole_allowed=False)  # a compound has at least two parts
        return found[2] if found else ()

    def _as_part(self, piece: str) -> str | None:
        """The known word a non-final piece stands for (``schul`` → ``schule``), else None."""
        if piece in self._words:
            return piece
        if piece + "e" in self._words:  # e-elision: Schul-sozialarbeit
            return piece + "e"
        return None

    def _is_last_part(self, piece: str) -> bool:
        return len(piece) >= _MIN_PART and (piece in self._words or stem(piece) in self._stems)
