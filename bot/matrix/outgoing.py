"""Fitting every outgoing event into the homeserver's event size limit (pure, no network).

Owns the size arithmetic: how many bytes an event's content takes as the homeserver sees it
(canonical JSON in a plain room; the Megolm envelope with its base64 ciphertext in an encrypted
room), and what to do when a message is too big: split it at line breaks into a few events, cut
a single over-long line with a visible "…", and end with a hint when even that is not enough.
:meth:`bot.matrix.shell.MatrixShell.send` calls :func:`fit` for every event it sends.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.text.i18n import Message, escape

MAX_EVENT_BYTES = 65_536  # Synapse's MAX_PDU_SIZE: the whole signed event as canonical JSON
# What the homeserver adds around our content: event type, room and sender IDs (each up to 255
# bytes), up to 10 prev_events and a few auth_events (~47 bytes each), hashes, one signature,
# depth, timestamps. Measured at ~0.6 KB on a real Synapse (tests/test_limits_integration.py).
ENVELOPE_RESERVE = 4_096
CONTENT_BUDGET = MAX_EVENT_BYTES - ENVELOPE_RESERVE
MAX_PARTS = 4  # a longer answer is cut with a hint: nobody reads five screens of chat
ELLIPSIS = "…"

# Megolm message layout (vodozemac/libolm): version byte, message index (tag + varint ≤ 5 bytes),
# ciphertext (tag + varint length), 8-byte MAC, 64-byte Ed25519 signature; AES-256-CBC pads the
# plaintext to whole 16-byte blocks (PKCS#7 always adds at least one byte).
_MEGOLM_FIXED = 1 + 1 + 5 + 1 + 8 + 64
_KEY_43 = "x" * 43  # curve25519 sender key and session ID, unpadded base64 of 32 bytes


def canonical_size(value: Any) -> int:
    """Bytes of ``value`` as canonical JSON (how Synapse measures events)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return len(text.encode("utf-8", "surrogatepass"))


def _varint_size(number: int) -> int:
    return max(1, math.ceil(number.bit_length() / 7))


