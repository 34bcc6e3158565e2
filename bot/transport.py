"""What every layer may name about talking to Matrix, without importing the Matrix shell.

Transaction IDs and the errors the shell raises to its callers. Stand-in for the core
developer's ``bot/transport.py`` (which defines them here and the shell imports them): at the
merge take theirs.
"""

from bot.matrix.shell import HomeserverUnavailable, Members, SendFailed, TooLarge, txn_id

__all__ = ["HomeserverUnavailable", "Members", "SendFailed", "TooLarge", "txn_id"]
