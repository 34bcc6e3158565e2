"""The typed feature interface: what one feature brings, and the runtime state features keep.

A :class:`Feature` declares everything the core wires up for it — chat commands, listeners for
non-command events, periodic jobs, a start-up hook and its personal-data categories — so nothing
is found by name at run time. ``bot/wiring.py`` lists the features this bot has.

:class:`States` replaces an untyped dict: each feature keeps one state object of its own class,
looked up by that class, so a typo is an import error and the type checker knows what comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar, cast

from bot.registry import Command, Job, Listener, Setup

if TYPE_CHECKING:
    from bot.personal_data import Category

T = TypeVar("T")


@dataclass(frozen=True)
class Feature:
    name: str
    commands: tuple[Command, ...] = ()
    listeners: tuple[Listener, ...] = field(default=(), compare=False)
    jobs: tuple[Job, ...] = field(default=(), compare=False)
    setup: Setup | None = field(default=None, compare=False)
    personal_data: tuple[Category, ...] = field(default=(), compare=False)


class States:
    """One runtime state object per feature, keyed by its class."""

    def __init__(self) -> None:
        self._by_type: dict[type, object] = {}

    def put(self, value: T) -> T:
        self._by_type[type(value)] = value
        return value

    def peek(self, kind: type[T]) -> T | None:
        return cast("T | None", self._by_type.get(kind))

    def get(self, kind: type[T], factory: Callable[[], T] | None = None) -> T:
        """The state of ``kind``, made by ``factory`` (default: ``kind()``) on first use."""
        found = self._by_type.get(kind)
        if found is None:
            found = self._by_type[kind] = (factory or kind)()
        return cast("T", found)
