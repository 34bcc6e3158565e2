"""User-facing texts: one directory per language (``bot/text/locales/<lang>/*.yaml``).

Templates use a tiny markup that renders to both a plain ``body`` and an HTML ``formatted_body``:
``**bold**``, ``*italic*``, `` `code` `` and line breaks. Placeholders ``{name}`` are filled *after*
the markup is rendered, with the value HTML-escaped in the HTML variant, so user text can never
inject markup in either form.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

LANGUAGES = ("de", "en")
DEFAULT_LANGUAGE = "de"

_BOLD = re.compile(r"\*\*(.+?)\*\*", re.S)
_ITALIC = re.compile(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])", re.S)
_CODE = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Message:
    """A message in both renderings Matrix wants: plain ``body`` and HTML ``formatted_body``."""

    plain: str
    html: str

    def __add__(self, other: Message) -> Message:
        return join([self, other])

    @classmethod
    def text(cls, value: str) -> Message:
        """Untrusted text as a message: escaped in HTML, verbatim in plain text."""
        return cls(value, escape(value))

    @classmethod
    def from_html(cls, plain: str, html_text: str) -> Message:
        return cls(plain, html_text)


def escape(value: object) -> str:
    """HTML-escape any value and keep line breaks visible."""
    return html.escape(str(value), quote=True).replace("\n", "<br>")


def join(parts: Iterable[Message], separator: str = "\n") -> Message:
    items = [p for p in parts if p.plain or p.html]
    html_sep = escape(separator) if separator != "\n" else "<br>"
    return Message(separator.join(p.plain for p in items), html_sep.join(p.html for p in items))


def _markup_to_html(template: str) -> str:
    # Escape first so that only our own markup becomes HTML.
    out = html.escape(template, quote=False)
    out = _CODE.sub(r"<code>\1</code>", out)
    out = _BOLD.sub(r"<b>\1</b>", out)
    out = _ITALIC.sub(r"<i>\1</i>", out)
    return out.replace("\n", "<br>")


def _markup_to_plain(template: str) -> str:
    out = _BOLD.sub(r"\1", template)
    return _ITALIC.sub(r"\1", out)


class _SafeDict(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render(template: str, params: Mapping[str, Any]) -> Message:
    plain_values = _SafeDict({k: _plain_value(v) for k, v in params.items()})
    html_values = _SafeDict({k: _html_value(v) for k, v in params.items()})
    return Message(
        _markup_to_plain(template).format_map(plain_values),
        _markup_to_html(template).format_map(html_values),
    )


def _plain_value(value: Any) -> str:
    return value.plain if isinstance(value, Message) else str(value)


def _html_value(value: Any) -> str:
    return value.html if isinstance(value, Message) else escape(value)


def _merge(into: dict[str, Any], data: Mapping[str, Any], origin: str) -> None:
    for key, value in data.items():
        if isinstance(value, Mapping):
            node = into.setdefault(key, {})
            if not isinstance(node, dict):
                raise ValueError(f"{origin}: key {key!r} is both a text and a section")
            _merge(node, value, origin)
        elif key in into:
            raise ValueError(f"{origin}: text {key!r} is defined twice")
        else:
            into[key] = value


@cache
def _catalogue(lang: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    folder = resources.files("bot.text") / "locales" / lang
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.endswith(".yaml"):
            data = yaml.safe_load(entry.read_text(encoding="utf-8")) or {}
            _merge(merged, data, f"locales/{lang}/{entry.name}")
    return merged


def lookup(lang: str, key: str) -> Any:
    node: Any = _catalogue(lang)
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            if lang != DEFAULT_LANGUAGE:
                return lookup(DEFAULT_LANGUAGE, key)
            raise KeyError(f"missing text {key!r}")
        node = node[part]
    return node


def all_keys(lang: str) -> set[str]:
    def walk(node: Mapping[str, Any], prefix: str) -> Iterable[str]:
        for key, value in node.items():
            path = f"{prefix}{key}"
            if isinstance(value, Mapping):
                yield from walk(value, path + ".")
            else:
                yield path

    return set(walk(_catalogue(lang), ""))


class Texts:
    """Texts of one language; ``t("core.unknown_command", name="x")`` gives a :class:`Message`."""

    def __init__(self, lang: str = DEFAULT_LANGUAGE) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"unsupported language {lang!r}")
        self.lang = lang

    def raw(self, key: str) -> Any:
        return lookup(self.lang, key)

    def __call__(self, key: str, **params: Any) -> Message:
        template = self.raw(key)
        if not isinstance(template, str):
            raise KeyError(f"text {key!r} is a section, not a text")
        return render(template, params)
