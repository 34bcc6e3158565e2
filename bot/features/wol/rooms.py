"""Working Out Loud circles as the bot runs them: forming from the list, one encrypted room per
circle with its welcome, and the weekly reminder job.

Crash safety: ``!wol bilden`` stores the formed circles under its event id before any room is
created; room ids are stored as soon as they exist and every post carries a transaction id
derived from the circle, so a re-run completes the formation instead of forming again.
Reminders are sent before the week is marked as reminded, with a txn id per circle and week.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.features.wol.circles import Circle
from bot.features.wol.formation import Formation, form_circles, seekers_from
from bot.features.wol.render import render_formation, render_reminder, render_welcome
from bot.registry import Job
from bot.text.i18n import Message, Texts
from bot.transport import SendFailed, txn_id

if TYPE_CHECKING:
    import datetime as dt

    from bot.app import Impulsbot

log = logging.getLogger(__name__)

JOB_EVERY_S = 60.0
INVITEE_WAIT_S = 20.0


@dataclass
class WolState:
    # One opener at a time: the command's background task and the job's recovery must not both
    # create a room for the same circle.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


async def form(
    app: Impulsbot,
    event_id: str,
    now: datetime,
    slot: tuple[int, dt.time] | None,
    t: Texts,
    *,
    wait: bool = True,
) -> Message:
    """Form circles from the list, at the weekly ``slot`` if one is given; each gets a room
    and a welcome (in the background with ``wait=False``: a command handler runs inside the
    sync loop, and a new room only becomes usable after the next sync)."""
    stored = await app.store.wol_circles_from(event_id)
    if not stored:
        seekers = seekers_from(await app.store.wol_seekers())
        seed = int(hashlib.sha256(event_id.encode()).hexdigest()[:12], 16)
        formation = form_circles(seekers, seed)
        if not formation.circles:
            return render_formation(formation, t)
        circles = []
        for index, members in enumerate(formation.circles, 1):
            circle = Circle(
                circle_id=f"{event_id}#{index}",
                members=list(members),
                formed_at=now,
                timezone=app.config.bot.timezone,
            )
            if slot is not None:
                circle.set_time(slot[0], slot[1], now)
            circles.append(circle)
        await app.store.create_wol_circles(event_id, [(c.circle_id, c.to_dict()) for c in circles])
        stored = await app.store.wol_circles_from(event_id)
    if wait:
        await open_pending_rooms(app)
    else:
        app.spawn(open_pending_rooms(app))
    return render_formation(Formation([tuple(state["members"]) for state in stored], []), t)


async def open_pending_rooms(app: Impulsbot) -> None:
    """Create the room and post the welcome for every circle still missing them."""
    async with app.state.get(WolState).lock:
        for state in await app.store.wol_pending_circles():
            circle = Circle.from_dict(state)
            try:
                await _open_room(app, circle)
            except SendFailed as exc:
                log.warning("could not open the room of circle %s: %s", circle.circle_id, exc)


async def _open_room(app: Impulsbot, circle: Circle) -> None:
    t = app.texts
    if circle.room_id is None:
        number = circle.circle_id.rsplit("#", 1)[-1]
        name = t("austausch.wol.room_name", number=number).plain
        circle.room_id = await app.shell.create_room(name, circle.members)
        await app.store.save_wol_circle(circle.to_dict())
    await app.shell.await_invitees(circle.room_id, circle.members, INVITEE_WAIT_S)
    welcome = render_welcome(circle, app.config.wol.guides, t, app.config.bot.prefix)
    content = app.message_content(welcome, notice=True)
    content["m.mentions"] = {"user_ids": list(circle.members)}
    await app.shell.send(
        circle.room_id, "m.room.message", content, txn_id("wol", circle.circle_id, "welcome")
    )
    await app.store.mark_wol_circle_welcomed(circle.circle_id)


async def send_reminders(app: Impulsbot, now: datetime) -> None:
    """Job: the weekly reminder with week number and a link to that week's Circle Guide."""
    await open_pending_rooms(app)  # finishes a formation interrupted by a crash
    for state in await app.store.active_wol_circles():
        circle = Circle.from_dict(state)
        week = circle.due_reminder(now)
        if week is None or circle.room_id is None:
            continue
        t = await app.room_texts(circle.room_id)
        message = render_reminder(
            week, circle.meeting_at(week), app.config.wol.guides, t, app.config.bot.prefix
        )
        txn = txn_id("wol", circle.circle_id, f"week-{week}")
        try:
            await app.shell.send(
                circle.room_id, "m.room.message", app.message_content(message, notice=True), txn
            )
        except SendFailed as exc:
            log.warning("WOL reminder for %s failed: %s", circle.circle_id, exc)
            continue
        circle.mark_reminded(week)
        await app.store.save_wol_circle(circle.to_dict())


JOBS = (Job(JOB_EVERY_S, send_reminders),)
