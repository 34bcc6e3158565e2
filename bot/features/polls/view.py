"""How a poll's result reads: the stored counts (live or frozen) rendered for the room.

Shared by ``!ergebnis``, the end of a poll and ``impulsbot export polls``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.features.polls.render import render_results
from bot.features.polls.result import PollResult, split_tally
from bot.features.polls.tally import Tally
from bot.store.polls import PollRecord
from bot.text.i18n import Message, Texts, join

if TYPE_CHECKING:
    from bot.app import Impulsbot

_T = "umfrage."
LATE_END_MS = 60_000  # an end this much after --dauer is reported as late


async def member_count(app: Impulsbot, room_id: str) -> int | None:
    """Joined members without the bot (homeserver truth, never the lazy-loaded local view), for
    the turnout line; None when unknown."""
    count = await app.private.joined_count(room_id)
    return count if count else None


async def current_result(app: Impulsbot, record: PollRecord) -> PollResult:
    """Element's count and the typed addition; frozen once ended, live while open."""
    return await stored_result(app.store, record)


async def stored_result(store: Any, record: PollRecord) -> PollResult:
    poll = record.poll
    if poll.anonymous:
        counts, voters = await store.anonymous_counts(record.id)
        return PollResult.element_only(Tally.from_counts(poll, counts, voters))
    if record.status == "ended" and record.final_counts is not None:
        element = Tally.from_counts(poll, record.final_counts, record.final_voters or 0)
        typed = Tally.from_counts(
            poll, record.final_typed_counts or {}, record.final_typed_voters or 0
        )
        return PollResult(element, typed)
    return split_tally(poll, await store.poll_votes(record.id), end_ts=record.ended_at)


async def current_tally(app: Impulsbot, record: PollRecord) -> Tally:
    """Everything the bot counts (Element + typed); kept for callers that want one number."""
    return (await current_result(app, record)).combined


async def results_message(
    app: Impulsbot, record: PollRecord, result: PollResult, texts: Texts
) -> Message:
    message = render_results(
        record.poll,
        result.element,
        ended=record.is_closed,
        member_count=await member_count(app, record.room_id),
        min_anonymous_group=app.config.polls.min_anonymous_group,
        number=record.id,
        lang=texts.lang,
        typed=result.typed,
    )
    late = _late_note(app, record, texts)
    return join([message, late]) if late is not None else message


def _late_note(app: Impulsbot, record: PollRecord, texts: Texts) -> Message | None:
    if record.closes_at is None or record.ended_at is None or not record.is_closed:
        return None
    if record.ended_at - record.closes_at < LATE_END_MS:
        return None
    tz = app.config.bot.tz
    planned = datetime.fromtimestamp(record.closes_at / 1000, UTC).astimezone(tz)
    actual = datetime.fromtimestamp(record.ended_at / 1000, UTC).astimezone(tz)
    date_format, time_format = texts.raw(_T + "date_format"), texts.raw(_T + "time_format")
    return texts(
        _T + "late_end",
        planned_date=planned.strftime(date_format),
        planned_time=planned.strftime(time_format),
        date=actual.strftime(date_format),
        time=actual.strftime(time_format),
    )
