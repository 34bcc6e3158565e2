"""Queries for anonymous search log and wishes for gap insight (migration 0005)."""

from bot.store.base import StoreBase


class InsightsStore(StoreBase):
    pass
