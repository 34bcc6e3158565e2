"""An independent MSC3381 counter, written from the proposal's text for the tests.

It reads raw event dicts (as a client or ``/relations`` sees them) and shares no code with the
bot's tally (``bot/features/polls/tally.py``, ``result.py``). The bot's numbers are checked against
it here (random sequences) and in the integration tests (real Synapse).

MSC3381, "m.poll.response": only a user's most recent response counts, even if invalid; an
unknown answer spoils the vote; selections are truncated to ``max_selections``; an empty
selection is no vote. "m.poll.end": responses after the end event's ``origin_server_ts`` are
ignored.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.features.polls.msc3381 import parse_response
from bot.features.polls.result import split_tally
from bot.store.poll_votes import Vote
from bot.store.polls import Poll, PollAnswer

RESPONSE_KEYS = ("org.matrix.msc3381.poll.response", "m.poll.response")


def reference_count(
    answer_ids: list[str],
    max_selections: int,
    responses: list[dict[str, Any]],
    end_ts: int | None = None,
) -> dict[str, int]:
    """Votes per answer id. ``responses``: ``{"sender", "origin_server_ts", "content"}`` in
    timeline order; redacted ones must already be left out."""
    newest: dict[str, tuple[int, int, dict[str, Any]]] = {}
    for position, event in enumerate(responses):
        ts = event["origin_server_ts"]
        if end_ts is not None and ts > end_ts:
            continue
        key = (ts, position)
        known = newest.get(event["sender"])
        if known is None or key > known[:2]:
            newest[event["sender"]] = (ts, position, event["content"])
    counts = dict.fromkeys(answer_ids, 0)
    for _, _, content in newest.values():
        chosen = content.get("m.selections")  # stable form
        for block_key in RESPONSE_KEYS:
            if isinstance(content.get(block_key), dict):
                chosen = content[block_key].get("answers")
                break
        if not isinstance(chosen, list) or any(not isinstance(a, str) for a in chosen):
            continue  # invalid: the newest response still replaces older ones
        if any(a not in counts for a in chosen):
            continue
        kept: list[str] = []
        for answer in chosen[:max_selections]:
            if answer not in kept:
                kept.append(answer)
        for answer in kept:
            counts[answer] += 1
    return counts


def response_event(sender: str, ts: int, answers: Any, start: str = "$start") -> dict[str, Any]:
    return {
        "sender": sender,
        "origin_server_ts": ts,
        "content": {
            "m.relates_to": {"rel_type": "m.reference", "event_id": start},
            "org.matrix.msc3381.poll.response": {"answers": answers},
        },
    }


def _bot_votes(events: list[dict[str, Any]]) -> list[Vote]:
    votes = []
    for event in events:
        response = parse_response("org.matrix.msc3381.poll.response", event["content"])
        assert response is not None
        votes.append(
            response.to_vote(sender=event["sender"], origin_server_ts=event["origin_server_ts"])
        )
    return votes


_ANSWERS = ["a1", "a2", "a3"]
_selection = st.one_of(
    st.lists(st.sampled_from([*_ANSWERS, "bogus"]), max_size=4),
    st.just("not a list"),
    st.lists(st.integers(), min_size=1, max_size=2),
)
_event = st.tuples(st.sampled_from(["@a", "@b", "@c", "@d"]), st.integers(0, 20), _selection)


@settings(max_examples=300, deadline=None)
@given(
    events=st.lists(_event, max_size=14),
    max_selections=st.integers(1, 3),
    end_ts=st.one_of(st.none(), st.integers(0, 20)),
)
def test_bot_count_equals_the_reference_for_any_sequence(
    events: list[tuple[str, int, Any]], max_selections: int, end_ts: int | None
) -> None:
    raw = [response_event(sender, ts, answers) for sender, ts, answers in events]
    poll = Poll("Q", tuple(PollAnswer(a, a) for a in _ANSWERS), max_selections)
    result = split_tally(poll, _bot_votes(raw), end_ts=end_ts)
    assert dict(result.element.counts) == reference_count(_ANSWERS, max_selections, raw, end_ts)
    assert result.typed.voters == 0


def test_reference_follows_the_msc_examples() -> None:
    raw = [
        response_event("@a", 1, ["a1"]),
        response_event("@a", 2, ["bogus"]),  # newest and invalid: @a has no vote
        response_event("@b", 1, ["a2", "a3"]),  # truncated to a2
        response_event("@c", 5, ["a3"]),  # after the end
    ]
    assert reference_count(_ANSWERS, 1, raw, end_ts=4) == {"a1": 0, "a2": 1, "a3": 0}
