"""Queries for polls, answers and votes (migration 0003)."""

from bot.store.base import StoreBase


class PollStore(StoreBase):
    pass
