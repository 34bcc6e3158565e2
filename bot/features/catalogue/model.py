"""The catalogue of support offerings (``angebote.yaml``) and its synonyms (``synonyme.yaml``).

Content editors maintain both files by hand, so loading is strict but talkative: every problem of a
file is collected and worded in German (or English) with file, line, entry number, id and field —
``angebote.yaml, Zeile 42, Eintrag 7 (id: foo), Feld „typ“: unbekannter Wert „kurs“ – erlaubt: …``.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, field_validator
from pydantic_core import ErrorDetails, PydanticCustomError
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.text.german import fold, tokenize
from bot.text.i18n import DEFAULT_LANGUAGE, Texts

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


class CatalogueError(Exception):
    """The content files have problems; ``problems`` lists every one of them, worded for editors."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def load_catalogue(directory: Path, lang: str = DEFAULT_LANGUAGE) -> Catalogue:
    """Read and validate ``angebote.yaml`` (and ``synonyme.yaml`` if present) in ``directory``.

    Raises :class:`CatalogueError` listing all problems of both files.
    """
    catalogue, problems = _load(Path(directory), Texts(lang))
    if problems or catalogue is None:
        raise CatalogueError(problems)
    return catalogue


def check_content(directory: Path, lang: str = DEFAULT_LANGUAGE) -> list[str]:
    """All problems of the content files in ``directory``; empty when everything is fine."""
    return _load(Path(directory), Texts(lang))[1]


# --- loading ---------------------------------------------------------------------------------


def _load(directory: Path, t: Texts) -> tuple[Catalogue | None, list[str]]:
    catalogue_path = directory / CATALOGUE_FILE
    if not catalogue_path.is_file():
        return None, [t("angebot.check.missing_file", file=str(catalogue_path)).plain]
    entries, problems = _read_offerings(catalogue_path, t)
    synonyms: list[tuple[str, ...]] = []
    synonyms_path = directory / SYNONYMS_FILE
    if synonyms_path.is_file():
        synonyms, synonym_problems = _read_synonyms(synonyms_path, t)
        problems.extend(synonym_problems)
    if problems:
        return None, problems
    return Catalogue(tuple(entries), tuple(synonyms), directory), []


@dataclass
class _Problems:
    """Collects problems of one file, each prefixed with the file name and line."""

    t: Texts
    file: str
    items: list[str] = field(default_factory=list)

    def add(self, text_key: str, line: int | None = None, where: str = "", **params: Any) -> None:
        place = (
            self.file
            if line is None
            else self.t("angebot.check.line", file=self.file, line=line).plain
        )
        if where:
            place = f"{place}, {where}"
        self.items.append(f"{place}: {self.t(text_key, **params).plain}")


