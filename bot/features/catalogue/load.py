"""Loading ``angebote.yaml`` and ``synonyme.yaml``: strict but talkative.

Content editors maintain both files by hand, so every problem of a file is collected and worded in
German (or English) with file, line, entry number, id and field, and nothing half-valid is used:
:func:`load_catalogue` raises :class:`CatalogueError` listing all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bot.features.catalogue.model import CATALOGUE_FILE, SYNONYMS_FILE, Catalogue, Offering
from bot.features.catalogue.reading import (
    Problems,
    line_of,
    mapping_nodes,
    parse_yaml,
    top_level_list,
)
from bot.features.catalogue.wording import kind_in_words, validate_entry
from bot.text.german import fold
from bot.text.i18n import DEFAULT_LANGUAGE, Texts


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


def _read_offerings(path: Path, t: Texts) -> tuple[list[Offering], list[str]]:
    problems = Problems(t, path.name)
    data, node = parse_yaml(path, problems)
    top = top_level_list(data, node, "angebote", problems) if not problems.items else None
    if top is None:
        return [], problems.items
    raw_entries, entry_nodes = top
    if not raw_entries:
        problems.add("angebot.check.no_entries", line_of(node))
    offerings: list[Offering] = []
    first_use: dict[str, tuple[int, int | None]] = {}
    for number, (raw, entry_node) in enumerate(zip(raw_entries, entry_nodes, strict=True), start=1):
        where = _entry_label(t, number, raw)
        if not isinstance(raw, Mapping) or not isinstance(entry_node, yaml.MappingNode):
            problems.add(
                "angebot.check.entry_shape", line_of(entry_node), where, found=kind_in_words(t, raw)
            )
            continue
        field_nodes = mapping_nodes(entry_node, problems, where)
        offering = validate_entry(raw, entry_node, field_nodes, where, problems)
        entry_id = raw.get("id")
        if isinstance(entry_id, str):
            if entry_id in first_use:
                other, other_line = first_use[entry_id]
                problems.add(
                    "angebot.check.duplicate_id",
                    line_of(field_nodes.get("id")),
                    where,
                    id=entry_id,
                    other=other,
                    other_line=other_line or "?",
                )
            else:
                first_use[entry_id] = (number, line_of(entry_node))
        if offering is not None:
            offerings.append(offering)
    return offerings, problems.items


def _entry_label(t: Texts, number: int, raw: Any) -> str:
    entry_id = raw.get("id") if isinstance(raw, Mapping) else None
    if isinstance(entry_id, str) and entry_id.strip():
        return t("angebot.check.entry_with_id", number=number, id=entry_id.strip()).plain
    return t("angebot.check.entry", number=number).plain


def _read_synonyms(path: Path, t: Texts) -> tuple[list[tuple[str, ...]], list[str]]:
    problems = Problems(t, path.name)
    data, node = parse_yaml(path, problems)
    top = top_level_list(data, node, "synonyme", problems) if not problems.items else None
    if top is None:
        return [], problems.items
    groups: list[tuple[str, ...]] = []
    group_of: dict[str, int] = {}
    for number, (raw, group_node) in enumerate(zip(*top, strict=True), start=1):
        where = t("angebot.check.group", number=number).plain
        line = line_of(group_node)
        if not isinstance(raw, list):
            problems.add("angebot.check.group_shape", line, where, found=kind_in_words(t, raw))
            continue
        words: list[str] = []
        for item in raw:
            if not isinstance(item, str) or not item.strip():
                problems.add("angebot.check.group_item", line, where, found=kind_in_words(t, item))
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
