"""Reading a content file with line numbers: the YAML parsed once into nodes and data, the
problems of one file collected with file name and line, keys that occur twice reported (YAML
would silently keep the last), and the top-level list either bare or under its key."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.text.i18n import Texts


@dataclass
class Problems:
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


def parse_yaml(path: Path, problems: Problems) -> tuple[Any, yaml.Node | None]:
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


def line_of(node: yaml.Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None else None


def mapping_nodes(node: yaml.MappingNode, problems: Problems, where: str) -> dict[str, yaml.Node]:
    """Value nodes by key; reports keys that occur twice (YAML would silently keep the last)."""
    seen: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if key in seen:
            problems.add(
                "angebot.check.duplicate_key",
                line_of(key_node),
                where,
                name=key,
                first=line_of(seen[key]) or "?",
            )
        seen[key] = value_node
    return seen


def top_level_list(
    data: Any, node: yaml.Node | None, list_key: str, problems: Problems
) -> tuple[list[Any], list[yaml.Node]] | None:
    """The list at the top of a content file, either bare or under ``list_key:``."""
    if node is None or data is None:
        problems.add("angebot.check.empty_file")
        return None
    if isinstance(node, yaml.MappingNode) and isinstance(data, Mapping):
        nodes = mapping_nodes(node, problems, "")
        for key in nodes:
            if key != list_key:
                problems.add(
                    "angebot.check.top_unknown_key",
                    line_of(nodes[key]),
                    name=key,
                    expected=list_key,
                )
        if list_key not in nodes:
            problems.add("angebot.check.top_shape", line_of(node), expected=list_key)
            return None
        node, data = nodes[list_key], data[list_key]
    if not isinstance(node, yaml.SequenceNode) or not isinstance(data, list):
        problems.add("angebot.check.top_shape", line_of(node), expected=list_key)
        return None
    return data, list(node.value)