def _parse_yaml(path: Path, problems: _Problems) -> tuple[Any, yaml.Node | None]:
    """Parse once into both the node tree (for line numbers) and plain Python data."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        problems.add("angebot.check.not_utf8")
        return None, None
    except OSError as exc:
        problems.add("angebot.check.unreadable", reason=exc.strerror or str(exc))
        return None, None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else 0
        reason = " ".join(filter(None, [exc.context, exc.problem]))
        context = exc.context_mark
        if context is not None and mark is not None and context.line != mark.line:
            # e.g. an unclosed bracket: the problem shows at the end, the cause where it opened
            reason += problems.t("angebot.check.yaml_context", line=context.line + 1).plain
        problems.add("angebot.check.yaml_syntax", line, column=column, reason=reason)
        return None, None
    except yaml.YAMLError as exc:
        problems.add("angebot.check.yaml_syntax", column=0, reason=str(exc))
        return None, None
    finally:
        loader.dispose()
    return data, node


def _line(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


def _mapping_nodes(node: yaml.MappingNode, problems: _Problems, where: str) -> dict[str, yaml.Node]:
    """Value nodes by key; reports keys that occur twice (YAML would silently keep the last)."""
    seen: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if key in seen:
            problems.add(
                "angebot.check.duplicate_key",
                _line(key_node),
                where,
                name=key,
                first=_line(seen[key]) or "?",
            )
        seen[key] = value_node
    return seen


def _top_level_list(
    data: Any, node: yaml.Node | None, list_key: str, problems: _Problems
) -> tuple[list[Any], list[yaml.Node]] | None:
    """The list at the top of a content file, either bare or under ``list_key:``."""
    if node is None or data is None:
        problems.add("angebot.check.empty_file")
        return None
    if isinstance(node, yaml.MappingNode) and isinstance(data, Mapping):
        nodes = _mapping_nodes(node, problems, "")
        for key in nodes:
            if key != list_key:
                problems.add(
                    "angebot.check.top_unknown_key", _line(nodes[key]), name=key, expected=list_key
                )
        if list_key not in nodes:
            problems.add("angebot.check.top_shape", _line(node), expected=list_key)
            return None
        node, data = nodes[list_key], data[list_key]
    if not isinstance(node, yaml.SequenceNode) or not isinstance(data, list):
        problems.add("angebot.check.top_shape", _line(node), expected=list_key)
        return None
    return data, list(node.value)


def _read_offerings(path: Path, t: Texts) -> tuple[list[Offering], list[str]]:
    problems = _Problems(t, path.name)
    data, node = _parse_yaml(path, problems)
    top = _top_level_list(data, node, "angebote", problems) if not problems.items else None
    if top is None:
        return [], problems.items
    raw_entries, entry_nodes = top
    if not raw_entries:
        problems.add("angebot.check.no_entries", _line(node))
    offerings: list[Offering] = []
    first_use: dict[str, tuple[int, int | None]] = {}
    for number, (raw, entry_node) in enumerate(zip(raw_entries, entry_nodes, strict=True), start=1):
        where = _entry_label(t, number, raw)
        if not isinstance(raw, Mapping) or not isinstance(entry_node, yaml.MappingNode):
            problems.add("angebot.check.entry_shape", _line(entry_node), where, found=_kind(t, raw))
            continue
        field_nodes = _mapping_nodes(entry_node, problems, where)
        offering = _validate_entry(raw, entry_node, field_nodes, where, problems)
        entry_id = raw.get("id")
        if isinstance(entry_id, str):
            if entry_id in first_use:
                other, other_line = first_use[entry_id]
                problems.add(
                    "angebot.check.duplicate_id",
                    _line(field_nodes.get("id")),
                    where,
                    id=entry_id,
                    other=other,
                    other_line=other_line or "?",
                )
            else:
                first_use[entry_id] = (number, _line(entry_node))
        if offering is not None:
            offerings.append(offering)
    return offerings, problems.items


def _entry_label(t: Texts, number: int, raw: Any) -> str:
    entry_id = raw.get("id") if isinstance(raw, Mapping) else None
    if isinstance(entry_id, str) and entry_id.strip():
        return t("angebot.check.entry_with_id", number=number, id=entry_id.strip()).plain
    return t("angebot.check.entry", number=number).plain


def _validate_entry(
    raw: Mapping[str, Any],
    entry_node: yaml.MappingNode,
    field_nodes: dict[str, yaml.Node],
    where: str,
    problems: _Problems,
) -> Offering | None:
    try:
        return Offering.model_validate(dict(raw))
    except ValidationError as exc:
        for error in exc.errors():
            line = _error_line(error, entry_node, field_nodes)
            field_label = _field_label(problems.t, error["loc"])
            message = _describe(problems.t, error)
            problems.items.append(_format(problems, line, where, field_label, message))
        return None


def _format(
    problems: _Problems, line: int | None, where: str, field_label: str, message: str
) -> str:
    t = problems.t
    place = (
        problems.file
        if line is None
        else t("angebot.check.line", file=problems.file, line=line).plain
    )
    return f"{place}, {where}, {field_label}: {message}"


def _error_line(
    error: ErrorDetails, entry_node: yaml.MappingNode, field_nodes: dict[str, yaml.Node]
) -> int | None:
    loc = error["loc"]
    node: yaml.Node | None = field_nodes.get(str(loc[0])) if loc else None
    if node is None:
        return _line(entry_node)
    item = loc[1] if len(loc) > 1 else None
    if isinstance(item, int) and isinstance(node, yaml.SequenceNode) and item < len(node.value):
        node = node.value[item]
    return _line(node)


def _field_label(t: Texts, loc: tuple[int | str, ...]) -> str:
    name = str(loc[0]) if loc else "?"
    if len(loc) > 1 and isinstance(loc[1], int):
        return t("angebot.check.field_item", field=name, position=loc[1] + 1).plain
    return t("angebot.check.field", field=name).plain


_ALLOWED_FIELDS = tuple(Offering.model_fields)


def _describe(t: Texts, error: ErrorDetails) -> str:
    """One pydantic error in the editor's words."""
    kind = error["type"]
    value = error.get("input")
    if kind == "missing":
        return t("angebot.check.missing").plain
    if kind == "extra_forbidden":
        name = str(error["loc"][0]) if error["loc"] else ""
        close = process.extractOne(name, _ALLOWED_FIELDS, scorer=OSA.distance, score_cutoff=2)
        hint = t("angebot.check.did_you_mean", word=close[0]).plain if close else ""
        return t("angebot.check.unknown_field", hint=hint, allowed=", ".join(_ALLOWED_FIELDS)).plain
    if kind == "literal_error":
        allowed = TYPES if error["loc"] and error["loc"][0] == "typ" else FORMATS
        return t(
            "angebot.check.unknown_value", value=_short(value), allowed=", ".join(allowed)
        ).plain
    if kind == "string_type":
        key = (
            "angebot.check.expected_text_quote"
            if _is_scalar(value)
            else "angebot.check.expected_text"
        )
        return t(key, found=_kind(t, value)).plain
    if kind in ("tuple_type", "list_type"):
        return t("angebot.check.expected_list", found=_kind(t, value)).plain
    if kind == "string_too_short":
        return t("angebot.check.blank").plain
    if kind == "id_format":
        return t("angebot.check.id_format", value=_short(value)).plain
    if kind == "link_invalid":
        return t("angebot.check.link_invalid", value=_short(value)).plain
    return error["msg"]


