"""Daily knowledge impulses: loading and validating the Markdown files, rendering, rotation.

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

import datetime as dt
import difflib
import html
import re
import xml.etree.ElementTree as etree
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import markdown
import yaml
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from pydantic_core import PydanticCustomError

from bot.features.impulses.schedule import (
    Schedule,
    describe_schedule,
    format_date,
    format_slot,
    holiday_name,
    normalize_state,
)
from bot.text.i18n import DEFAULT_LANGUAGE, Message, Texts

IMPULSE_DIR = "impulse"
FIELDS = ("titel", "themen", "reihenfolge", "frage")
SAFE_SCHEMES = frozenset({"http", "https", "mailto", "tel", "matrix"})
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# Tags people paste from web pages or e-mails. Only these count, so that text such as
# "<Vorname Nachname>" is not mistaken for HTML.
_HTML_TAG = re.compile(
    r"<(?:a|b|i|u|s|em|strong|br|p|div|span|img|ul|ol|li|h[1-6]|table|tr|td|th|font|sup|sub"
    r"|code|pre|blockquote|hr|script|style|iframe|center|small|mark|del|ins|details|summary)"
    r"(?:\s[^<>]*)?/?>",
    re.IGNORECASE,
)
_LIST_ITEM = re.compile(r"^( *)(?:[-*+]|(\d{1,9})[.)])\s+\S")
_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[0-9A-Za-z]+);")
_BLOCK_TAGS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "blockquote", "pre", "hr", "div"}
)


class ImpulseError(Exception):
    """The impulse files have problems; ``problems`` holds one readable message per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


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


@dataclass(frozen=True)
class Impulse:
    """One impulse as loaded from its file; ``id`` is the file stem and never changes."""

    id: str
    title: str
    topics: tuple[str, ...]
    order: int | None
    question: str | None
    body: str  # Markdown
    path: Path = field(compare=False)

    def matches(self, topics: Iterable[str] | None) -> bool:
        """Does the impulse have one of these topics (case-insensitive)? No filter matches all."""
        wanted = {topic.casefold() for topic in topics or ()}
        return not wanted or any(topic.casefold() in wanted for topic in self.topics)

    @property
    def plain_body(self) -> str:
        return _convert(self.body).plain

    @property
    def word_count(self) -> int:
        """Words of the body as readers see it (bullets and punctuation do not count)."""
        return sum(1 for word in self.plain_body.split() if any(c.isalnum() for c in word))


def _natural_key(name: str) -> tuple[Any, ...]:
    # "2-x" before "10-x", as people number files.
    return tuple(
        int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", name)
    )


def rotation_key(impulse: Impulse) -> tuple[Any, ...]:
    """Impulses with ``reihenfolge`` first (ascending), then by file name."""
    return (impulse.order is None, impulse.order or 0, _natural_key(impulse.id), impulse.id)


@dataclass(frozen=True)
class ImpulseLibrary:
    """All impulses in rotation order."""

    impulses: tuple[Impulse, ...]

    @classmethod
    def of(cls, impulses: Iterable[Impulse]) -> ImpulseLibrary:
        return cls(tuple(sorted(impulses, key=rotation_key)))

    def __iter__(self) -> Iterator[Impulse]:
        return iter(self.impulses)

    def __len__(self) -> int:
        return len(self.impulses)

    def get(self, impulse_id: str) -> Impulse | None:
        return next((imp for imp in self.impulses if imp.id == impulse_id), None)

    def topics(self) -> list[str]:
        """All topics, each once (first spelling wins), alphabetically."""
        seen: dict[str, str] = {}
        for impulse in self.impulses:
            for topic in impulse.topics:
                seen.setdefault(topic.casefold(), topic)
        return sorted(seen.values(), key=str.casefold)

    def matching(self, topics: Iterable[str] | None) -> list[Impulse]:
        wanted = set(topics or ())
        return [imp for imp in self.impulses if imp.matches(wanted)]


# --------------------------------------------------------------------------------------------
# Markdown → Matrix HTML and plain text
# --------------------------------------------------------------------------------------------


