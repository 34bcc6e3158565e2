"""How a poll's result reads: the text bar chart with turnout and winner.

Pure wording from counts (:mod:`bot.features.polls.tally`); which counts a stored poll has is
:mod:`bot.features.polls.view`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.features.polls.tally import Tally, percent
from bot.store.polls import Poll
from bot.text.i18n import DEFAULT_LANGUAGE, Message, Texts, escape, join

BAR_WIDTH = 10
BAR_FULL = "▓"
BAR_EMPTY = "░"

_T = "umfrage."


def _plural(t: Texts, key: str, n: int, **params: Any) -> Message:
    return t(f"{_T}{key}_{'one' if n == 1 else 'other'}", n=n, **params)


def bar(count: int, total: int, width: int = BAR_WIDTH) -> str:
    """'▓▓▓▓░░░░░░'; any vote shows at least one block so it is not mistaken for none."""
    filled = (2 * width * count + total) // (2 * total) if total > 0 else 0
    if count > 0:
        filled = max(filled, 1)
    filled = min(filled, width)
    return BAR_FULL * filled + BAR_EMPTY * (width - filled)


def _turnout(
    t: Texts, result: Tally, member_count: int | None, ended: bool, typed: Tally | None = None
) -> Message:
    extra = typed.voters if typed is not None else 0
    total = result.voters + extra
    if total == 0:
        return t(_T + ("no_votes_ended" if ended else "no_votes"))
    votes = _plural(t, "votes", total)
    if extra:
        votes = t(
            _T + "votes_split",
            total=votes,
            element=_plural(t, "votes", result.voters),
            typed=_plural(t, "votes", extra),
        )
    if member_count is None or member_count < total:
        return t(_T + "turnout", votes=votes)
    members = _plural(t, "members", member_count)
    return t(
        _T + "turnout_members",
        votes=votes,
        members=members,
        percent=percent(total, member_count),
    )


def _combined(result: Tally, typed: Tally | None) -> Tally:
    return result if typed is None else result.plus(typed)


def _answer_list(poll: Poll, ids: Iterable[str]) -> str:
    wanted = set(ids)
    return ", ".join(f"{n}. {a.text}" for n, a in enumerate(poll.answers, 1) if a.id in wanted)


def _chart(t: Texts, poll: Poll, result: Tally, ended: bool, typed: Tally | None) -> Message:
    leaders = set(_combined(result, typed).leaders()) if ended else set()
    lines: list[Message] = []
    for number, answer in enumerate(poll.answers, 1):
        label = Message(f"{number}. {answer.text}", f"<b>{number}.</b> {escape(answer.text)}")
        if answer.id in leaders:
            mark = t(_T + "leader_mark")
            label = Message(f"{label.plain} {mark.plain}", f"{label.html} {mark.html}")
        count = result.count(answer.id)
        lines.append(label)
        lines.append(
            t(
                _T + ("bar_line_element" if typed is not None else "bar_line"),
                bar=bar(count, result.voters),
                votes=_plural(t, "votes", count),
                percent=result.percent(answer.id),
            )
        )
        extra = typed.count(answer.id) if typed is not None else 0
        if extra:
            lines.append(t(_T + "typed_line", votes=_plural(t, "votes", extra)))
    return join(lines)


def _winner(t: Texts, poll: Poll, result: Tally, typed: Tally | None) -> Message | None:
    """At the end: who leads, and which count that is based on."""
    combined = _combined(result, typed)
    leaders = combined.leaders()
    if not leaders:
        return None
    if poll.anonymous:
        return t(_T + "winner_anonymous", answers=_answer_list(poll, leaders))
    if typed is None:
        return t(_T + "winner_element", answers=_answer_list(poll, leaders))
    line = t(
        _T + "winner_all",
        answers=_answer_list(poll, leaders),
        votes=_plural(t, "votes", combined.voters),
        typed=_plural(t, "votes", typed.voters),
    )
    in_element = result.leaders()
    if set(in_element) == set(leaders):
        return line
    other = (
        t(_T + "winner_element_differs", answers=_answer_list(poll, in_element))
        if in_element
        else t(_T + "winner_element_none")
    )
    return join([line, other])


def render_results(
    poll: Poll,
    result: Tally,
    ended: bool,
    *,
    member_count: int | None = None,
    min_anonymous_group: int = 5,
    number: int | None = None,
    lang: str = DEFAULT_LANGUAGE,
    typed: Tally | None = None,
) -> Message:
    """Results as a text bar chart with turnout.

    ``result`` is the count Element shows (native responses); ``typed`` the ``!abstimmen`` votes
    of people without an Element vote, shown as their own labelled line per answer and never
    folded into Element's numbers. The winner line at the end says which count it rests on.
    Undisclosed polls show only the number of votes until they end. Anonymous polls show no
    interim totals at all (two interim results compared would reveal a vote) and sums after the
    end only once at least ``min_anonymous_group`` people voted. ``member_count`` should exclude
    the bot itself.
    """
    t = Texts(lang)
    header_key = "result_header" if ended else "interim_header"
    header = t(_T + header_key, question=poll.question)
    if number is not None:
        header = t(_T + header_key + "_numbered", question=poll.question, number=number)
    if poll.anonymous and not ended:
        return join([header, t(_T + "anon_no_interim", min=min_anonymous_group)])
    if poll.anonymous and result.voters < min_anonymous_group:
        return join([header, t(_T + "anon_too_few_ended", min=min_anonymous_group)])
    if typed is not None and typed.voters == 0:
        typed = None
    turnout = _turnout(t, result, member_count, ended, typed)
    if not poll.disclosed and not ended:
        return join([header, turnout, t(_T + "undisclosed_note")])
    parts = [header, _chart(t, poll, result, ended, typed), turnout]
    if poll.max_selections > 1 and (result.voters or typed is not None):
        parts.append(t(_T + "multiple_note"))
    if result.spoiled and not poll.anonymous:
        parts.append(_plural(t, "spoiled", result.spoiled))
    winner = _winner(t, poll, result, typed) if ended else None
    if winner is not None:
        parts.append(winner)
    return join(parts)
