"""What a poll says in the room: start fallbacks, the anonymous announcement, end events.

Every text tells clients without poll support how to vote by command. Event shapes are
:mod:`bot.features.polls.msc3381`; the result chart is :mod:`bot.features.polls.render`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.features.polls.msc3381 import end_content, start_content
from bot.features.polls.render import render_results
from bot.features.polls.tally import Tally
from bot.store.polls import Poll
from bot.text.i18n import DEFAULT_LANGUAGE, Message, Texts, escape, join

_T = "umfrage."


def _numbered_answers(poll: Poll) -> Message:
    lines = [
        Message(f"{i}. {a.text}", f"<b>{i}.</b> {escape(a.text)}")
        for i, a in enumerate(poll.answers, 1)
    ]
    return join(lines)


def _vote_examples(poll: Poll, number: int | None) -> tuple[str, str]:
    """Arguments for a single and a multiple vote, e.g. ('4 2', '4 1,3')."""
    lead = f"{number} " if number is not None else ""
    multi = ",".join(str(n) for n in range(1, min(poll.max_selections, 3) + 1))
    return f"{lead}2", f"{lead}{multi}"


def _closing_line(t: Texts, closes_at: datetime | None) -> Message | None:
    if closes_at is None:
        return None
    return t(
        _T + "closes_at",
        date=closes_at.strftime(t.raw(_T + "date_format")),
        time=closes_at.strftime(t.raw(_T + "time_format")),
    )


def _rules_lines(t: Texts, poll: Poll, prefix: str, number: int | None) -> list[Message]:
    single, multi = _vote_examples(poll, number)
    key = "hint_vote_numbered" if number is not None else "hint_vote"
    lines = [t(_T + key, prefix=prefix, example=single, number=number or "")]
    if poll.max_selections > 1:
        lines.append(t(_T + "hint_multiple", prefix=prefix, example=multi, max=poll.max_selections))
    if not poll.disclosed:
        lines.append(t(_T + "hint_undisclosed"))
    return lines


def start_fallback(
    poll: Poll,
    *,
    prefix: str = "!",
    number: int | None = None,
    closes_at: datetime | None = None,
    lang: str = DEFAULT_LANGUAGE,
) -> Message:
    """The text that clients without poll support show, including how to vote by command."""
    t = Texts(lang)
    header_key = "start_header_numbered" if number is not None else "start_header"
    parts = [
        t(_T + header_key, question=poll.question, number=number if number is not None else ""),
        _numbered_answers(poll),
        *_rules_lines(t, poll, prefix, number),
    ]
    closing = _closing_line(t, closes_at)
    return join([*parts, closing] if closing else parts)


def build_start_content(
    poll: Poll,
    *,
    prefix: str = "!",
    number: int | None = None,
    closes_at: datetime | None = None,
    lang: str = DEFAULT_LANGUAGE,
) -> dict[str, Any]:
    """Content of a poll start event with the fallback for clients without polls."""
    fallback = start_fallback(poll, prefix=prefix, number=number, closes_at=closes_at, lang=lang)
    return start_content(poll, fallback.plain)


def anonymous_announcement(
    poll: Poll,
    *,
    number: int,
    prefix: str = "!",
    min_group: int = 5,
    closes_at: datetime | None = None,
    lang: str = DEFAULT_LANGUAGE,
) -> Message:
    """Announcement of an anonymous poll: voting by direct message, and what is (not) stored."""
    t = Texts(lang)
    single, multi = _vote_examples(poll, number)
    parts = [
        t(_T + "anon_header", number=number, question=poll.question),
        _numbered_answers(poll),
        t(_T + "anon_how", prefix=prefix, number=number, example=single),
    ]
    if poll.max_selections > 1:
        parts.append(t(_T + "hint_multiple", prefix=prefix, example=multi, max=poll.max_selections))
    if not poll.disclosed:
        parts.append(t(_T + "hint_undisclosed"))
    closing = _closing_line(t, closes_at)
    if closing:
        parts.append(closing)
    parts.append(t(_T + "anon_privacy", min=min_group))
    return join(parts)


def message_content(message: Message) -> dict[str, Any]:
    """An ``m.room.message`` text content with HTML, mentioning nobody."""
    return {
        "msgtype": "m.text",
        "body": message.plain,
        "format": "org.matrix.custom.html",
        "formatted_body": message.html,
        "m.mentions": {},
    }


def build_end_content(
    poll: Poll,
    start_event_id: str,
    result: Tally | None = None,
    *,
    member_count: int | None = None,
    lang: str = DEFAULT_LANGUAGE,
) -> dict[str, Any]:
    """Content of an ``org.matrix.msc3381.poll.end`` event.

    The bot sends the end *before* counting (the count runs up to this event's server
    timestamp, as in Element), so its fallback normally carries no result (``result`` None);
    the result follows as a message of its own.
    """
    t = Texts(lang)
    lines = [t(_T + ("end_fallback" if result is not None else "end_marker"))]
    if result is not None:
        lines.append(render_results(poll, result, ended=True, member_count=member_count, lang=lang))
    return end_content(start_event_id, join(lines).plain)
