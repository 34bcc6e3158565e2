"""Results of the exchange formats' state transitions, turned into chat messages by the shell."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from bot.text.i18n import Message, Texts


class Renderable(Protocol):
    """A parameter that needs the language to be shown (e.g. '1 Punkt' / '2 Punkte')."""

    def render(self, t: Texts) -> str: ...


@dataclass(frozen=True)
class Outcome:
    """Result of a transition. ``ok`` is False only for :class:`Rejected`."""

    ok: ClassVar[bool] = True

    def message(self, t: Texts, prefix: str = "!") -> Message:
        raise NotImplementedError


@dataclass(frozen=True)
class Rejected(Outcome):
    """A command that changed nothing; ``reason`` is a stable code under ``<section>.err``."""

    ok: ClassVar[bool] = False
    section: str  # locale section of the feature, e.g. "austausch.tandem"
    reason: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def message(self, t: Texts, prefix: str = "!") -> Message:
        params = {
            key: value.render(t) if hasattr(value, "render") else value
            for key, value in self.params.items()
        }
        return t(f"{self.section}.err.{self.reason}", prefix=prefix, **params)
