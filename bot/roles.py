"""Who may change a room: moderators by configuration, by power level, or as room creators.

Owns the moderator rule (``access.moderators``, power level 50 or more, and from room version 12
on the creators, who outrank every power level and are not listed in it) and the per-room cache of
creators asked from the homeserver.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nio import MatrixRoom

if TYPE_CHECKING:
    from bot.app import Impulsbot

MODERATOR_POWER = 50
PRE_V12_ROOM_VERSIONS = {str(v) for v in range(1, 12)}


class Roles:
    def __init__(self, app: Impulsbot) -> None:
        self.app = app
        self._room_creators: dict[str, set[str]] = {}

    async def is_moderator(self, room: MatrixRoom, user_id: str) -> bool:
        if user_id in self.app.config.access.moderators:
            return True
        if room.power_levels.get_user_level(user_id) >= MODERATOR_POWER:
            return True
        # From room version 12 on, creators outrank every power level and are not listed.
        return room.room_version not in PRE_V12_ROOM_VERSIONS and user_id in await self._creators(
            room.room_id
        )

    async def _creators(self, room_id: str) -> set[str]:
        cached = self._room_creators.get(room_id)
        if cached is None:
            status, create = await self.app.shell.raw_request(
                "GET", f"/_matrix/client/v3/rooms/{room_id}/state/m.room.create/"
            )
            if status != 200 or not isinstance(create, dict):
                return set()
            extra = create.get("additional_creators") or []
            cached = {create.get("creator", ""), *[u for u in extra if isinstance(u, str)]}
            # The create content of v12 rooms has no "creator"; the event's sender is the creator.
            cached |= await self._create_sender(room_id)
            self._room_creators[room_id] = cached
        return cached

    async def _create_sender(self, room_id: str) -> set[str]:
        status, state = await self.app.shell.raw_request(
            "GET", f"/_matrix/client/v3/rooms/{room_id}/state/m.room.create/?format=event"
        )
        if status == 200 and isinstance(state, dict) and isinstance(state.get("sender"), str):
            return {state["sender"]}
        return set()
