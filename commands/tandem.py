"""``!tandem``: Kaffee-Tandem – opt in, pause, opt out; regular pairing rounds.

Pairing and texts are :mod:`bot.features.tandem`. A round (the weekly job at ``tandem.weekday`` /
``tandem.time`` every ``tandem.interval``, or ``!tandem runde`` for the initiative team) pairs
everyone who opted in and is not paused, opens an encrypted room per pair or trio and
introduces them there with a conversation starter.

Crash safety: a round is stored with its groups under a round key before any room is created;
each group's room id is stored as soon as it exists, and the introduction is sent with a
transaction id derived from round key and group, so a re-run completes the round without
pairing anew or posting twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import itertools
import logging
import time
from typing import TYPE_CHECKING

from bot.context import Context
from bot.features.tandem.pairing import (
    HISTORY_ROUNDS,
    STARTERS_FILE,
    ConversationStarter,
    Rejected,
    TandemMember,
    active_participants,
    choose_starter,
    groups_to_round,
    known_topics,
    load_starters,
    next_round_at,
    opt_in,
    opt_out,
    pair_participants,
    parse_command,
    pause,
    render_introduction,
    render_round_report,
    render_usage,
    round_due,
    shared_topics,
    status,
)
from bot.matrix.shell import HomeserverUnavailable, SendFailed, txn_id
from bot.registry import Command, Job, Scope, SubScope
from bot.text.i18n import Message

if TYPE_CHECKING:
    from bot.app import Impulsbot

log = logging.getLogger(__name__)

FEATURE = "tandem"
JOB_EVERY_S = 60.0
APPLIED_RETENTION_S = 7 * 86400
INVITEE_WAIT_S = 20.0


def starters(app: Impulsbot) -> list[ConversationStarter]:
    return app.features[FEATURE]


async def setup(app: Impulsbot) -> None:
    # A broken content file should stop the start-up loudly, not the first round silently.
    app.features[FEATURE] = load_starters(app.config.content.directory / STARTERS_FILE)


def _seed(key: str) -> int:
    return int(hashlib.sha256(key.encode()).hexdigest()[:12], 16)


async def _member(app: Impulsbot, user_id: str) -> TandemMember | None:
    row = await app.store.tandem_member(user_id)
    return TandemMember.from_dict(row) if row else None


async def _save(app: Impulsbot, member: TandemMember) -> None:
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


# ---------------------------------------------------------------------------------- command


async def tandem(ctx: Context) -> None:
    parsed = parse_command(ctx.args)
    if isinstance(parsed, Rejected):
        await ctx.reply(parsed.message(ctx.t, ctx.prefix))
        return
    app, now = ctx.app, ctx.now
    if parsed.action == "help":
        await ctx.reply(render_usage(ctx.t, ctx.prefix))
        return
    if parsed.action == "round":  # organisation scope, checked by the core
        report = await run_round(app, now, f"manual:{ctx.incoming.event_id}", wait=False)
        await ctx.reply(report)
        return
    member = await _member(app, ctx.sender)
    if parsed.action == "on":
        suggestions = known_topics(starters(app))
        updated, joined = opt_in(
            member, ctx.sender, parsed.topics, await next_round(app, now), suggestions
        )
        await _save(app, updated)
        await ctx.reply(joined.message(ctx.t, ctx.prefix))
    elif parsed.action == "off":
        outcome = opt_out(member)
        if outcome.ok:
            await app.store.delete_tandem_member(ctx.sender)
        await ctx.reply(outcome.message(ctx.t, ctx.prefix))
    elif parsed.action == "pause":
        result = pause(member, now, parsed.pause_days, app.config.bot.tz)
        if isinstance(result, Rejected):
            await ctx.reply(result.message(ctx.t, ctx.prefix))
            return
        await _save(app, result[0])
        await ctx.reply(result[1].message(ctx.t, ctx.prefix))
    elif parsed.action == "status":
        outcome = status(member, now, await next_round(app, now))
        await ctx.reply(outcome.message(ctx.t, ctx.prefix))


# ---------------------------------------------------------------------------------- rounds


async def shared_room_pairs(app: Impulsbot, people: set[str]) -> set[frozenset[str]]:
    """Pairs of participants who already share a room with each other (and the bot).

    Members come from the homeserver: nio's lazy-loaded view misses quiet members.
    """
    pairs: set[frozenset[str]] = set()
    for room_id in list(app.shell.client.rooms):
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


def _lock(app: Impulsbot) -> asyncio.Lock:
    # One introducer at a time: the command's background task and the job's recovery must not
    # both create a room for the same group.
    return app.features.setdefault(f"{FEATURE}.lock", asyncio.Lock())


async def introduce_pending(app: Impulsbot) -> None:
    """Open the room and post the introduction for every group that does not have them yet."""
    async with _lock(app):
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
    await await_invitees(app, room_id, group)
    await app.shell.send(
        room_id, "m.room.message", content, txn_id("tandem", round_key, str(position))
    )
    await app.store.mark_tandem_group_introduced(round_id, position)


async def await_invitees(
    app: Impulsbot, room_id: str, invitees: list[str], within: float = INVITEE_WAIT_S
) -> None:
    """Wait until the bot's client lists everyone invited to a new encrypted room and knows
    their devices; otherwise the room key of the first message misses some of them.

    The room can become known from a sync that shows only part of the invites.
    """
    client = app.shell.client
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within

    def ready() -> bool:
        room = client.rooms.get(room_id)
        if room is None or not set(invitees) <= set(room.users):
            return False
        return all(client.device_store.active_user_devices(user) for user in invitees)

    while not ready() and loop.time() < deadline:
        if client.should_query_keys:
            with contextlib.suppress(Exception):  # a query already in flight is fine
                await client.keys_query()
        await asyncio.sleep(0.2)


async def scheduled_round(app: Impulsbot, now: dt.datetime) -> None:
    """Job: run the round when its slot has come (once; a missed slot runs after a restart)."""
    await app.store.forget_applied_before(int(time.time()) - APPLIED_RETENTION_S)
    await introduce_pending(app)  # finishes a round interrupted by a crash
    cfg, tz = app.config.tandem, app.config.bot.tz
    if not round_due(now, cfg.interval_seconds, cfg.weekday, cfg.time, tz, await _last_round(app)):
        return
    key = f"slot:{now.astimezone(tz).date().isoformat()}"
    report = await run_round(app, now, key)
    log.info("%s", report.plain)


COMMAND = Command(
    name="tandem",
    german="tandem",
    handler=tandem,
    scope=Scope.PERSONAL,
    subscopes=(SubScope(Scope.ORGANISATION, "runde", "round"),),
    jobs=(Job(JOB_EVERY_S, scheduled_round),),
    setup=setup,
)
