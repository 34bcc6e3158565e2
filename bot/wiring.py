"""Which features this bot has, and what each one brings (see :class:`bot.feature.Feature`).

The one place a feature is switched on: its chat commands, listeners, jobs, start-up hook and
personal-data categories. ``!hilfe`` lists commands in this order; ``!meine-daten``,
``!vergessen`` and retention walk the personal-data categories in this order.
"""

from __future__ import annotations

from bot.feature import Feature
from bot.features.feedback import rooms as feedback_rooms
from bot.features.impulses import feedback as impulse_feedback
from bot.features.impulses import scheduler as impulse_scheduler
from bot.features.impulses import state as impulse_state
from bot.features.polls import jobs as poll_jobs
from bot.features.polls import live as poll_live
from bot.features.search import digest as search_digest
from bot.features.search import state as search_state
from bot.features.tandem import rounds as tandem_rounds
from bot.features.wol import rooms as wol_rooms
from bot.registry import Job, Registry
from bot.store import core as core_store
from bot.store import exchange as exchange_store
from bot.store import feedback as feedback_store
from bot.store import impulses as impulses_store
from bot.store import insights as insights_store
from bot.store import invites as invites_store
from bot.store import leancoffee as leancoffee_store
from bot.store import poll_votes as poll_votes_store
from bot.store import private as private_store
from bot.store import tandem as tandem_store
from bot.store import web as web_store
from bot.store import wol as wol_store
from commands import (
    abstimmen,
    angebot,
    dashboard,
    datenschutz,
    ergebnis,
    export,
    feedback,
    hilfe,
    impuls,
    leancoffee,
    mehr,
    meine_daten,
    ping,
    sprache,
    tandem,
    umfrage,
    vergessen,
    wol,
    wunsch,
)

FEATURES: tuple[Feature, ...] = (
    Feature(
        "core",
        commands=(hilfe.COMMAND, mehr.COMMAND, ping.COMMAND, sprache.COMMAND),
        personal_data=(*core_store.PERSONAL_DATA, *invites_store.PERSONAL_DATA),
    ),
    Feature(
        "privacy",
        commands=(datenschutz.COMMAND, meine_daten.COMMAND, vergessen.COMMAND),
        jobs=(datenschutz.RETENTION_JOB,),
        personal_data=private_store.PERSONAL_DATA,
    ),
    Feature(
        "feedback",
        commands=(feedback.COMMAND, export.COMMAND),
        listeners=(feedback_rooms.on_event,),
        personal_data=feedback_store.PERSONAL_DATA,
    ),
    Feature(
        "polls",
        commands=(umfrage.COMMAND, ergebnis.COMMAND, abstimmen.COMMAND),
        listeners=(poll_live.on_event,),
        jobs=(
            Job(poll_jobs.CLOSE_CHECK_SECONDS, poll_jobs.close_due_polls),
            Job(poll_jobs.RETENTION_EVERY_SECONDS, poll_jobs.purge_expired_poll_votes),
        ),
        personal_data=poll_votes_store.PERSONAL_DATA,
    ),
    Feature(
        "search",
        commands=(angebot.COMMAND, wunsch.COMMAND),
        jobs=(Job(every_seconds=600, run=search_digest.digest_job),),
        setup=search_state.setup,
        personal_data=insights_store.PERSONAL_DATA,
    ),
    Feature(
        "impulses",
        commands=(impuls.COMMAND,),
        listeners=(impulse_feedback.on_event,),
        jobs=(impulse_scheduler.JOB,),
        setup=impulse_state.setup,
        personal_data=impulses_store.PERSONAL_DATA,
    ),
    Feature(
        "leancoffee",
        commands=(leancoffee.COMMAND,),
        listeners=(leancoffee.on_event,),
        jobs=(leancoffee.TIMER,),
        setup=leancoffee.setup,
        personal_data=(*leancoffee_store.PERSONAL_DATA, *exchange_store.PERSONAL_DATA),
    ),
    Feature(
        "tandem",
        commands=(tandem.COMMAND,),
        jobs=tandem_rounds.JOBS,
        setup=tandem_rounds.setup,
        personal_data=tandem_store.PERSONAL_DATA,
    ),
    Feature(
        "wol",
        commands=(wol.COMMAND,),
        jobs=wol_rooms.JOBS,
        personal_data=wol_store.PERSONAL_DATA,
    ),
    Feature("dashboard", commands=(dashboard.COMMAND,), personal_data=web_store.PERSONAL_DATA),
)


def registry(features: tuple[Feature, ...] = FEATURES) -> Registry:
    """Every chat command of these features, for the router and ``!hilfe``."""
    return Registry([command for feature in features for command in feature.commands])
