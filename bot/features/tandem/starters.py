"""Conversation starters (``content/tandem-gespraechsanstoesse.yaml``): loading, the topic
vocabulary they define, and the seeded choice of one for a group."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from bot.features.tandem.topics import normalize_topic

STARTERS_FILE = "tandem-gespraechsanstoesse.yaml"


class ConversationStarter(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: Annotated[str, Field(min_length=10, max_length=400)]
    themen: Annotated[list[str], Field(min_length=1)]

    @field_validator("text")
    @classmethod
    def _tidy(cls, value: str) -> str:
        return " ".join(value.split())

    @field_validator("themen")
    @classmethod
    def _topics(cls, values: list[str]) -> list[str]:
        cleaned = [" ".join(v.split()) for v in values]
        if any(not v for v in cleaned):
            raise ValueError("empty topic")
        return cleaned


class ContentError(ValueError):
    """A content file is unreadable or invalid; the message names file and entry."""


_STARTERS = TypeAdapter(list[ConversationStarter])


def load_starters(path: str | Path) -> list[ConversationStarter]:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ContentError(f"{path}: kann nicht gelesen werden: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ContentError(f"{path}: kein gültiges YAML: {exc}") from exc
    try:
        starters = _STARTERS.validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"Eintrag {'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ContentError(f"{path}: {problems}") from exc
    if not starters:
        raise ContentError(f"{path}: keine Gesprächsanstöße enthalten")
    seen: set[str] = set()
    for starter in starters:
        key = starter.text.casefold()
        if key in seen:
            raise ContentError(f"{path}: doppelter Gesprächsanstoß: {starter.text!r}")
        seen.add(key)
    return starters


def known_topics(starters: Iterable[ConversationStarter]) -> list[str]:
    """The topic vocabulary of the starters, for suggesting topics to people opting in."""
    found: dict[str, str] = {}
    for starter in starters:
        for topic in starter.themen:
            found.setdefault(normalize_topic(topic), topic)
    return sorted(found.values(), key=str.casefold)


def choose_starter(
    starters: Sequence[ConversationStarter], group_topics: Iterable[str], rng_seed: int
) -> ConversationStarter:
    """A starter on a topic the group shares if there is one, else any (seeded choice)."""
    if not starters:
        raise ValueError("no conversation starters")
    wanted = {normalize_topic(topic) for topic in group_topics}
    matching = [s for s in starters if wanted & {normalize_topic(x) for x in s.themen}]
    return random.Random(rng_seed).choice(matching or list(starters))
