import pytest
from bot.matrix import MatrixShell
from tests.test_faults import test_more_commands_than_one_sync_holds_are_all_answered as inner

async def test_without_fix(make_bot, make_user, monkeypatch):
    async def none(self, room_id, prev_batch):
        return []
    monkeypatch.setattr(MatrixShell, "fill_gap", none)
    await inner(make_bot, make_user)
