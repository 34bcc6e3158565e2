"""``!meine-daten`` / ``!mydata``: everything stored about the sender, as a JSON file in a DM.

Asked in a room, the file goes to the direct chat, never into the room. A freshly opened DM is
encrypted and the person can only decrypt what is sent after they joined, so the bot waits for
the join (and their device keys) in the background and delivers then.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from bot.context import Context
from bot.personal_data import collect
from bot.privacy import count_entries, describe_counts, personal_data_file
from bot.registry import Command

log = logging.getLogger(__name__)

MIMETYPE = "application/json"
JOIN_WAIT_S = 10 * 60  # how long a DM invitation is waited for
POLL_S = 0.5


async def meine_daten(ctx: Context) -> None:
    data = await collect(ctx.app.store, ctx.sender)
    payload = personal_data_file(ctx.sender, data, ctx.now)
    summary = describe_counts(ctx.t, count_entries(data))
    day = ctx.now.astimezone(ctx.app.config.bot.tz).date().isoformat()
    filename = f"meine-daten-{day}.json"
    if ctx.is_direct:
        await ctx.send_file(payload, filename, MIMETYPE)
        await ctx.reply(ctx.text("feedback.my_data.sent_here", summary=summary))
        return

    async def deliver(dm: str) -> None:
        await ctx.send_file(payload, filename, MIMETYPE, room_id=dm)
        message = ctx.text("feedback.my_data.sent_here", summary=summary)
        content = ctx.app.message_content(message, notice=True)
        await ctx.app.shell.send(dm, "m.room.message", content, ctx.next_txn("dm"))

    dm = await known_direct_room(ctx)
    if dm is not None and await ready_for(ctx, dm, 0):
        await deliver(dm)
        await ctx.reply(ctx.text("feedback.my_data.sent_dm"))
        return
    await ctx.reply(ctx.text("feedback.my_data.invite_pending", minutes=JOIN_WAIT_S // 60))
    # Opening the DM and waiting for the join needs further syncs, which this handler would
    # block: the delivery runs in the background.
    ctx.app.spawn(_deliver_when_joined(ctx, deliver))


async def known_direct_room(ctx: Context) -> str | None:
    """The existing DM with the sender, without creating one (creating waits for a sync)."""
    known = await ctx.app.store.get_value(f"dm:{ctx.sender}")
    return known if known and known in ctx.app.shell.client.rooms else None


async def _deliver_when_joined(ctx: Context, deliver: Callable[[str], Awaitable[None]]) -> None:
    try:
        dm = await ctx.app.direct_room(ctx.sender)
        if await ready_for(ctx, dm, JOIN_WAIT_S):
            await deliver(dm)
        else:
            log.info("data request not delivered: DM %s not joined in time", dm)
    except Exception:  # a background task has nobody else to report to
        log.exception("could not deliver a data request")


async def ready_for(ctx: Context, dm: str, within: float) -> bool:
    """True once the sender has joined ``dm`` and the bot knows their devices (so the room key
    reaches them); False after ``within`` seconds or when the bot stops."""
    shell = ctx.app.shell
    deadline = time.monotonic() + within
    while not shell.stopping.is_set():
        room = shell.client.rooms.get(dm)
        joined = (
            room is not None and ctx.sender in room.users and ctx.sender not in room.invited_users
        )
        if joined and any(True for _ in shell.client.device_store.active_user_devices(ctx.sender)):
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(POLL_S)
    return False


COMMAND = Command(name="mydata", german="meine-daten", handler=meine_daten, aliases=("my-data",))