@dataclass
class _Converted:
    html: str
    plain: str
    issues: list[tuple[str, str]]  # (locale key suffix, offending snippet)


class _PlainMail(InlineProcessor):
    """``<name@example.org>`` as a plain mailto link (Markdown would obfuscate it)."""

    def handleMatch(self, m: re.Match[str], data: str) -> tuple[etree.Element, int, int]:
        address = m.group(1)
        link = etree.Element("a", {"href": f"mailto:{address}"})
        link.text = markdown.util.AtomicString(address)
        return link, m.start(0), m.end(0)


class _ChatSafety(Treeprocessor):
    """Make the tree chat-safe and record what the author should fix."""

    def __init__(self, md: markdown.Markdown, issues: list[tuple[str, str]]) -> None:
        super().__init__(md)
        self.issues = issues

    def run(self, root: etree.Element) -> None:
        for element in root.iter():
            if element.tag == "img":
                # Matrix clients show only mxc:// images; keep the picture reachable as a link.
                src, alt = element.get("src", ""), element.get("alt", "")
                element.attrib.clear()
                element.tag, element.text = "a", alt or src
                element.set("href", src)
            if element.tag == "a":
                self._check_link(element)
            if element.tag not in ("code", "pre"):
                self._check_text(element.text or "")
            self._check_text(element.tail or "")  # a code span's tail is normal text again

    def _check_link(self, link: etree.Element) -> None:
        href = link.get("href", "")
        scheme = href.split(":", 1)[0].casefold() if ":" in href else ""
        if scheme not in SAFE_SCHEMES:
            self.issues.append(("bad_link", href))
            link.attrib.pop("href", None)
            link.tag = "span"

    def _check_text(self, text: str) -> None:
        # Only opening tags: one message per tag, not one more for its closing tag.
        self.issues.extend(("html", match.group(0)) for match in _HTML_TAG.finditer(text))


class _CommonMarkLists(Preprocessor):
    """Lists as people write them in Element (CommonMark), which Python-Markdown would miss.

    Python-Markdown needs a blank line before a list and four spaces per nesting level; CommonMark
    lets a list interrupt a paragraph and nests by the marker's indentation (often two spaces).
    Lines of a list block are re-indented to four spaces per level.
    """

    def run(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        levels: list[int] = []  # source indentation of each open nesting level
        in_list, previous_blank = False, True
        for line in lines:
            if not line.strip():
                out.append(line)
                previous_blank = True
                continue
            indent = len(line) - len(line.lstrip(" "))
            item = _LIST_ITEM.match(line)
            # CommonMark: an ordered list may interrupt a paragraph only when it starts with 1.
            starts_list = (
                item is not None
                and indent <= 3
                and (previous_blank or item.group(2) in (None, "1"))
            )
            if item is not None and (in_list or starts_list):
                if not in_list and not previous_blank:
                    out.append("")
                in_list = True
                while levels and levels[-1] > indent:
                    levels.pop()
                if not levels or indent > levels[-1]:
                    levels.append(indent)
                out.append(" " * 4 * (len(levels) - 1) + line.lstrip(" "))
            elif in_list and (indent > 0 or not previous_blank):
                out.append(" " * 4 * len(levels) + line.lstrip(" "))  # continuation of the item
            else:
                in_list, levels = False, []
                out.append(line)
            previous_blank = False
        return out


class _ChatMarkdown(Extension):
    def __init__(self, issues: list[tuple[str, str]], plain: list[str]) -> None:
        super().__init__()
        self.issues = issues
        self.plain = plain

    def extendMarkdown(self, md: markdown.Markdown) -> None:
        # Raw HTML is not interpreted: the serializer escapes it, so readers see it as typed.
        md.preprocessors.deregister("html_block")
        md.inlinePatterns.deregister("html")
        md.preprocessors.register(_CommonMarkLists(md), "commonmark_lists", 25)
        # Entities stay as typed: the serializer keeps "&copy;" (shown as ©), plain text decodes it.
        md.inlinePatterns.deregister("entity")
        md.inlinePatterns.deregister("automail")
        md.inlinePatterns.register(
            _PlainMail(r"<(?:[Mm][Aa][Ii][Ll][Tt][Oo]:)?([^<> !]+@[^@<> ]+)>", md), "mail", 110
        )
        # After "unescape" (priority 0): backslash escapes are resolved by then.
        md.treeprocessors.register(_ChatSafety(md, self.issues), "chat_safety", -10)
        md.treeprocessors.register(_PlainCollector(md, self.plain), "plain_text", -20)


class _PlainCollector(Treeprocessor):
    def __init__(self, md: markdown.Markdown, sink: list[str]) -> None:
        super().__init__(md)
        self.sink = sink

    def run(self, root: etree.Element) -> None:
        self.sink.append("\n\n".join(_blocks(root)))


def _decode(text: str) -> str:
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)


