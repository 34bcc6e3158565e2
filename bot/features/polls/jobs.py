"""The polls' periodic jobs: ending polls at their ``--dauer``, reconciling, retention.

Right after start-up every open poll is reconciled from ``/relations``, and a poll whose time
ran out while the bot was down ends at once (its result says when it was meant to end).
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import TYPE_CHECKING

from bot.features.polls.live import end_poll, reconcile
from bot.features.polls.lookup import PollsState
from bot.features.polls.msc3381 import to_ms
from bot.transport import SendFailed

if TYPE_CHECKING:
    from bot.app import Impulsbot

log = logging.getLogger(__name__)

CLOSE_CHECK_SECONDS = 5.0
RETENTION_EVERY_SECONDS = 3600.0
RECONCILE_SECONDS = 30.0  # a missed response is repaired within a minute


async def reconcile_open_polls(app: Impulsbot) -> None:
    """Every open poll, from ``/relations``; rooms the client does not know yet are skipped."""
    for record in await app.store.open_polls():
        if app.shell.is_joined(record.room_id):
            await reconcile(app, record)


async def close_due_polls(app: Impulsbot, now: datetime) -> None:
    """Job: end polls at their ``--dauer``, finish ends cut short, reconcile open polls."""
    state = app.state.get(PollsState)
    if time.monotonic() - state.reconciled_at >= RECONCILE_SECONDS:
        state.reconciled_at = time.monotonic()
        await reconcile_open_polls(app)
    for record in await app.store.polls_to_close(to_ms(now)):
        if not app.shell.is_joined(record.room_id):
            # Sending before the sync has shown the room fails; wait for it instead.
            log.debug("poll %s is due, but room %s is not synced yet", record.id, record.room_id)
            continue
        # The end is the end event's own timestamp; this is only the provisional cut-off.
        end_ts = record.ended_at if record.status == "ending" else to_ms(now)
        try:
            await end_poll(app, record, end_ts=end_ts or to_ms(now))
        except SendFailed as exc:
            log.warning("could not end poll %s yet: %s", record.id, exc)


async def purge_expired_poll_votes(app: Impulsbot, now: datetime) -> int:
    """Job: retention (``privacy.retention_days``) for identified votes of ended polls."""
    days = app.config.privacy.retention_days
    deleted = await app.store.delete_poll_votes_before(to_ms(now) - days * 86_400_000)
    if deleted:
        log.info("retention: deleted %d poll votes of polls ended over %d days ago", deleted, days)
    return deleted
