"""Markdown as moderators write it → Matrix HTML and plain text, made chat-safe.

Owns the conversion of an impulse body: CommonMark-style lists, raw HTML shown literally, links
limited to safe schemes, images turned into links, and the plain-text twin for clients without
HTML. :func:`convert` also reports what the author should fix (used by the loader).
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass

import markdown
from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.preprocessors import Preprocessor
from markdown.treeprocessors import Treeprocessor

SAFE_SCHEMES = frozenset({"http", "https", "mailto", "tel", "matrix"})
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


@dataclass
class Converted:
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


def convert(body: str) -> Converted:
    issues: list[tuple[str, str]] = []
    plain: list[str] = []
    converter = markdown.Markdown(extensions=["sane_lists", _ChatMarkdown(issues, plain)])
    html_text = converter.convert(body)
    return Converted(html_text, plain[0] if plain else "", issues)
