"""Junk input through the real Synapse: every command spelling answers, escaped, in plain and
encrypted rooms.

tests/test_fuzz.py stops before the homeserver; this one does not, so an answer the homeserver
refuses (413 M_TOO_LARGE) counts as unanswered. CI runs a seeded sample of the cases in
bench/bench_fuzz_homeserver.py (``FUZZ_HS_SAMPLE``, default 16 per room); the bench runs all.
"""

from __future__ import annotations

import os

import pytest

from bench.bench_fuzz_homeserver import KINDS, cases, fuzz_room, spellings_with_subcommands
from bot.wiring import registry as discover
from tests.conftest import PLAIN_AND_ENCRYPTED
from tests.scenario import ChatFactory

pytestmark = pytest.mark.integration
SAMPLE = int(os.environ.get("FUZZ_HS_SAMPLE", "16"))


def test_the_walk_covers_every_spelling_and_sub_commands() -> None:
    registry = discover()
    heads = spellings_with_subcommands(registry)
    for command in registry:
        for spelling in command.spellings:
            assert spelling in heads
    assert {"lc thema", "leancoffee punkt", "umfrage beenden", "impuls pause"} <= set(heads)
    sample = cases(registry, SAMPLE)
    assert len(sample) == SAMPLE and {kind for _, kind in sample} == set(KINDS)
    assert sample == cases(registry, SAMPLE)  # seeded: the same sample on every run


@PLAIN_AND_ENCRYPTED
async def test_a_sample_of_junk_commands_all_get_escaped_answers(
    make_chat: ChatFactory, encrypted: bool
) -> None:
    bot, alice, room = await make_chat(encrypted)
    figures = await fuzz_room(alice, bot.user_id, room, encrypted, cases(discover(), SAMPLE))
    assert figures.sent == SAMPLE
    assert figures.unanswered == []
    assert figures.unescaped == []
    assert figures.answered == SAMPLE