def _is_scalar(value: Any) -> bool:
    return value is not None and not isinstance(value, str | list | tuple | dict)


def _short(value: Any, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _kind(t: Texts, value: Any) -> str:
    """A value's kind in words, with the value itself where it helps ("Zahl 3")."""
    if value is None:
        return t("angebot.check.kind_empty").plain
    if isinstance(value, bool):
        return t("angebot.check.kind_bool", value=str(value).lower()).plain
    if isinstance(value, int | float):
        return t("angebot.check.kind_number", value=value).plain
    if isinstance(value, str):
        return t("angebot.check.kind_text", value=_short(value)).plain
    if isinstance(value, list | tuple):
        return t("angebot.check.kind_list").plain
    if isinstance(value, Mapping):
        return t("angebot.check.kind_mapping").plain
    return t("angebot.check.kind_other", value=_short(value)).plain


def _read_synonyms(path: Path, t: Texts) -> tuple[list[tuple[str, ...]], list[str]]:
    problems = _Problems(t, path.name)
    data, node = _parse_yaml(path, problems)
    top = _top_level_list(data, node, "synonyme", problems) if not problems.items else None
    if top is None:
        return [], problems.items
    groups: list[tuple[str, ...]] = []
    group_of: dict[str, int] = {}
    for number, (raw, group_node) in enumerate(zip(*top, strict=True), start=1):
        where = t("angebot.check.group", number=number).plain
        line = _line(group_node)
        if not isinstance(raw, list):
            problems.add("angebot.check.group_shape", line, where, found=_kind(t, raw))
            continue
        words: list[str] = []
        for item in raw:
            if not isinstance(item, str) or not item.strip():
                problems.add("angebot.check.group_item", line, where, found=_kind(t, item))
                continue
            word = " ".join(item.split())
            key = fold(word)
            if key in group_of and group_of[key] != number:
                problems.add(
                    "angebot.check.group_overlap", line, where, word=word, other=group_of[key]
                )
            group_of.setdefault(key, number)
            if key not in {fold(w) for w in words}:
                words.append(word)
        if len(words) < 2:
            problems.add("angebot.check.group_too_small", line, where)
            continue
        groups.append(tuple(words))
    return groups, problems.items
