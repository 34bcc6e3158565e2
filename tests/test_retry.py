"""The join/creation retry policy (bot/retry.py), without network."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

import pytest
from nio import JoinError

from bot.matrix.retry import Attempt, InviteQueue, classify, delays, retrying
from bot.store import Store


def error(status: int | None, errcode: str = "M_FORBIDDEN") -> JoinError:
    response = JoinError("You are not invited to this room.", errcode)
    response.transport_response = None if status is None else SimpleNamespace(status=status)
    return response


def test_delays_double_up_to_the_cap_and_stop_after_a_few_minutes() -> None:
    waits = list(delays())
    assert waits[:7] == [1, 2, 4, 8, 16, 32, 32]
    assert sum(waits) <= 240 and sum(waits) > 180
    assert list(delays(first=1, cap=4, give_up_after=10)) == [1, 2, 4]


@pytest.mark.parametrize(
    ("status", "join", "transient"),
    [
        (403, True, True),  # the invite race: only for joins
        (403, False, False),
        (404, True, False),
        (429, False, True),
        (500, False, True),
        (502, True, True),
        (None, False, True),  # no answer at all
    ],
)
def test_classify(status: int | None, join: bool, transient: bool) -> None:
    outcome = classify(error(status), forbidden_is_transient=join)
    assert not outcome.ok
    assert outcome.retry is transient


def test_classify_exceptions_are_transient() -> None:
    assert classify(TimeoutError("slow")).retry


async def no_sleep(seconds: float) -> bool:
    return True


async def test_retrying_until_success_logs_each_failure(caplog: pytest.LogCaptureFixture) -> None:
    answers = [Attempt(False, True, "HTTP 403"), Attempt(False, True, "HTTP 502"), Attempt(True)]
    slept: list[float] = []

    async def sleep(seconds: float) -> bool:
        slept.append(seconds)
        return True

    async def attempt() -> Attempt:
        return answers.pop(0)

    with caplog.at_level(logging.WARNING):
        result = await retrying(attempt, "joining !r:b (invited by @a:b)", sleep)
    assert result.ok and slept == [1, 2]
    failures = [r.getMessage() for r in caplog.records]
    assert len(failures) == 2 and all("!r:b" in m and "@a:b" in m for m in failures)


async def test_retrying_gives_up_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    calls = 0

    async def attempt() -> Attempt:
        nonlocal calls
        calls += 1
        raise TimeoutError("no answer")

    with caplog.at_level(logging.WARNING):
        result = await retrying(attempt, "joining !r:b", no_sleep, iter([1.0, 2.0]))
    assert not result.ok and calls == 3
    assert "giving up" in caplog.records[-1].getMessage()


async def test_retrying_stops_on_a_lasting_refusal_and_on_shutdown() -> None:
    calls = 0

    async def refused() -> Attempt:
        nonlocal calls
        calls += 1
        return Attempt(False, retry=False, reason="HTTP 404")

    assert not (await retrying(refused, "x", no_sleep)).ok and calls == 1

    async def stopping(seconds: float) -> bool:
        return False

    async def transient() -> Attempt:
        return Attempt(False, retry=True)

    assert not (await retrying(transient, "x", stopping)).ok


class MemoryInvites:
    def __init__(self, **pending: str) -> None:
        self.pending = dict(pending)

    async def remember_invite(self, room_id: str, inviter: str) -> None:
        self.pending.setdefault(room_id, inviter)

    async def forget_invite(self, room_id: str) -> None:
        self.pending.pop(room_id, None)

    async def pending_invites(self, since_unix: int) -> list[tuple[str, str]]:
        return list(self.pending.items())


async def test_invite_queue_runs_one_task_per_room_without_blocking() -> None:
    gate = asyncio.Event()
    joins: list[str] = []

    async def join(room_id: str) -> Attempt:
        joins.append(room_id)
        await gate.wait()
        return Attempt(True)

    store = MemoryInvites()
    queue = InviteQueue(join, no_sleep, asyncio.ensure_future, store)
    first = queue.accept("!a:x", "@u:x")
    assert queue.accept("!a:x", "@u:x") is first  # the same invite seen again
    queue.accept("!b:x", "@u:x")
    await asyncio.sleep(0.01)
    assert sorted(joins) == ["!a:x", "!b:x"]
    assert store.pending == {"!a:x": "@u:x", "!b:x": "@u:x"}  # kept until joined
    gate.set()
    assert await first
    await asyncio.sleep(0.01)
    assert queue.active == {} and store.pending == {}


async def test_invite_queue_keeps_given_up_invites_and_resumes_allowed_ones() -> None:
    outcomes = {"!race:x": Attempt(False, retry=True), "!gone:x": Attempt(False, retry=False)}
    tried: list[str] = []

    async def join(room_id: str) -> Attempt:
        tried.append(room_id)
        return outcomes.get(room_id, Attempt(True))

    store = MemoryInvites()
    queue = InviteQueue(join, no_sleep, asyncio.ensure_future, store, waits=lambda: iter([1.0]))
    assert not await queue.accept("!race:x", "@u:x")  # given up: tried again at the next start
    assert not await queue.accept("!gone:x", "@u:x")  # refused for good: forgotten
    assert store.pending == {"!race:x": "@u:x"}

    store.pending["!old:x"] = "@eve:evil.org"  # the allow-list no longer admits this inviter
    outcomes.pop("!race:x")
    tried.clear()
    await queue.resume(lambda inviter: inviter.endswith(":x"))
    await asyncio.gather(*queue.active.values())
    assert tried == ["!race:x"] and store.pending == {}


async def test_store_keeps_pending_invites_as_personal_data_of_the_inviter(tmp_path) -> None:
    store = Store(tmp_path / "bot.db")
    await store.open()
    try:
        await store.remember_invite("!a:x", "@anna:x")
        await store.remember_invite("!b:x", "@bert:y")
        assert await store.pending_invites(0) == [("!a:x", "@anna:x"), ("!b:x", "@bert:y")]
        mine = await store.personal_data("@anna:x")
        assert [row["room_id"] for row in mine["pending_invites"]] == ["!a:x"]
        assert (await store.forget_user("@anna:x"))["pending_invites"] == 1
        await store.forget_invite("!b:x")
        assert await store.pending_invites(0) == []
        await store.remember_invite("!c:x", "@anna:x")
        assert await store.pending_invites(2**40) == []  # older than the cut-off: dropped
    finally:
        await store.close()
