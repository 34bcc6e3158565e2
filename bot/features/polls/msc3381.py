"""MSC3381 poll events: their names, reading them in any form, and the content the bot sends.

Native polls follow MSC3381 (``proposals/3381-polls.md``) as Element sends and renders them: the
*unstable* event types ``org.matrix.msc3381.poll.*`` with an ``org.matrix.msc1767.text`` fallback.
When reading, the stable form (``m.poll.*``, ``m.poll`` block, ``m.selections``, ``m.text`` as an
array) is accepted as well. This module is the one place those names are spelt; the wording of
fallbacks is :mod:`bot.features.polls.announce`, counting is :mod:`bot.features.polls.tally`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.store.poll_votes import Vote
from bot.store.polls import Poll, PollAnswer

# --- Names ---------------------------------------------------------------------------------------

POLL_START = "org.matrix.msc3381.poll.start"
POLL_RESPONSE = "org.matrix.msc3381.poll.response"
POLL_END = "org.matrix.msc3381.poll.end"
STABLE_POLL_START = "m.poll.start"
STABLE_POLL_RESPONSE = "m.poll.response"
STABLE_POLL_END = "m.poll.end"
TEXT = "org.matrix.msc1767.text"
STABLE_TEXT = "m.text"
KIND_DISCLOSED = "org.matrix.msc3381.poll.disclosed"
KIND_UNDISCLOSED = "org.matrix.msc3381.poll.undisclosed"

START_TYPES = frozenset({POLL_START, STABLE_POLL_START})
RESPONSE_TYPES = frozenset({POLL_RESPONSE, STABLE_POLL_RESPONSE})
END_TYPES = frozenset({POLL_END, STABLE_POLL_END})

# Every spelling of "disclosed" seen in the wild; the MSC says unknown kinds mean "undisclosed".
_DISCLOSED_KINDS = frozenset({KIND_DISCLOSED, "m.poll.disclosed", "m.disclosed"})
_START_BLOCKS = (POLL_START, "m.poll", STABLE_POLL_START)
_RESPONSE_BLOCKS = (POLL_RESPONSE, STABLE_POLL_RESPONSE)
_TEXT_KEYS = (TEXT, STABLE_TEXT, "org.matrix.msc1767.message", "body")

MAX_ANSWERS = 20  # MSC3381 truncates polls to 20 answers


# --- Shapes --------------------------------------------------------------------------------------


def answer_id(position: int) -> str:
    """Stable id of the answer at 1-based ``position``: "a1" … "a20"."""
    return f"a{position}"


@dataclass(frozen=True, slots=True)
class Response:
    """A poll response event as read from the room (before counting)."""

    poll_event_id: str
    answer_ids: tuple[str, ...]
    spoiled: bool = False  # content was malformed: the MSC still lets it replace earlier votes

    def to_vote(
        self, *, sender: str, origin_server_ts: int, event_id: str = "", redacted: bool = False
    ) -> Vote:
        return Vote(sender, origin_server_ts, self.answer_ids, event_id, self.spoiled, redacted)


@dataclass(frozen=True, slots=True)
class PollEnd:
    poll_event_id: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class EndMark:
    """Who sent an end event for a poll, and when."""

    sender: str
    origin_server_ts: int


# --- Reading --------------------------------------------------------------------------------------


def _text_of(value: Any) -> str | None:
    """Text from an MSC1767 text block: a string (unstable) or [{body, mimetype}] (stable)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        return None
    bodies = [r for r in value if isinstance(r, dict) and isinstance(r.get("body"), str)]
    plain = [r for r in bodies if r.get("mimetype", "text/plain") == "text/plain"]
    chosen = plain or bodies
    return chosen[0]["body"] if chosen else None


def _content_text(content: Any) -> str | None:
    if not isinstance(content, dict):
        return None
    for key in _TEXT_KEYS:
        text = _text_of(content.get(key))
        if text is not None:
            return text
    return None


def _reference(content: dict[str, Any]) -> str | None:
    relation = content.get("m.relates_to")
    if not isinstance(relation, dict) or relation.get("rel_type") != "m.reference":
        return None
    event_id = relation.get("event_id")
    return event_id if isinstance(event_id, str) and event_id else None


