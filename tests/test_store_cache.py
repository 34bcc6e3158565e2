"""The store's in-memory copies (room join time, room language) never answer with a stale value."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.store import Store


async def test_room_language_is_read_once_and_follows_every_write(tmp_path: Path) -> None:
    async with Store(tmp_path / "bot.db") as store:
        assert await store.get_value("lang:!a") is None
        await store.db.execute("INSERT INTO kv (key, value) VALUES ('lang:!a', 'en')")
        # Written behind the store's back: the copy from the first read answers.
        assert await store.get_value("lang:!a") is None
        await store.set_value("lang:!a", "de")
        assert await store.get_value("lang:!a") == "de"
        await store.delete_value("lang:!a")
        assert await store.get_value("lang:!a") is None


async def test_other_values_are_always_read_from_the_database(tmp_path: Path) -> None:
    async with Store(tmp_path / "bot.db") as store:
        await store.set_value("matrix.sync_token", "s1")
        await store.db.execute("UPDATE kv SET value = 's2' WHERE key = 'matrix.sync_token'")
        assert await store.get_value("matrix.sync_token") == "s2"


async def test_a_read_overlapping_a_write_is_not_kept(tmp_path: Path) -> None:
    async with Store(tmp_path / "bot.db") as store:
        await store.set_value("lang:!a", "en")
        store._cached_values.clear()
        read = asyncio.ensure_future(store.get_value("lang:!a"))
        await asyncio.sleep(0)  # the read is on its way to the database
        await store.set_value("lang:!a", "de")
        assert await read in {"en", "de"}
        assert await store.get_value("lang:!a") == "de"


async def test_join_time_follows_remember_and_forget(tmp_path: Path) -> None:
    async with Store(tmp_path / "bot.db") as store:
        assert await store.room_joined_at("!a") is None
        await store.remember_room("!a", 1000, False)
        assert await store.room_joined_at("!a") == 1000
        await store.remember_room("!a", 2000, False)  # left and joined again
        assert await store.room_joined_at("!a") == 2000
        await store.forget_room("!a")
        assert await store.room_joined_at("!a") is None
        await store.remember_room("!a", 3000, False)
        assert await store.room_joined_at("!a") == 3000


async def test_finished_command_is_handled_and_no_longer_pending(tmp_path: Path) -> None:
    async with Store(tmp_path / "bot.db") as store:
        await store.add_pending_command("$c", "!a", "@u:x", "{}", 1)
        await store.finish_command("$c", "!a")
        assert await store.is_handled("$c")
        assert await store.pending_commands() == []
