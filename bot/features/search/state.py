"""The search feature at run time: the loaded catalogue, its index and each user's last search.

The catalogue is loaded once at start-up (a broken file stops the bot with the editor's message)
and again on ``!angebot neu-laden``, where a broken file keeps the old catalogue in service.
Every search is logged anonymously for gap insight (``bot/features/insights/``): normalised terms,
filters, result count, paging and details — no user or room ID, only the day and a configured
room category.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING

from bot.features.catalogue.load import load_catalogue
from bot.features.catalogue.model import Catalogue
from bot.features.insights.record import dedupe_key, search_record
from bot.features.search.index import SearchIndex
from bot.features.search.model import SearchResult

if TYPE_CHECKING:
    from bot.app import Impulsbot

log = logging.getLogger(__name__)

LAST_SEARCH_TTL_S = 2 * 3600.0
MAX_REMEMBERED_SEARCHES = 10_000


@dataclass
class LastSearch:
    """A user's last search in a room, so ``!mehr`` can continue it."""

    query: str
    next_offset: int
    search_id: int | None  # row of the anonymous search log (kept only here, in memory)
    day: str
    expires: float

    def touch(self, next_offset: int) -> None:
        self.next_offset = next_offset
        self.expires = time.monotonic() + LAST_SEARCH_TTL_S


@dataclass
class SearchState:
    """The search feature's state in ``app.state`` (present once the catalogue is loaded)."""

    catalogue: Catalogue
    index: SearchIndex
    last: OrderedDict[tuple[str, str], LastSearch] = field(default_factory=OrderedDict)
    reload_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def remember(self, room_id: str, user_id: str, search: LastSearch) -> None:
        key = (room_id, user_id)
        self.last.pop(key, None)
        self.last[key] = search
        while len(self.last) > MAX_REMEMBERED_SEARCHES:
            self.last.popitem(last=False)

    def recall(self, room_id: str, user_id: str) -> LastSearch | None:
        found = self.last.get((room_id, user_id))
        if found is None or found.expires < time.monotonic():
            self.last.pop((room_id, user_id), None)
            return None
        return found

    def replace(self, catalogue: Catalogue) -> None:
        old = self.index
        self.catalogue = catalogue
        self.index = SearchIndex.build(catalogue)
        old.close()


def state(app: Impulsbot) -> SearchState:
    """The loaded search state (start-up has run :func:`setup`)."""
    found = app.state.peek(SearchState)
    if found is None:
        raise LookupError("the catalogue is not loaded yet")
    return found


def catalogue_ids(app: Impulsbot) -> list[str]:
    """Ids of the loaded catalogue's offerings; none before start-up has loaded it."""
    found = app.state.peek(SearchState)
    return [e.id for e in found.catalogue] if found is not None else []


async def setup(app: Impulsbot) -> None:
    """Load the catalogue; problems raise CatalogueError, which stops the bot with the text."""
    directory = app.config.content.directory
    # In a worker thread: start-up logs in to the homeserver meanwhile.
    catalogue = await asyncio.to_thread(load_catalogue, directory, app.config.bot.language)
    index = await asyncio.to_thread(SearchIndex.build, catalogue)
    app.state.put(SearchState(catalogue, index))
    log.info("catalogue loaded: %d offerings from %s", len(catalogue), directory)


async def reload(app: Impulsbot, lang: str) -> Catalogue:
    """Load the catalogue again and serve it; CatalogueError keeps the old one in service."""
    current = state(app)
    async with current.reload_lock:
        catalogue = await asyncio.to_thread(load_catalogue, app.config.content.directory, lang)
        current.replace(catalogue)
    return catalogue


# --- the anonymous search log ----------------------------------------------------------------


def today(app: Impulsbot, now: datetime) -> str:
    return now.astimezone(app.config.bot.tz).date().isoformat()


async def log_search(
    app: Impulsbot, room_id: str, sender: str, result: SearchResult, day: str
) -> int | None:
    """Log one search anonymously (and count its person for the minimum group); the row id."""
    try:
        category = app.config.insights.room_categories.get(room_id)
        record = search_record(result, day, category)
        salt = await app.store.insights_salt()
        key = dedupe_key(salt, sender, day, record.topic, record.filters)
        record = replace(record, dedupe=key)
        await app.store.count_people("search", [record.topic], sender, date.fromisoformat(day))
        return await app.store.log_search(record, [h.entry.id for h in result.hits])
    except Exception:
        # Insight is a side matter: the user has their answer already.
        log.exception("could not log a search")
        return None


async def note_paged(app: Impulsbot, last: LastSearch, result: SearchResult) -> None:
    if last.search_id is not None:
        await _quietly(app.store.mark_search_paged(last.search_id))
        await _quietly(app.store.count_shown(last.day, [h.entry.id for h in result.hits]))


async def note_opened(app: Impulsbot, last: LastSearch | None) -> None:
    if last is not None and last.search_id is not None:
        await _quietly(app.store.mark_search_opened(last.search_id))


async def _quietly(work: Awaitable[object]) -> None:
    try:
        await work
    except Exception:
        log.exception("could not update the search log")
