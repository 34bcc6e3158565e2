"""Reading incoming events defensively: fields come from other clients and may be anything.

One place for the shapes every feature needs (type, content, relations, reactions, redactions),
whether nio hands over a typed event, an ``UnknownEvent`` (e.g. decrypted reactions) or junk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nio import ReactionEvent, RedactionEvent


def mapping(value: Any) -> dict[str, Any]:
    """What should be a JSON object, or an empty one."""
    return value if isinstance(value, dict) else {}


def text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def event_type(event: Any) -> str:
    if isinstance(event, ReactionEvent):
        return "m.reaction"
    if isinstance(event, RedactionEvent):
        return "m.room.redaction"
    source = mapping(getattr(event, "source", None))
    return text(source.get("type")) or text(getattr(event, "type", None)) or ""


def content_of(event: Any) -> dict[str, Any]:
    return mapping(mapping(getattr(event, "source", None)).get("content"))


@dataclass(frozen=True)
class Relation:
    rel_type: str | None = None
    event_id: str | None = None
    key: str | None = None  # annotations (reactions)
    reply_to: str | None = None  # m.in_reply_to
    falling_back: bool = False  # thread reply that only quotes the thread for old clients

    @property
    def thread_root(self) -> str | None:
        return self.event_id if self.rel_type == "m.thread" else None

    @property
    def is_edit(self) -> bool:
        return self.rel_type == "m.replace"


def relation(content: dict[str, Any]) -> Relation:
    relates = mapping(content.get("m.relates_to"))
    return Relation(
        rel_type=text(relates.get("rel_type")),
        event_id=text(relates.get("event_id")),
        key=text(relates.get("key")),
        reply_to=text(mapping(relates.get("m.in_reply_to")).get("event_id")),
        falling_back=relates.get("is_falling_back") is True,
    )


def referenced_event(content: dict[str, Any]) -> str | None:
    """The event a message answers: its thread root, else the message it replies to."""
    rel = relation(content)
    return rel.thread_root or rel.reply_to


@dataclass(frozen=True)
class Reaction:
    event_id: str  # the reaction event
    target: str  # the reacted-to event
    key: str


def reaction(event: Any) -> Reaction | None:
    """An ``m.reaction`` annotation in any shape nio delivers (plain or decrypted)."""
    if event_type(event) != "m.reaction":
        return None
    rel = relation(content_of(event))
    event_id = text(getattr(event, "event_id", None))
    if rel.rel_type != "m.annotation" or not (event_id and rel.event_id and rel.key):
        return None
    return Reaction(event_id, rel.event_id, rel.key)


def redacted_event(event: Any) -> str | None:
    """The event a redaction removes."""
    if event_type(event) != "m.room.redaction":
        return None
    return text(getattr(event, "redacts", None)) or text(content_of(event).get("redacts"))
