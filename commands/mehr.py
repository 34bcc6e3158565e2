"""``!mehr`` / ``!more``: the next results of your last ``!angebot`` search in this room."""

from __future__ import annotations

from bot.registry import Command, Scope
from commands.angebot import more

COMMAND = Command(name="more", german="mehr", handler=more, scope=Scope.EVERYONE)
