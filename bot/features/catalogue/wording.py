"""Validation errors of an entry in the editor's words, with file, line, entry and field —
``angebote.yaml, Zeile 42, Eintrag 7 (id: foo), Feld „typ“: unbekannter Wert „kurs“ – erlaubt: …``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot.features.catalogue.model import FORMATS, TYPES, Offering
from bot.features.catalogue.reading import Problems, line_of
from bot.text.i18n import Texts


def validate_entry(
    raw: Mapping[str, Any],
    entry_node: yaml.MappingNode,
    field_nodes: dict[str, yaml.Node],
    where: str,
    problems: Problems,
) -> Offering | None:
    try:
        return Offering.model_validate(dict(raw))
    except ValidationError as exc:
        for error in exc.errors():
            line = _errorline_of(error, entry_node, field_nodes)
            field_label = _field_label(problems.t, error["loc"])
            message = _describe(problems.t, error)
            problems.items.append(_format(problems, line, where, field_label, message))
        return None


def _format(
    problems: Problems, line: int | None, where: str, field_label: str, message: str
) -> str:
    t = problems.t
    place = (
        problems.file
        if line is None
        else t("angebot.check.line", file=problems.file, line=line).plain
    )
    return f"{place}, {where}, {field_label}: {message}"


def _errorline_of(
    error: ErrorDetails, entry_node: yaml.MappingNode, field_nodes: dict[str, yaml.Node]
) -> int | None:
    loc = error["loc"]
    node: yaml.Node | None = field_nodes.get(str(loc[0])) if loc else None
    if node is None:
        return line_of(entry_node)
    item = loc[1] if len(loc) > 1 else None
    if isinstance(item, int) and isinstance(node, yaml.SequenceNode) and item < len(node.value):
        node = node.value[item]
    return line_of(node)


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
        return t(key, found=kind_in_words(t, value)).plain
    if kind in ("tuple_type", "list_type"):
        return t("angebot.check.expected_list", found=kind_in_words(t, value)).plain
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


def kind_in_words(t: Texts, value: Any) -> str:
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
