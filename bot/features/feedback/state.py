"""What the feedback feature keeps in memory only, never on disk (typed state in ``app.state``)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AnonymousTimes:
    """Times of each person's recent anonymous entries per kind, for the hourly rate limit.

    Their author is deliberately not stored with the entry, so this count lives in memory only.
    """

    by_person: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    def recent(self, user_id: str, kind: str, since_ms: int) -> list[int]:
        """The times from ``since_ms`` on (older ones are dropped); the caller may append."""
        times = self.by_person.setdefault((user_id, kind), [])
        times[:] = [t for t in times if t >= since_ms]
        return times

    def forget(self, user_id: str) -> None:
        for key in [k for k in self.by_person if k[0] == user_id]:
            del self.by_person[key]


@dataclass
class RoomNames:
    """Room names last saved for the exports, so an event costs a lookup instead of a write."""

    saved: dict[str, str] = field(default_factory=dict)


@dataclass
class ForgetRequests:
    """Pending ``!vergessen`` requests: user ID → time of the request (unix ms).

    An unconfirmed request leaves no trace on disk; after a restart the person simply asks again.
    """

    pending: dict[str, int] = field(default_factory=dict)