def _first_block(content: dict[str, Any], keys: Iterable[str]) -> dict[str, Any] | None:
    for key in keys:
        block = content.get(key)
        if isinstance(block, dict):
            return block
    return None


def parse_start(event_type: str, content: Any) -> Poll | None:
    """A poll start event (unstable or stable form) → Poll; None if it is not a usable poll."""
    if event_type not in START_TYPES or not isinstance(content, dict):
        return None
    block = _first_block(content, _START_BLOCKS)
    if block is None:
        return None
    question = _content_text(block.get("question"))
    raw_answers = block.get("answers")
    if question is None or not isinstance(raw_answers, list):
        return None
    answers: dict[str, PollAnswer] = {}
    for raw in raw_answers[:MAX_ANSWERS]:
        answer = _parse_answer(raw)
        if answer is None:
            return None  # like Element: one broken answer makes the poll unusable
        answers.setdefault(answer.id, answer)
    if not answers:
        return None
    max_selections = block.get("max_selections")
    valid_max = isinstance(max_selections, int) and not isinstance(max_selections, bool)
    return Poll(
        question=question,
        answers=tuple(answers.values()),
        max_selections=max_selections if valid_max and max_selections > 0 else 1,
        disclosed=isinstance(block.get("kind"), str) and block["kind"] in _DISCLOSED_KINDS,
    )


def _parse_answer(raw: Any) -> PollAnswer | None:
    if not isinstance(raw, dict):
        return None
    ident = raw.get("id", raw.get("m.id"))
    text = _content_text(raw)
    if not isinstance(ident, str) or not ident or text is None:
        return None
    return PollAnswer(ident, text)


def parse_response(event_type: str, content: Any) -> Response | None:
    """A poll response event → Response; None if it is no response to a poll at all.

    A response that references a poll but carries unusable selections is returned as spoiled:
    by the MSC the latest response counts "even if that event is invalid".
    """
    if event_type not in RESPONSE_TYPES or not isinstance(content, dict):
        return None
    poll_event_id = _reference(content)
    if poll_event_id is None:
        return None
    selections = _raw_selections(content)
    if not isinstance(selections, list) or not all(isinstance(s, str) for s in selections):
        return Response(poll_event_id, (), spoiled=True)
    return Response(poll_event_id, tuple(selections))


def _raw_selections(content: dict[str, Any]) -> Any:
    block = _first_block(content, _RESPONSE_BLOCKS)
    if block is not None:
        return block.get("answers")
    return content.get("m.selections")


def parse_end(event_type: str, content: Any) -> PollEnd | None:
    """A poll end event → PollEnd; None if malformed (who may end polls: effective_end_ts)."""
    if event_type not in END_TYPES or not isinstance(content, dict):
        return None
    poll_event_id = _reference(content)
    if poll_event_id is None:
        return None
    return PollEnd(poll_event_id, _content_text(content) or "")


# --- Building ------------------------------------------------------------------------------------


def to_ms(moment: datetime) -> int:
    """A moment as Matrix timestamps count: milliseconds since the epoch."""
    return int(moment.timestamp() * 1000)


def start_content(poll: Poll, fallback: str) -> dict[str, Any]:
    """Content of an ``org.matrix.msc3381.poll.start`` event (what Element sends, plus ``body``).

    ``body`` repeats the fallback: harmless for poll-aware clients (they read the poll block)
    and used by notifications and tools that only know ``body``. Empty ``m.mentions`` keeps an
    "@room" in a question from pinging everyone.
    """
    return {
        TEXT: fallback,
        "body": fallback,
        "m.mentions": {},
        POLL_START: {
            "kind": KIND_DISCLOSED if poll.disclosed else KIND_UNDISCLOSED,
            "max_selections": poll.max_selections,
            "question": {TEXT: poll.question},
            "answers": [{"id": a.id, TEXT: a.text} for a in poll.answers],
        },
    }


def end_content(start_event_id: str, fallback: str) -> dict[str, Any]:
    """Content of an ``org.matrix.msc3381.poll.end`` event referencing the poll's start."""
    return {
        "m.relates_to": {"rel_type": "m.reference", "event_id": start_event_id},
        POLL_END: {},
        TEXT: fallback,
        "body": fallback,
        "m.mentions": {},
    }
