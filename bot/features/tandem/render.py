"""What Kaffee-Tandem says outside command replies: the introduction in a new tandem room, the
round report for the team (counts only) and the usage text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.outcome import Rejected
from bot.text.formats import mention
from bot.text.i18n import Message, Texts, join

if TYPE_CHECKING:
    from bot.features.tandem.pairing import Group
    from bot.features.tandem.starters import ConversationStarter

TEXTS = "austausch.tandem"


def reject(reason: str, **params: Any) -> Rejected:
    return Rejected(TEXTS, reason, params)


def render_introduction(
    group: Sequence[str],
    starter: ConversationStarter,
    common_topics: Sequence[str],
    t: Texts,
    prefix: str = "!",
) -> Message:
    """The message that opens a tandem's direct room."""
    names = join([mention(user) for user in group], separator=", ")
    key = "intro_trio" if len(group) == 3 else "intro_pair"
    parts = [t(f"{TEXTS}.{key}", members=names)]
    if common_topics:
        parts.append(t(f"{TEXTS}.intro_topics", topics=", ".join(common_topics)))
    parts.append(t(f"{TEXTS}.intro_starter", starter=starter.text))
    parts.append(t(f"{TEXTS}.intro_howto", prefix=prefix))
    return join(parts)


def render_round_report(groups: Sequence[Group], waiting: int, t: Texts) -> Message:
    """For the initiative team: counts only, never who met whom."""
    people = sum(len(g) for g in groups)
    return t(f"{TEXTS}.round_report", groups=len(groups), people=people, waiting=waiting)


def render_usage(t: Texts, prefix: str = "!") -> Message:
    return t(f"{TEXTS}.usage", prefix=prefix)
