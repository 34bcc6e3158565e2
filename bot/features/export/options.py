"""What the operator chose for one export, and the errors an export reports.

Each dataset module declares ``NAME``, ``FORMATS`` (first = default) and
``async def export(store, config, options, out) -> int`` writing to a binary stream and returning
the number of rows. ``options`` is an :class:`ExportOptions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ExportOptions:
    fmt: str
    since: str | None = None  # YYYY-MM-DD, inclusive, in bot.timezone
    until: str | None = None  # YYYY-MM-DD, inclusive
    room_id: str | None = None
    with_user_ids: bool = False
    # Staff-council-proof by default: pseudonyms valid for this one file, dates without times.
    stable_pseudonyms: bool = False  # --stable-pseudonyms: the same pseudonym in every export
    with_times: bool = False  # --with-times: timestamps to the second instead of the date


class ExportFailed(Exception):
    """Raised by export modules with a message worded for the operator."""


class ExportError(ValueError):
    """Data that the chosen format cannot hold; ``key``/``params`` name the locale text."""

    def __init__(self, message: str, key: str | None = None, **params: Any) -> None:
        super().__init__(message)
        self.key = key
        self.params = params