def megolm_ciphertext_size(event_type: str, content: dict[str, Any], room_id: str) -> int:
    """Length of the base64 ciphertext nio's Megolm encryption produces for this event.

    nio serialises the plaintext with ``json.dumps`` (ASCII-escaped), so "ä" costs six bytes
    before encryption and eight after base64: the reason encrypted rooms hit the limit early.
    """
    plaintext = json.dumps(
        {"content": content, "type": event_type, "room_id": room_id}, separators=(",", ":")
    )
    padded = (len(plaintext) // 16 + 1) * 16
    raw = _MEGOLM_FIXED + _varint_size(padded) + padded
    return math.ceil(raw * 4 / 3)  # unpadded base64


def wire_size(
    event_type: str, content: dict[str, Any], *, room_id: str, encrypted: bool, device_id: str = ""
) -> int:
    """Bytes of the content the homeserver will store (encrypted: the m.room.encrypted one)."""
    if not encrypted or event_type == "m.reaction":  # nio sends reactions in the clear
        return canonical_size(content)
    envelope: dict[str, Any] = {
        "algorithm": "m.megolm.v1.aes-sha2",
        "sender_key": _KEY_43,
        "ciphertext": "",
        "session_id": _KEY_43,
        "device_id": device_id,
    }
    if "m.relates_to" in content:  # nio copies the relation out of the encryption
        envelope["m.relates_to"] = content["m.relates_to"]
    return canonical_size(envelope) + megolm_ciphertext_size(event_type, content, room_id)


@dataclass(frozen=True)
class Target:
    """Where an event goes, as far as its size is concerned."""

    room_id: str
    encrypted: bool
    device_id: str = ""

    def size(self, event_type: str, content: dict[str, Any]) -> int:
        return wire_size(
            event_type,
            content,
            room_id=self.room_id,
            encrypted=self.encrypted,
            device_id=self.device_id,
        )

    def fits(self, event_type: str, content: dict[str, Any]) -> bool:
        return self.size(event_type, content) <= CONTENT_BUDGET

    def text_cost(self, text: str) -> int:
        """Upper bound of what ``text`` adds to the event when placed inside a JSON string."""
        if self.encrypted:
            escaped = len(json.dumps(text)) - 2
            return math.ceil(escaped * 4 / 3) + 1
        return canonical_size(text) - 2


def notice_content(message: Message, relates_to: dict[str, Any] | None) -> dict[str, Any]:
    """A short m.notice (used for the too-large fallback), keeping a reply/thread relation."""
    content: dict[str, Any] = {
        "msgtype": "m.notice",
        "body": message.plain,
        "format": "org.matrix.custom.html",
        "formatted_body": message.html,
    }
    if relates_to and relates_to.get("rel_type") in (None, "m.thread"):
        content["m.relates_to"] = relates_to
    return content


def fit(
    event_type: str, content: dict[str, Any], target: Target, hint: Message
) -> list[dict[str, Any]] | None:
    """The event as one or more events that each fit; None if it cannot be made to fit.

    Messages (``body``/``formatted_body``) are split at line breaks into at most
    :data:`MAX_PARTS` events; the last one ends with ``hint`` when lines had to be left out.
    Edits are cut rather than split (an edit replaces one event). Anything else that is too big
    (a poll start, a file) returns None: the caller sends a short error instead.
    """
    if target.fits(event_type, content):
        return [content]
    if event_type != "m.room.message" or not isinstance(content.get("body"), str):
        return None
    if "m.new_content" in content:
        return _fit_edit(event_type, content, target, hint)
    lines = _lines(content)
    empty = _with_text(content, [])
    base = target.size(event_type, empty) + 64  # slack for base64 and block rounding
    room = CONTENT_BUDGET - base
    hint_cost = _pair_cost(target, (hint.plain, hint.html))
    parts: list[list[tuple[str, str]]] = []
    index = 0
    while index < len(lines):
        last = len(parts) == MAX_PARTS - 1
        budget = room - hint_cost if last else room
        part, index = _pack(lines, index, budget, target)
        if last and index < len(lines):
            part.append((hint.plain, hint.html))
            index = len(lines)
        parts.append(part)
    events = [_with_text(content, part) for part in parts]
    return events if all(target.fits(event_type, e) for e in events) else None


def _fit_edit(
    event_type: str, content: dict[str, Any], target: Target, hint: Message
) -> list[dict[str, Any]] | None:
    new = content["m.new_content"]
    room = (CONTENT_BUDGET - target.size(event_type, _with_text(content, [])) - 64) // 2
    packed, _ = _pack(_lines(new), 0, room - _pair_cost(target, (hint.plain, hint.html)), target)
    packed.append((hint.plain, hint.html))
    edited = _with_text(content, [(ELLIPSIS, ELLIPSIS)])
    edited["body"] = "* " + ELLIPSIS
    edited["m.new_content"] = _with_text(new, packed)
    return [edited] if target.fits(event_type, edited) else None


def _lines(content: dict[str, Any]) -> list[tuple[str, str]]:
    """(plain, html) per line; HTML is rebuilt from the plain text if the two don't line up."""
    plain = content["body"].split("\n")
    html = content.get("formatted_body")
    html_lines = html.split("<br>") if isinstance(html, str) else []
    if len(html_lines) != len(plain):
        html_lines = [escape(line) for line in plain]
    return list(zip(plain, html_lines, strict=True))


def _pair_cost(target: Target, pair: tuple[str, str]) -> int:
    # +1 per separator: "\n" is 2 bytes escaped, "<br>" 4; generous on purpose.
    return target.text_cost(pair[0]) + target.text_cost(pair[1]) + 8


def _pack(
    lines: list[tuple[str, str]], index: int, budget: int, target: Target
) -> tuple[list[tuple[str, str]], int]:
    """As many lines from ``index`` as fit ``budget``; a first line too long alone is cut."""
    part: list[tuple[str, str]] = []
    used = 0
    while index < len(lines):
        cost = _pair_cost(target, lines[index])
        if used + cost <= budget:
            part.append(lines[index])
            used += cost
            index += 1
            continue
        if not part:  # one line longer than a whole event: cut it, as plain escaped text
            part.append(_cut_line(lines[index][0], budget, target.text_cost))
            index += 1
        break
    return part, index


def _cut_line(plain: str, budget: int, cost: Callable[[str], int]) -> tuple[str, str]:
    low, high = 0, len(plain)
    while low < high:  # the longest prefix whose plain and HTML forms fit together
        mid = (low + high + 1) // 2
        cut = plain[:mid] + ELLIPSIS
        if cost(cut) + cost(escape(cut)) + 8 <= budget:
            low = mid
        else:
            high = mid - 1
    cut = plain[:low] + ELLIPSIS
    return cut, escape(cut)


def _with_text(content: dict[str, Any], lines: list[tuple[str, str]]) -> dict[str, Any]:
    result = copy.copy(content)
    result["body"] = "\n".join(p for p, _ in lines)
    if "formatted_body" in content or "format" in content:
        result["format"] = "org.matrix.custom.html"
        result["formatted_body"] = "<br>".join(h for _, h in lines)
    return result
