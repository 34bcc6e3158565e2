"""Command declarations and the registry that ``!hilfe`` and the router are built from.

Every module in ``commands/`` declares exactly one ``COMMAND = Command(...)``. Usage line and help
text live in the locale files under ``cmd.<name>.usage`` / ``cmd.<name>.help`` (all user texts in
one place per language); a test checks that every command has both in every language.

Every command declares the **scope** of what it does, and sub-commands with a different reach
declare theirs (``SubScope``). The core checks the scope before the handler runs; a command
without a declared scope is refused (and a test walking the registry fails).
"""

from __future__ import annotations

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


class Scope(Enum):
    """Who may run a command, decided by what it reads or changes."""

    EVERYONE = "everyone"  # shared, harmless: searching, help, voting in this room
    PERSONAL = "personal"  # about the sender only; private content goes to their direct chat
    ROOM = "room"  # this room's settings: power level >= 50 here (or v12 creator)
    ORGANISATION = "organisation"  # other rooms, other people, global content: access.moderators
    TEAM = "team"  # organisation-wide data (exports, reports): access.team only


@dataclass(frozen=True)
class SubScope:
    """A sub-command whose reach differs from its command's, by its first word."""

    words: frozenset[str]
    scope: Scope

    def __init__(self, scope: Scope, *words: str) -> None:
        object.__setattr__(self, "scope", scope)
        object.__setattr__(self, "words", frozenset(fold_word(w) for w in words))


_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def fold_word(word: str) -> str:
    return word.casefold().translate(_UMLAUTS)


@dataclass(frozen=True)
class Command:
    name: str  # English name: identifier and English alias, e.g. "help"
    german: str  # German name shown first in !hilfe, e.g. "hilfe"
    handler: Handler = field(compare=False)
    scope: Scope | None = None  # required; None only so that a forgotten one is caught, not fatal
    subscopes: tuple[SubScope, ...] = ()
    aliases: tuple[str, ...] = ()  # further spellings, e.g. ("rückmeldung",)
    direct_only: bool = False  # only in a direct chat with the bot

    @property
    def usage_key(self) -> str:
        return f"cmd.{self.name}.usage"

    @property
    def help_key(self) -> str:
        return f"cmd.{self.name}.help"

    @property
    def spellings(self) -> tuple[str, ...]:
        return (self.german, self.name, *self.aliases)

    def scope_for(self, args: str) -> Scope | None:
        """The scope of what ``args`` asks for: a sub-command's, else the command's."""
        words = args.split(maxsplit=1)
        if words:
            first = fold_word(words[0])
            for sub in self.subscopes:
                if first in sub.words:
                    return sub.scope
        return self.scope

    @property
    def scopes(self) -> tuple[Scope, ...]:
        """Every scope this command can need, strictest last (for ``!hilfe``)."""
        found = [s for s in (self.scope, *(sub.scope for sub in self.subscopes)) if s is not None]
        return tuple(s for s in Scope if s in found)


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
