"""Where Lean Coffee posts go in the room, and which of their event ids the session keeps.

A session runs in the thread of its board message. A post is the board itself (thread root), a
topic message (target of dot reactions), any other post in the thread, the extension prompt (its
event id is remembered for 👍/👎), or a plain reply to the command.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.features.leancoffee.model import LeanCoffeeSession
from bot.features.leancoffee.outcomes import (
    ExtensionDecided,
    ExtensionVoteOpened,
    TopicAdded,
    TopicDone,
)
from bot.outcome import Outcome
from bot.text.i18n import Message, Texts

if TYPE_CHECKING:
    from bot.app import Impulsbot

BOARD, TOPIC, THREAD, PROMPT, REPLY = "board", "topic", "thread", "prompt", "reply"
THUMBS = ("👍", "👎")


@dataclass(frozen=True)
class Post:
    message: Message
    kind: str = THREAD
    topic: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "plain": self.message.plain,
            "html": self.message.html,
            "kind": self.kind,
            "topic": self.topic,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Post:
        return cls(Message(data["plain"], data["html"]), data["kind"], data.get("topic"))


def posts_for(outcomes: list[Outcome], t: Texts, prefix: str) -> list[Post]:
    posts = []
    for outcome in outcomes:
        kind = THREAD
        topic = None
        if isinstance(outcome, TopicAdded):
            kind, topic = TOPIC, outcome.number
        elif isinstance(outcome, ExtensionVoteOpened):
            kind = PROMPT
        posts.append(Post(outcome.message(t, prefix), kind, topic))
    return posts


def content(
    app: Impulsbot, session: LeanCoffeeSession | None, post: Post, reply_to: str
) -> dict[str, Any]:
    """A notice in the session's thread (``reply_to`` is the fallback for thread-less clients),
    or a plain reply for the board and for answers outside a session."""
    board = session.board_event_id if session is not None else None
    body = app.message_content(post.message, notice=True)
    if post.kind in (BOARD, REPLY) or board is None:
        body["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    else:
        body["m.relates_to"] = {
            "rel_type": "m.thread",
            "event_id": board,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": reply_to},
        }
    return body


def thumb_content(prompt_id: str, key: str) -> dict[str, Any]:
    """The bot's own 👍/👎 under the prompt, so voting is one click away."""
    return {"m.relates_to": {"rel_type": "m.annotation", "event_id": prompt_id, "key": key}}


def remember(session: LeanCoffeeSession | None, post: Post, event_id: str) -> bool:
    """Note event ids the session needs later; True when the session changed."""
    if session is None:
        return False
    if post.kind == BOARD and session.board_event_id != event_id:
        session.board_event_id = event_id
        return True
    if post.kind == TOPIC and post.topic is not None:
        topic = session.topic(post.topic)
        if topic is not None and topic.event_id != event_id:
            session.attach_topic_event(post.topic, event_id)
            return True
    if post.kind == PROMPT and session.extension_prompt_event_id != event_id:
        session.extension_prompt_event_id = event_id
        return True
    return False


def marker(session: LeanCoffeeSession, outcome: Outcome) -> str:
    """Names the logical timer post: the same post after a crash gets the same txn id."""
    if isinstance(outcome, ExtensionVoteOpened):
        what = f"extension-vote:{outcome.number}"
    elif isinstance(outcome, ExtensionDecided):
        what = f"extension-decided:{outcome.number}"
    elif isinstance(outcome, TopicDone):
        what = f"done:{outcome.number}:{outcome.reason.value}"
    else:
        what = type(outcome).__name__
    return f"{session.started_at.isoformat()}:{what}"
