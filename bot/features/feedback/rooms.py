"""Room names for the exports: the export CLI has no Matrix connection, so the bot saves each
room's own name in the store (``roomname:<room id>``) whenever it sees the room."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from bot.features.feedback.state import RoomNames

if TYPE_CHECKING:
    from bot.app import Impulsbot

ROOM_NAME_KEY: Final = "roomname:{room_id}"


async def room_label(app: Impulsbot, room_id: str) -> str | None:
    """The room's own name; DMs and unnamed rooms get a neutral label (their computed display
    names are people's names, which do not belong in an export). None for unknown rooms."""
    if not app.shell.is_joined(room_id):
        return None
    name = app.shell.room_name(room_id)
    if name:
        return name
    count = await app.private.joined_count(room_id)  # the homeserver's count, not nio's
    key = "feedback.room_direct" if count is not None and count <= 1 else "feedback.room_unnamed"
    return app.texts(key).plain


async def remember_room_name(app: Impulsbot, room_id: str) -> None:
    label = await room_label(app, room_id)
    saved = app.state.get(RoomNames).saved
    if label is None or saved.get(room_id) == label:
        return
    await app.store.set_value(ROOM_NAME_KEY.format(room_id=room_id), label)
    saved[room_id] = label


async def on_event(app: Impulsbot, room_id: str, event: Any) -> None:
    # Rooms are renamed now and then; the saved names make this a dictionary lookup per event.
    await remember_room_name(app, room_id)
