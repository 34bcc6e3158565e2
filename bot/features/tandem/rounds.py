"""Kaffee-Tandem rounds as the bot runs them: members in the store, the scheduled job, pairing,
one encrypted room per group and its introduction.

A round (the job at ``tandem.weekday`` / ``tandem.time`` every ``tandem.interval``, or
``!tandem runde`` for the initiative team) pairs everyone who opted in and is not paused.

Crash safety: a round is stored with its groups under a round key before any room is created;
each group's room id is stored as soon as it exists, and the introduction is sent with a
transaction id derived from round key and group, so a re-run completes the round without
pairing anew or posting twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import itertools
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.features.tandem.members import TandemMember, active_participants
from bot.features.tandem.pairing import HISTORY_ROUNDS, groups_to_round, pair_participants
from bot.features.tandem.render import render_introduction, render_round_report
from bot.features.tandem.schedule import next_round_at, round_due
from bot.features.tandem.starters import (
    STARTERS_FILE,
    ConversationStarter,
    choose_starter,
    load_starters,
)
from bot.features.tandem.topics import shared_topics
from bot.registry import Job
from bot.store.exchange import APPLIED_RETENTION_DAYS
from bot.text.i18n import Message
from bot.transport import HomeserverUnavailable, SendFailed, txn_id

if TYPE_CHECKING:
    from bot.app import Impulsbot

log = logging.getLogger(__name__)

JOB_EVERY_S = 60.0
INVITEE_WAIT_S = 20.0


@dataclass
class TandemState:
    """The conversation starters (read at start-up) and the one-introducer-at-a-time lock."""

    starters: list[ConversationStarter] = field(default_factory=list)
    # The command's background task and the job's recovery must not both create a room for
    # the same group.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def starters(app: Impulsbot) -> list[ConversationStarter]:
    return app.state.get(TandemState).starters


async def setup(app: Impulsbot) -> None:
    # A broken content file should stop the start-up loudly, not the first round silently.
    found = load_starters(app.config.content.directory / STARTERS_FILE)
    app.state.get(TandemState).starters = found


def _seed(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest()[:12], 16)


async def load_member(app: Impulsbot, user_id: str) -> TandemMember | None:
    row = await app.store.tandem_member(user_id)
    return TandemMember.from_dict(row) if row else None


async def save_member(app: Impulsbot, member: TandemMember) -> None:
    until = member.paused_until.isoformat() if member.paused_until else None
    await app.store.save_tandem_member(member.user_id, list(member.topics), until)


async def _last_round(app: Impulsbot) -> dt.datetime | None:
    held = await app.store.last_tandem_round()
    return dt.datetime.fromisoformat(held) if held else None


async def next_round(app: Impulsbot, now: dt.datetime) -> dt.datetime:
    """When the next scheduled round will run, in the bot's time zone."""
    cfg, tz = app.config.tandem, app.config.bot.tz
    slot = next_round_at(
        now, cfg.interval_seconds, cfg.weekday, cfg.time, tz, await _last_round(app)
    )
    if slot <= now:  # overdue: the job runs it within a minute; show the regular slot after
        slot = next_round_at(now, cfg.interval_seconds, cfg.weekday, cfg.time, tz)
    return slot


async def shared_room_pairs(app: Impulsbot, people: set[str]) -> set[frozenset[str]]:
    """Pairs of participants who already share a room with each other (and the bot).

    Members come from the homeserver: nio's lazy-loaded view misses quiet members.
    """
    pairs: set[frozenset[str]] = set()
    for room_id in app.shell.joined_room_ids():
        try:
            joined = (await app.private.members(room_id)).joined
        except HomeserverUnavailable:
            continue  # a missing hint only risks a repeat pairing, never a wrong disclosure
        present = sorted(people.intersection(joined))
        pairs.update(frozenset(p) for p in itertools.combinations(present, 2))
    return pairs


async def run_round(
    app: Impulsbot, now: dt.datetime, round_key: str, *, wait: bool = True
) -> Message:
    """Pair everyone active now, open a room per group and introduce them; returns the report
    for the team (counts only). Running it again with the same key completes, never repeats.

    ``wait=False`` leaves room creation to a background task: a command handler runs inside
    the sync loop, and a new room only becomes usable after the next sync.
    """
    members = [TandemMember.from_dict(row) for row in await app.store.tandem_members()]
    participants = active_participants(members, now)
    round_id = await app.store.tandem_round(round_key)
    if round_id is None:
        ids = {p.user_id for p in participants}
        history = [groups_to_round(r) for r in await app.store.tandem_history(HISTORY_ROUNDS)]
        groups = pair_participants(
            participants, await shared_room_pairs(app, ids), history, _seed(round_key)
        )
        round_id = await app.store.create_tandem_round(
            round_key, now.isoformat(), [list(g) for g in groups], HISTORY_ROUNDS
        )
    stored = await app.store.tandem_round_groups(round_id)
    if wait:
        await introduce_pending(app)
    else:
        app.spawn(introduce_pending(app))
    placed = sum(len(group) for _, group, _ in stored)
    groups = [tuple(group) for _, group, _ in stored]
    log.info("tandem round %s: %d groups", round_key, len(groups))
    return render_round_report(groups, max(0, len(participants) - placed), app.texts)


async def introduce_pending(app: Impulsbot) -> None:
    """Open the room and post the introduction for every group that does not have them yet."""
    async with app.state.get(TandemState).lock:
        pending = await app.store.tandem_pending_groups()
        if not pending:
            return
        topics = {row["user_id"]: row["topics"] for row in await app.store.tandem_members()}
        for round_id, round_key, position, group, room_id in pending:
            try:
                await _introduce(app, round_key, round_id, position, group, room_id, topics)
            except SendFailed as exc:
                log.warning("tandem group %s of round %s: %s", position, round_key, exc)


async def _introduce(
    app: Impulsbot,
    round_key: str,
    round_id: int,
    position: int,
    group: list[str],
    room_id: str | None,
    topics: dict[str, list[str]],
) -> None:
    t, prefix = app.texts, app.config.bot.prefix
    if room_id is None:
        room_id = await app.shell.create_room(t("austausch.tandem.room_name").plain, group)
        await app.store.set_tandem_group_room(round_id, position, room_id)
    common = shared_topics(group, topics)
    starter = choose_starter(starters(app), common, _seed(f"{round_key}:{position}"))
    intro = render_introduction(group, starter, common, t, prefix)
    content = app.message_content(intro, notice=True)
    content["m.mentions"] = {"user_ids": list(group)}
    await app.shell.await_invitees(room_id, group, INVITEE_WAIT_S)
    await app.shell.send(
        room_id, "m.room.message", content, txn_id("tandem", round_key, str(position))
    )
    await app.store.mark_tandem_group_introduced(round_id, position)


async def scheduled_round(app: Impulsbot, now: dt.datetime) -> None:
    """Job: run the round when its slot has come (once; a missed slot runs after a restart)."""
    # The replay table of Lean Coffee commands; the daily retention job drops it too.
    await app.store.forget_applied_before(int(time.time()) - APPLIED_RETENTION_DAYS * 86400)
    await introduce_pending(app)  # finishes a round interrupted by a crash
    cfg, tz = app.config.tandem, app.config.bot.tz
    if not round_due(now, cfg.interval_seconds, cfg.weekday, cfg.time, tz, await _last_round(app)):
        return
    key = f"slot:{now.astimezone(tz).date().isoformat()}"
    report = await run_round(app, now, key)
    log.info("%s", report.plain)


JOBS = (Job(JOB_EVERY_S, scheduled_round),)