def _flow(text: str | None) -> str:
    # Soft line breaks inside a paragraph are spaces for the reader.
    return _decode((text or "").replace("\n", " "))


def _inline(element: etree.Element) -> str:
    if element.tag == "br":
        return "\n"
    if element.tag == "code":
        return _decode("".join(element.itertext()))
    inner = _flow(element.text) + "".join(_inline(c) + _flow(c.tail) for c in element)
    if element.tag == "a":
        href = element.get("href", "")
        target = href.removeprefix("mailto:").removeprefix("tel:")
        return inner if not href or target == inner.strip() else f"{inner} ({href})"
    return inner


def _tidy(text: str) -> str:
    return "\n".join(re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n"))


def _blocks(container: etree.Element) -> list[str]:
    """Plain text of the container's content, one string per block."""
    blocks: list[str] = []
    pending = [_flow(container.text)]
    for child in container:
        if child.tag in _BLOCK_TAGS:
            blocks.append(_tidy("".join(pending)))
            blocks.append(_block(child))
            pending = [_flow(child.tail)]
        else:
            pending.extend((_inline(child), _flow(child.tail)))
    blocks.append(_tidy("".join(pending)))
    return [block for block in blocks if block.strip()]


def _block(element: etree.Element) -> str:
    tag = element.tag
    if tag in ("ul", "ol"):
        return _list(element)
    if tag == "pre":
        return _decode("".join(element.itertext())).rstrip("\n")
    if tag == "hr":
        return "———"
    if tag == "blockquote":
        inner = "\n\n".join(_blocks(element))
        return "\n".join(f"> {line}".rstrip() for line in inner.split("\n"))
    return "\n\n".join(_blocks(element))


def _list(element: etree.Element) -> str:
    lines: list[str] = []
    number = int(element.get("start", "1"))
    for item in element.findall("li"):
        marker = f"{number}." if element.tag == "ol" else "•"
        number += 1
        content = "\n".join(_blocks(item)).split("\n") or [""]
        indent = " " * (len(marker) + 1)
        lines.append(f"{marker} {content[0]}")
        lines.extend(f"{indent}{line}" if line else "" for line in content[1:])
    return "\n".join(lines)


def _convert(body: str) -> _Converted:
    issues: list[tuple[str, str]] = []
    plain: list[str] = []
    converter = markdown.Markdown(extensions=["sane_lists", _ChatMarkdown(issues, plain)])
    html_text = converter.convert(body)
    return _Converted(html_text, plain[0] if plain else "", issues)


def render_impulse(impulse: Impulse, lang: str = DEFAULT_LANGUAGE) -> Message:
    """The impulse as a chat message: bold title, the text, the reflection question at the end."""
    texts = Texts(lang)
    converted = _convert(impulse.body)
    title = texts("impuls.render.title", title=impulse.title)
    plain_parts = [title.plain, converted.plain]
    html_parts = [f"<p>{title.html}</p>", converted.html]
    if impulse.question:
        question = texts("impuls.render.question", question=impulse.question)
        plain_parts.append(question.plain)
        html_parts.append(f"<p>{question.html}</p>")
    return Message.from_html("\n\n".join(plain_parts), "\n".join(html_parts))


# --------------------------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------------------------


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
    for key, snippet in dict.fromkeys(_convert(body).issues):
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


# --------------------------------------------------------------------------------------------
# Rotation
# --------------------------------------------------------------------------------------------


def choose_next(
    library: ImpulseLibrary, history: Sequence[str], topics: Iterable[str] | None = None
) -> Impulse | None:
    """The impulse a room should get next.

    ``history`` lists the ids posted in the room, oldest first. Impulses the room has never seen
    come first, in rotation order – so each (topic-matching) impulse is posted once before any
    repeats, and impulses added later join before the repeats. Then the least recently posted goes
    first, which repeats the rotation order when the room went through it in order.
    """
    candidates = library.matching(topics)
    last_posted = {impulse_id: position for position, impulse_id in enumerate(history)}
    unseen = [impulse for impulse in candidates if impulse.id not in last_posted]
    if unseen:
        return unseen[0]
    return min(candidates, key=lambda impulse: last_posted[impulse.id], default=None)


def upcoming(
    library: ImpulseLibrary,
    history: Sequence[str],
    topics: Iterable[str] | None = None,
    n: int = 5,
) -> list[Impulse]:
    """The next ``n`` impulses in the order :func:`choose_next` would post them."""
    topic_set = set(topics or ())
    simulated = list(history)
    result: list[Impulse] = []
    for _ in range(max(n, 0)):
        impulse = choose_next(library, simulated, topic_set)
        if impulse is None:
            break
        result.append(impulse)
        simulated.append(impulse.id)
    return result


# --------------------------------------------------------------------------------------------
# Plan preview ("!impuls plan")
# --------------------------------------------------------------------------------------------


def render_plan(
    entries: Sequence[tuple[dt.datetime, Impulse]],
    schedule: Schedule,
    tz: ZoneInfo,
    lang: str = DEFAULT_LANGUAGE,
    *,
    now: dt.datetime | None = None,
    pause_until: dt.date | None = None,
    holidays_state: str | None = None,
) -> Message:
    """The plan as a message: header with the schedule, one line per slot, skipped holidays noted.

    ``entries`` pairs slots from :func:`~bot.features.impulses.schedule.next_slots` with
    impulses from :func:`upcoming`. With ``now`` and ``holidays_state``, holidays on schedule
    days up to the last entry are listed in between, so nobody wonders why a day is missing.
    """
    texts = Texts(lang)
    lines = [texts("impuls.plan.header", schedule=describe_schedule(schedule, texts))]
    if pause_until is not None:
        lines.append(texts("impuls.plan.paused", date=format_date(pause_until, texts)))
    if not entries:
        lines.append(texts("impuls.plan.empty"))
        return _join_lines(lines)
    timeline: list[tuple[dt.date, int, Message]] = [
        (
            slot.astimezone(tz).date(),
            1,
            texts("impuls.plan.line", when=format_slot(slot, tz, texts), title=impulse.title),
        )
        for slot, impulse in entries
    ]
    if now is not None and holidays_state:
        last_day = timeline[-1][0]
        for day, name in _holidays_on_schedule(
            schedule, tz, now, last_day, pause_until, holidays_state, lang
        ):
            note = texts("impuls.plan.holiday", date=format_date(day, texts), name=name)
            timeline.append((day, 0, note))
    lines.extend(message for _, _, message in sorted(timeline, key=lambda item: item[:2]))
    return _join_lines(lines)


def _holidays_on_schedule(
    schedule: Schedule,
    tz: ZoneInfo,
    now: dt.datetime,
    last_day: dt.date,
    pause_until: dt.date | None,
    state: str,
    lang: str,
) -> list[tuple[dt.date, str]]:
    code = normalize_state(state)
    day = now.astimezone(tz).date()
    found: list[tuple[dt.date, str]] = []
    while day <= last_day:
        paused = pause_until is not None and day <= pause_until
        if day.weekday() in schedule.weekdays and not paused:
            name = holiday_name(day, code, lang)
            if name:
                found.append((day, name))
        day += dt.timedelta(days=1)
    return found


def _join_lines(lines: list[Message]) -> Message:
    return Message("\n".join(m.plain for m in lines), "<br>".join(m.html for m in lines))
