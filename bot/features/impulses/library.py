"""Impulse content files: loading and validating the Markdown files and their YAML front matter.

File format (``<content>/impulse/*.md``)::

    ---
    titel: "Lean Coffee: Besprechungen ohne feste Agenda"
    themen: [Zusammenarbeit, Besprechungen]
    reihenfolge: 10          # optional, lower numbers first
    frage: Welche Besprechung würden Sie so ausprobieren?   # optional
    ---
    Markdown text of the impulse …

The file stem is the impulse's permanent id (rotation history and feedback refer to it). Files whose
name starts with ``_`` or ``.`` (drafts, templates) and ``README.md`` are not impulses.

Moderators write Markdown, not HTML: raw HTML is shown literally, links are limited to safe schemes
and the loader reports such slips together with file, line and field.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from bot.features.impulses.markup import convert
from bot.features.impulses.model import Impulse, ImpulseLibrary
from bot.text.i18n import DEFAULT_LANGUAGE, Texts

IMPULSE_DIR = "impulse"
FIELDS = ("titel", "themen", "reihenfolge", "frage")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


class ImpulseError(Exception):
    """The impulse files have problems; ``problems`` holds one readable message per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class FrontMatter(BaseModel):
    """The YAML header of an impulse file, exactly as moderators write it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    titel: str
    themen: list[str] = []
    reihenfolge: int | None = None
    frage: str | None = None

    @field_validator("titel", "frage")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise PydanticCustomError("empty_text", "must not be empty")
        return value.strip() if value is not None else None

    @field_validator("themen")
    @classmethod
    def _topics(cls, values: list[str]) -> list[str]:
        unique: dict[str, str] = {}
        for value in values:
            if not value.strip():
                raise PydanticCustomError("empty_text", "must not be empty")
            unique.setdefault(value.strip().casefold(), value.strip())
        return list(unique.values())


@dataclass
class _Reporter:
    texts: Texts
    file: str
    found: list[tuple[int, str]] = field(default_factory=list)

    def add(self, key: str, line: int | None = None, **params: Any) -> None:
        where = (
            self.texts("impuls.loader.at_line", file=self.file, line=line)
            if line is not None
            else self.texts("impuls.loader.at_file", file=self.file)
        ).plain
        message = self.texts(f"impuls.loader.{key}", where=where, **params).plain
        self.found.append((line or 0, message))

    @property
    def problems(self) -> list[str]:
        """In file order, so moderators can fix them top to bottom."""
        return [message for _, message in sorted(self.found, key=lambda item: item[0])]


@dataclass
class _Header:
    text: str
    first_line: int  # file line of the YAML text's first line
    body: str
    body_line: int


def _split_front_matter(text: str, report: _Reporter) -> _Header | None:
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        report.add("no_front_matter", 1)
        return None
    closing = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if closing is None:
        report.add("unclosed", 1)
        return None
    return _Header(
        text="\n".join(lines[1:closing]),
        first_line=2,
        body="\n".join(lines[closing + 1 :]),
        body_line=closing + 2,
    )


def _yaml_problem(exc: yaml.YAMLError, header: _Header, report: _Reporter) -> None:
    mark = getattr(exc, "problem_mark", None)
    line = header.first_line + mark.line if mark is not None else None
    problem = str(getattr(exc, "problem", None) or exc)
    # The two slips moderators make most get a German explanation instead of PyYAML's words.
    if "mapping values are not allowed" in problem:
        report.add("yaml_colon", line)
    elif "'\\t'" in problem:
        report.add("yaml_tab", line)
    else:
        report.add("yaml", line, problem=problem)


@dataclass
class _Lines:
    """Where each header field and value starts, for messages that name the line."""

    keys: dict[str, int] = field(default_factory=dict)
    values: dict[str, yaml.Node] = field(default_factory=dict)
    first_line: int = 2

    def key(self, name: str) -> int:
        return self.keys.get(name, self.first_line - 1)

    def value(self, loc: Sequence[int | str]) -> int:
        node = self.values.get(str(loc[0]))
        if node is None:
            return self.key(str(loc[0]))
        index = loc[1] if len(loc) > 1 else None
        if (
            isinstance(node, yaml.SequenceNode)
            and isinstance(index, int)
            and index < len(node.value)
        ):
            node = node.value[index]
        return self.first_line + node.start_mark.line

    def source(self, name: str, header: _Header) -> str:
        node = self.values.get(name)
        if node is None:
            return ""
        return header.text[node.start_mark.index : node.end_mark.index].strip()


def _parse_header(header: _Header, report: _Reporter) -> tuple[dict[str, Any], _Lines] | None:
    lines = _Lines(first_line=header.first_line)
    try:
        root = yaml.compose(header.text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(header.text)
    except yaml.YAMLError as exc:
        _yaml_problem(exc, header, report)
        return None
    if root is None:
        return {}, lines
    if not isinstance(root, yaml.MappingNode) or not isinstance(data, dict):
        report.add("not_mapping", header.first_line + root.start_mark.line)
        return None
    for key_node, value_node in root.value:
        name = str(key_node.value)
        line = header.first_line + key_node.start_mark.line
        if name in lines.keys:
            report.add("duplicate_field", line, field=name, first=lines.keys[name])
            continue
        lines.keys[name] = line
        lines.values[name] = value_node
    # Empty values ("frage:") mean "not given" for optional fields; an empty title is reported.
    cleaned = {str(k): v for k, v in data.items() if v is not None}
    if "titel" in data and data["titel"] is None:
        cleaned["titel"] = ""
    return cleaned, lines


_TYPE_PROBLEMS = {
    "string_type": "not_text",
    "int_type": "not_int",
    "list_type": "not_list",
    "empty_text": "empty_text",
}


def _validation_problems(
    exc: ValidationError, lines: _Lines, header: _Header, report: _Reporter
) -> None:
    for error in exc.errors():
        loc = error["loc"]
        name = str(loc[0]) if loc else "?"
        if error["type"] == "extra_forbidden":
            guess = difflib.get_close_matches(name.casefold(), FIELDS, n=1)
            suffix = report.texts("impuls.loader.guess", guess=guess[0]).plain if guess else ""
            report.add("unknown_field", lines.key(name), field=name, guess=suffix)
        elif error["type"] == "missing":
            report.add("missing", lines.key(name), field=name)
        elif error["type"] in _TYPE_PROBLEMS:
            found = repr(error["input"]) if len(loc) > 1 else lines.source(name, header)
            report.add(_TYPE_PROBLEMS[error["type"]], lines.value(loc), field=name, found=found)
        else:
            report.add("invalid", lines.value(loc), field=name, problem=error["msg"])


def _line_of(snippet: str, header: _Header) -> int | None:
    index = header.body.find(snippet)
    return header.body_line + header.body[:index].count("\n") if index >= 0 else None


def _read_impulse(path: Path, report: _Reporter) -> tuple[Impulse, int] | None:
    """The impulse and the line of its title, or None after reporting every problem found."""
    if not _ID.match(path.stem):
        report.add("bad_name", None, name=path.name)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        report.add("unreadable", None, error=exc.strerror or str(exc))
        return None
    try:
        text = raw.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError:
        report.add("not_utf8", None)
        return None
    header = _split_front_matter(text, report)
    parsed = _parse_header(header, report) if header else None
    if header is None or parsed is None:
        return None
    data, lines = parsed
    try:
        front = FrontMatter.model_validate(data)
    except ValidationError as exc:
        _validation_problems(exc, lines, header, report)
        front = None
    # Only blank lines are trimmed at the start: leading spaces may mean an indented code block.
    body = re.sub(r"\A(?:[ \t]*\n)+", "", header.body).rstrip()
    if not body:
        report.add("empty_body", header.body_line - 1)
    for key, snippet in dict.fromkeys(convert(body).issues):
        report.add(key, _line_of(snippet, header), snippet=snippet)
    if front is None or report.problems:
        return None
    impulse = Impulse(
        id=path.stem,
        title=front.titel,
        topics=tuple(front.themen),
        order=front.reihenfolge,
        question=front.frage,
        body=body,
        path=path,
    )
    return impulse, lines.key("titel")


def impulse_directory(directory: Path) -> Path:
    """Accept the impulse folder itself or the content folder that contains ``impulse/``."""
    nested = directory / IMPULSE_DIR
    return nested if nested.is_dir() else directory


def _impulse_files(directory: Path) -> list[Path]:
    return sorted(
        path
        for path in directory.glob("*.md")
        if path.is_file()
        and not path.name.startswith(("_", "."))
        and path.name.casefold() != "readme.md"
    )


def _scan(directory: Path, lang: str) -> tuple[list[Impulse], list[str]]:
    texts = Texts(lang)
    folder = impulse_directory(directory)
    if not folder.is_dir():
        return [], [texts("impuls.loader.no_dir", folder=str(folder)).plain]
    impulses: list[Impulse] = []
    problems: list[str] = []
    titles: dict[str, str] = {}
    for path in _impulse_files(folder):
        report = _Reporter(texts, f"{folder.name}/{path.name}")
        loaded = _read_impulse(path, report)
        if loaded is not None:
            impulse, title_line = loaded
            other = titles.setdefault(impulse.title.casefold(), report.file)
            if other != report.file:
                report.add("duplicate_title", title_line, title=impulse.title, other=other)
            else:
                impulses.append(impulse)
        problems.extend(report.problems)
    return impulses, problems


def check_impulses(directory: Path, lang: str = DEFAULT_LANGUAGE) -> list[str]:
    """All problems of all impulse files (empty if everything is fine), worded for moderators."""
    return _scan(directory, lang)[1]


def load_impulses(directory: Path, lang: str = DEFAULT_LANGUAGE) -> ImpulseLibrary:
    """Load all impulses; raises :class:`ImpulseError` listing every problem in every file."""
    impulses, problems = _scan(directory, lang)
    if problems:
        raise ImpulseError(problems)
    return ImpulseLibrary.of(impulses)
