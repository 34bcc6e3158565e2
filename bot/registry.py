"""Command declarations and the registry that ``!hilfe`` and the router are built from.

Every module in ``commands/`` declares exactly one ``COMMAND = Command(...)``. Usage line and help
text live in the locale files under ``cmd.<name>.usage`` / ``cmd.<name>.help`` (all user texts in
one place per language); a test checks that every command has both in every language.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.app import Impulsbot
    from bot.context import Context

Handler = Callable[["Context"], Awaitable[None]]
# Non-command events (poll responses, reactions, redactions …): (app, room_id, nio event).
Listener = Callable[["Impulsbot", str, Any], Awaitable[None]]
# Periodic work (impulse slots, poll auto-close …): (app, aware UTC now).
JobFunction = Callable[["Impulsbot", datetime], Awaitable[None]]
Setup = Callable[["Impulsbot"], Awaitable[None]]


@dataclass(frozen=True)
class Job:
    every_seconds: float
    run: JobFunction


class Permission(Enum):
    EVERYONE = "everyone"
    MODERATOR = "moderator"  # access.moderators or power level >= 50 in the room
    TEAM = "team"  # access.team


@dataclass(frozen=True)
class Command:
    name: str  # English name: identifier and English alias, e.g. "help"
    german: str  # German name shown first in !hilfe, e.g. "hilfe"
    handler: Handler = field(compare=False)
    permission: Permission = Permission.EVERYONE
    aliases: tuple[str, ...] = ()  # further spellings, e.g. ("rückmeldung",)
    direct_only: bool = False  # only in a direct chat with the bot
    listener: Listener | None = field(default=None, compare=False)
    jobs: tuple[Job, ...] = field(default=(), compare=False)
    setup: Setup | None = field(default=None, compare=False)

    @property
    def usage_key(self) -> str:
        return f"cmd.{self.name}.usage"

    @property
    def help_key(self) -> str:
        return f"cmd.{self.name}.help"

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.german, self.name, *self.aliases)


class Registry:
    def __init__(self, commands: list[Command]) -> None:
        self.commands = commands
        self._by_spelling: dict[str, Command] = {}
        for command in commands:
            for spelling in command.spellings:
                key = spelling.casefold()
                other = self._by_spelling.get(key)
                if other is not None and other is not command:
                    raise ValueError(f"{spelling!r} names both {other.name} and {command.name}")
                self._by_spelling[key] = command

    def find(self, spelling: str) -> Command | None:
        return self._by_spelling.get(spelling.casefold())

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.commands)


def discover(package: str = "commands") -> Registry:
    """Import every module of the ``commands`` package and collect its ``COMMAND``."""
    root = importlib.import_module(package)
    found = []
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{package}.{info.name}")
        command = getattr(module, "COMMAND", None)
        if not isinstance(command, Command):
            raise TypeError(f"{package}.{info.name} declares no COMMAND")
        found.append(command)
    return Registry(found)
