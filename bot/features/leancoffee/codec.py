"""Lean Coffee state as JSON for the store: sessions (``lc_sessions``) and summaries.

The format is versioned (:data:`SCHEMA_VERSION`): str keys, ISO datetimes with offset. Reading
checks every field and raises :class:`ValueError` for anything malformed, so the caller can skip
a broken row instead of crashing on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from bot.features.leancoffee.model import (
    LeanCoffeeSession,
    LeanCoffeeSettings,
    LeanCoffeeSummary,
    Phase,
    ReactionRecord,
    SummaryTopic,
    Topic,
    TopicStatus,
    require_aware,
)

SCHEMA_VERSION = 1

_SETTINGS = tuple(f.name for f in fields(LeanCoffeeSettings))


def session_to_dict(session: LeanCoffeeSession) -> dict[str, Any]:
    """A JSON-compatible snapshot (str keys, ISO datetimes)."""
    return {
        "version": SCHEMA_VERSION,
        "room_id": session.room_id,
        "host": session.host,
        "started_at": session.started_at.isoformat(),
        "settings": asdict(session.settings),
        "phase": session.phase.value,
        "topics": [_topic_to_dict(t) for t in session.topics],
        "dots": {
            user: {str(n): c for n, c in per_user.items()}
            for user, per_user in session.dots.items()
        },
        "reactions": {k: asdict(r) for k, r in session.reactions.items()},
        "current": session.current,
        "deadline": _iso(session.deadline),
        "extension_votes": dict(session.extension_votes),
        "voters": session.voters,
        "board_event_id": session.board_event_id,
        "extension_prompt_event_id": session.extension_prompt_event_id,
        "ended_at": _iso(session.ended_at),
    }


def session_from_dict(data: Mapping[str, Any]) -> LeanCoffeeSession:
    if data.get("version") != SCHEMA_VERSION:
        raise ValueError(f"unsupported Lean Coffee state version {data.get('version')!r}")
    try:
        return LeanCoffeeSession(
            room_id=str(data["room_id"]),
            host=str(data["host"]),
            started_at=_parse_dt(data["started_at"]),
            settings=LeanCoffeeSettings(**{k: int(data["settings"][k]) for k in _SETTINGS}),
            phase=Phase(data["phase"]),
            topics=[_topic_from_dict(t) for t in data["topics"]],
            dots={
                str(user): {int(n): int(c) for n, c in per_user.items()}
                for user, per_user in data["dots"].items()
            },
            reactions={str(k): _reaction_from_dict(r) for k, r in data["reactions"].items()},
            current=_opt_int(data["current"]),
            deadline=_parse_opt_dt(data["deadline"]),
            extension_votes={str(u): bool(v) for u, v in data["extension_votes"].items()},
            voters=int(data["voters"]),
            board_event_id=data["board_event_id"],
            extension_prompt_event_id=data["extension_prompt_event_id"],
            ended_at=_parse_opt_dt(data["ended_at"]),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"malformed Lean Coffee state: {exc!r}") from exc


def summary_to_dict(summary: LeanCoffeeSummary) -> dict[str, Any]:
    return {
        "room_id": summary.room_id,
        "started_at": summary.started_at.isoformat(),
        "ended_at": _iso(summary.ended_at),
        "voters": summary.voters,
        "topics": [{**asdict(t), "notes": list(t.notes)} for t in summary.topics],
    }


def summary_from_dict(data: Mapping[str, Any]) -> LeanCoffeeSummary:
    return LeanCoffeeSummary(
        room_id=str(data["room_id"]),
        started_at=_parse_dt(data["started_at"]),
        ended_at=_parse_opt_dt(data["ended_at"]),
        voters=int(data["voters"]),
        topics=[
            SummaryTopic(
                **_shared_topic_fields(t),
                discussed=bool(t["discussed"]),
                notes=tuple(str(n) for n in t["notes"]),
            )
            for t in data["topics"]
        ],
    )


def _topic_to_dict(topic: Topic) -> dict[str, Any]:
    return {**asdict(topic), "status": topic.status.value}


def _topic_from_dict(data: Mapping[str, Any]) -> Topic:
    return Topic(
        **_shared_topic_fields(data),
        status=TopicStatus(data["status"]),
        notes=[str(n) for n in data["notes"]],
        discussed_order=_opt_int(data["discussed_order"]),
        event_id=data["event_id"],
    )


def _shared_topic_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    """What a running topic and a summary line both keep (except the notes' container)."""
    return {
        "number": int(data["number"]),
        "text": str(data["text"]),
        "votes": int(data["votes"]),
        "extended": bool(data["extended"]),
    }


def _reaction_from_dict(data: Mapping[str, Any]) -> ReactionRecord:
    up = data["thumbs_up"]
    return ReactionRecord(
        user=str(data["user"]),
        topic_no=_opt_int(data["topic_no"]),
        dots=int(data["dots"]),
        thumbs_up=None if up is None else bool(up),
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _parse_dt(value: Any) -> datetime:
    moment = datetime.fromisoformat(str(value))
    require_aware(moment)
    return moment


def _parse_opt_dt(value: Any) -> datetime | None:
    return None if value is None else _parse_dt(value)


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)
