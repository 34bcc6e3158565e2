"""What the bot reads of the catalogue: one :class:`Offering` per entry of ``angebote.yaml``, and
the :class:`Catalogue` of all entries with the synonym groups of ``synonyme.yaml``.

The field names are the German keys of the file; validation rules live on the model, their
wording for editors in :mod:`.wording`, reading the files in :mod:`.load`.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal, get_args
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator
from pydantic_core import PydanticCustomError
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.text.german import fold, tokenize

CATALOGUE_FILE = "angebote.yaml"
SYNONYMS_FILE = "synonyme.yaml"

OfferingType = Literal[
    "weiterbildung",
    "publikation",
    "werkzeugkoffer",
    "tool",
    "beratung",
    "netzwerk",
    "veranstaltung",
]
OfferingFormat = Literal["online", "praesenz", "hybrid", "selbstlern"]
TYPES: tuple[str, ...] = get_args(OfferingType)
FORMATS: tuple[str, ...] = get_args(OfferingFormat)

_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
# Cost texts that mean "free of charge" when they open the field ("kostenlos (nach Anmeldung)").
_FREE_WORDS = frozenset({"kostenlos", "kostenfrei", "gratis", "frei", "unentgeltlich"})

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Offering(BaseModel):
    """One entry of the catalogue. Field names are the German keys of ``angebote.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    titel: Text
    anbieter: Text
    typ: OfferingType
    themen: tuple[Text, ...] = ()
    zielgruppen: tuple[Text, ...] = ()
    # Words staff type for what the offering covers that its own text does not use ("Azubis",
    # "DSGVO"): searched like the topics, never shown.
    stichworte: tuple[Text, ...] = ()
    format: OfferingFormat
    kosten: Text
    dauer: Text | None = None
    beschreibung: Text
    link: str | None = None
    # A bare homepage is fine when the site itself is the offering (a tool, a network).
    startseite_ist_angebot: bool = False

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _ID.match(value):
            raise PydanticCustomError("id_format", "invalid id {value}", {"value": value})
        return value

    @field_validator("link")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or re.search(r"\s", value):
            raise PydanticCustomError("link_invalid", "invalid link {value}", {"value": value})
        return value

    @property
    def is_free(self) -> bool:
        """True when the cost text starts with "kostenlos" (or kostenfrei, gratis, …)."""
        first = re.split(r"[^\w]+", fold(self.kosten).strip(), maxsplit=1)[0]
        return first in _FREE_WORDS


@dataclass(frozen=True)
class Catalogue:
    """All offerings (in file order) plus the synonym groups used to widen queries."""

    entries: tuple[Offering, ...]
    synonyms: tuple[tuple[str, ...], ...] = ()
    directory: Path | None = None
    _by_id: dict[str, Offering] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {e.id: e for e in self.entries})

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[Offering]:
        return iter(self.entries)

    def get(self, offering_id: str) -> Offering | None:
        """The entry with this id; case and surrounding spaces are forgiven."""
        return self._by_id.get(offering_id.strip().lower())

    def label(self, value: str) -> str:
        """Readable form of a slug from ``themen``/``zielgruppen``, spelled as the catalogue's own
        texts spell it: "kuenstliche-intelligenz" → "Künstliche Intelligenz", "ozg" → "OZG",
        "it-sicherheit" → "IT-Sicherheit". Values that are already prose stay as they are."""
        if not _looks_like_slug(value):
            return value
        whole = self._spellings.get(value.replace("-", ""))
        if whole is not None and whole != whole.lower():
            return _capitalise(whole)
        pieces = [p for p in value.split("-") if p]
        words = [self._spell(p) for p in pieces]
        text = words[0] if words else value
        for index in range(1, len(words)):
            previous, word = words[index - 1], words[index]
            if len(pieces[index - 1]) == 1 or len(pieces[index]) == 1:
                text += "-" + word  # E-Partizipation
            elif word in ("und", "oder") and self._has_hyphen_ellipsis(previous):
                text += "- " + word  # Kinder- und Jugendbeteiligung, as the texts write it
            else:
                text += " " + word
        return _capitalise(text)

    def _spell(self, piece: str) -> str:
        known = self._spellings.get(piece)
        if known is not None:
            return known
        for folded, surface in self._spellings.items():
            # part of a compound the texts use: "qualitaet" from "Qualitätsentwicklung"
            if folded.startswith(piece):
                prefix = _surface_slice(surface, len(piece), from_end=False)
                if prefix:
                    return prefix
            elif folded.endswith(piece):
                suffix = _surface_slice(surface, len(piece), from_end=True)
                if suffix:
                    return _capitalise(suffix)
        if piece.endswith("taet"):  # -tät is the only reading of this ending
            piece = piece[:-4] + "tät"
        return _capitalise(piece)

    @cached_property
    def _prose(self) -> str:
        return "\n".join(f"{e.titel}\n{e.anbieter}\n{e.beschreibung}" for e in self.entries)

    @cached_property
    def _spellings(self) -> dict[str, str]:
        """Folded word (hyphens removed) → its most common spelling in titles and descriptions."""
        seen: dict[str, Counter[str]] = defaultdict(Counter)
        for token in tokenize(self._prose):
            seen[token.folded][token.surface] += 1
            for folded_piece, surface_piece in zip(
                token.pieces, re.split(r"[-‐‑]", token.surface), strict=False
            ):
                seen[folded_piece][surface_piece] += 1
        # most common wins; on a tie the capitalised form (German nouns, abbreviations)
        return {
            key: max(spellings.items(), key=lambda kv: (kv[1], kv[0] != kv[0].lower()))[0]
            for key, spellings in seen.items()
        }

    def _has_hyphen_ellipsis(self, word: str) -> bool:
        pattern = rf"(?<!\w){re.escape(word)}-\s+(und|oder)\s"
        return re.search(pattern, self._prose, re.I) is not None

    def closest_ids(self, text: str, limit: int = 3) -> list[str]:
        """Ids resembling a mistyped one, best first (for "did you mean" replies)."""
        wanted = text.strip().lower()[:100]
        found = process.extract(
            wanted, list(self._by_id), scorer=OSA.normalized_distance, score_cutoff=0.4, limit=limit
        )
        return [choice for choice, _, _ in found]


def _looks_like_slug(value: str) -> bool:
    return value == value.lower() and value.isascii() and " " not in value


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _surface_slice(surface: str, folded_length: int, from_end: bool) -> str | None:
    """The part of ``surface`` that folds to ``folded_length`` characters ("Qualitäts…", 9 →
    "Qualität"), or None if that length falls inside a character (ä → ae)."""
    chars = reversed(surface) if from_end else iter(surface)
    length = 0
    taken = 0
    for char in chars:
        if length == folded_length:
            break
        length += len(fold(char))
        taken += 1
    if length != folded_length:
        return None
    return surface[len(surface) - taken :] if from_end else surface[:taken]
