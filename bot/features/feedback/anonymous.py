"""Anonymous entries (``--anonym`` feedback and wishes): only in a verified direct chat, stored
without their author, and rate-limited by times kept in memory only."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.features.feedback.state import AnonymousTimes

if TYPE_CHECKING:
    from bot.app import Impulsbot
    from bot.context import Context

log = logging.getLogger(__name__)


def anonymous_times(app: Impulsbot, user_id: str, kind: str, since_ms: int) -> list[int]:
    """Times of the sender's recent anonymous entries of one kind (memory only, never stored),
    pruned to ``since_ms``; the caller may append to the list."""
    return app.state.get(AnonymousTimes).recent(user_id, kind, since_ms)


async def refuse_anonymous_in_room(ctx: Context, key: str) -> None:
    """In a room everyone sees who wrote the command, so "anonymous" would be a false promise:
    explain, store nothing, and open the direct chat where it works."""
    await ctx.reply(ctx.text(key))

    async def open_direct() -> None:
        try:
            await ctx.send_direct(ctx.text("privacy.anonymous.direct_hint"))
        except Exception:  # the room answer already says what to do
            log.warning("could not open a direct chat for an anonymous entry", exc_info=True)

    ctx.app.spawn(open_direct())
