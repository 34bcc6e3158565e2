"""What every layer may name about talking to Matrix, without importing the Matrix shell.

Owns the deterministic transaction IDs, the errors :mod:`bot.matrix` raises to its callers (a send
that failed, a lookup that must wait) and a room's membership as the homeserver reports it.
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
