"""What every layer may name about talking to Matrix, without importing the Matrix shell.

Owns the deterministic transaction IDs, the errors :mod:`bot.matrix` raises to its callers (a send
that failed, a lookup that must wait), a room's membership as the homeserver reports it, and how
much of a user's input an answer may repeat.
Commands and features catch and build these; only the shell (``bot/matrix``) produces them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


class SendFailed(RuntimeError):
    """A message could not be delivered (permanent error, or retries exhausted)."""


class TooLarge(SendFailed):
    """The homeserver refuses the event as too large (HTTP 413, M_TOO_LARGE)."""


class HomeserverUnavailable(RuntimeError):
    """A lookup the bot needs for a decision failed; the decision must wait, not guess."""


@dataclass(frozen=True)
class Members:
    """A room's membership as the homeserver knows it (never the lazy-loaded local view)."""

    joined: frozenset[str]
    invited: frozenset[str]


def txn_id(*parts: str) -> str:
    """A deterministic transaction ID: the same logical message always gets the same ID."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return f"ib{digest}"


SHORT_ECHO = 200  # characters of user input an answer repeats


def shorten(text: str, limit: int = SHORT_ECHO) -> str:
    """User input as an answer may repeat it: at most ``limit`` characters, cut with "…"."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
