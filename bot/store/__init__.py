"""The one module that owns SQL. Each feature keeps its queries in a mixin module here."""

from bot.store.base import StoreBase
from bot.store.core import CoreStore
from bot.store.exchange import ExchangeStore
from bot.store.feedback import FeedbackStore
from bot.store.impulses import ImpulseStore
from bot.store.insights import InsightsStore
from bot.store.invites import InviteStore
from bot.store.leancoffee import LeanCoffeeStore
from bot.store.polls import PollStore
from bot.store.private import PrivateStore
from bot.store.tandem import TandemStore
from bot.store.web import WebStore
from bot.store.wol import WolStore


class Store(
    CoreStore,
    ImpulseStore,
    PollStore,
    FeedbackStore,
    InsightsStore,
    LeanCoffeeStore,
    TandemStore,
    WolStore,
    ExchangeStore,
    InviteStore,
    WebStore,
    PrivateStore,
    StoreBase,
):
    """All queries of the bot, on one aiosqlite connection."""


__all__ = ["Store"]
