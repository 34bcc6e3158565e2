"""Queries for impulse subscriptions, rotation and the posting protocol (migration 0002)."""

from bot.store.base import StoreBase


class ImpulseStore(StoreBase):
    pass
