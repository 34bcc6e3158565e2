"""Pure parts of the feedback feature: in-memory state and the overview's small-group merge."""

from __future__ import annotations

from bot.feature import States
from bot.features.feedback.overview import merge_small_groups
from bot.features.feedback.state import AnonymousTimes, ForgetRequests, RoomNames


def test_anonymous_times_are_pruned_per_person_and_kind() -> None:
    times = AnonymousTimes()
    times.recent("@a:x", "feedback", 0).extend([100, 200])
    times.recent("@a:x", "wish", 0).append(150)
    times.recent("@b:x", "feedback", 0).append(300)
    assert times.recent("@a:x", "feedback", 150) == [200]
    assert times.recent("@a:x", "feedback", 0) == [200]  # what was pruned stays gone
    assert times.recent("@a:x", "wish", 0) == [150]
    times.forget("@a:x")
    assert times.recent("@a:x", "feedback", 0) == [] and times.recent("@a:x", "wish", 0) == []
    assert times.recent("@b:x", "feedback", 0) == [300]


def test_feedback_state_lives_in_app_state_one_object_per_class() -> None:
    state = States()
    state.get(ForgetRequests).pending["@a:x"] = 5
    state.get(RoomNames).saved["!r:x"] = "Team"
    assert state.get(ForgetRequests).pending == {"@a:x": 5}
    assert state.peek(AnonymousTimes) is None
    assert state.get(RoomNames).saved == {"!r:x": "Team"}


def test_rooms_with_too_few_people_are_merged_into_one_line() -> None:
    records = [{"room_id": "Großer Raum", "user_id": f"@p{n}:x"} for n in range(3)] + [
        {"room_id": "Kleiner Raum", "user_id": "@solo:x"},
        {"room_id": "Kleiner Raum", "user_id": "@solo:x"},
        {"room_id": "Direktchats", "user_id": None},
    ]
    merged = merge_small_groups(records, 3, "Kleine Räume")
    assert [r["room_id"] for r in merged] == ["Großer Raum"] * 3 + ["Kleine Räume"] * 3
    assert merge_small_groups(records, 1, "Kleine Räume")[3]["room_id"] == "Kleiner Raum"
