"""Pure parsing of chat messages into commands: prefix, reply fallback, quotes."""

from __future__ import annotations

import re
from dataclasses import dataclass

OPENING_QUOTES = {'"': '"', "„": "“", "“": "”", "»": "«", "«": "»"}
CLOSING_QUOTES = {"“", "”", '"', "«", "»"}
MAX_COMMAND_NAME = 40
_NAME = re.compile(r"^[^\s]+")


@dataclass(frozen=True)
class ParsedCommand:
    name: str  # as typed, case preserved
    args: str  # the rest, stripped


def strip_reply_fallback(body: str) -> str:
    """Remove the ``> <@user> …`` quote Element puts in front of replies (plus its blank line)."""
    if not body.startswith(">"):
        return body
    lines = body.split("\n")
    index = 0
    while index < len(lines) and lines[index].startswith(">"):
        index += 1
    if index < len(lines) and lines[index].strip() == "":
        index += 1
    return "\n".join(lines[index:])


def parse_command(body: str, prefix: str) -> ParsedCommand | None:
    """``!hilfe umfrage`` → ParsedCommand("hilfe", "umfrage"); None when it is no command."""
    text = strip_reply_fallback(body).strip()
    if not text.startswith(prefix):
        return None
    rest = text[len(prefix) :]
    match = _NAME.match(rest)
    if not match or len(match.group(0)) > MAX_COMMAND_NAME:
        return None
    name = match.group(0)
    if name.startswith(prefix) or not any(ch.isalnum() for ch in name):
        return None  # "!!!" or "! " are exclamations, not commands
    return ParsedCommand(name=name, args=rest[match.end() :].strip())


def split_args(args: str) -> list[str]:
    """Split on white space; "…", „…“, “…” and »…« group words. An open quote runs to the end."""
    tokens: list[str] = []
    current: list[str] = []
    closing: str | None = None
    in_token = False
    for char in args:
        if closing is not None:
            if char == closing or (char in CLOSING_QUOTES and closing != '"'):
                tokens.append("".join(current))
                current, closing, in_token = [], None, False
            else:
                current.append(char)
        elif char in OPENING_QUOTES and not in_token:
            closing = OPENING_QUOTES[char]
        elif char.isspace():
            if in_token:
                tokens.append("".join(current))
                current, in_token = [], False
        else:
            current.append(char)
            in_token = True
    if closing is not None or in_token:
        tokens.append("".join(current))
    return tokens
