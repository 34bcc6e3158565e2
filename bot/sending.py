"""What features need to send exactly once without importing the Matrix shell.

``bot.matrix`` owns deterministic transaction IDs, the error a failed send raises and how much of a
user's input an answer may repeat; features take them from here, so only the core imports
``bot.matrix``.
"""

from bot.matrix.outgoing import shorten
from bot.matrix.shell import SendFailed, txn_id

__all__ = ["SendFailed", "shorten", "txn_id"]
