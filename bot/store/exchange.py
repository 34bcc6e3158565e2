"""Queries for Lean Coffee, Kaffee-Tandem and Working Out Loud circles (migration 0006)."""

from bot.store.base import StoreBase


class ExchangeStore(StoreBase):
    pass
