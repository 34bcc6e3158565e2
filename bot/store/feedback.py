"""Queries for feedback, reactions, replies and data-protection queries (migration 0004)."""

from bot.store.base import StoreBase


class FeedbackStore(StoreBase):
    pass
