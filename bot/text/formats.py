"""Small text formats the exchange features share: a moment in the chat, a user pill."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

from bot.text.i18n import Message, Texts, escape


def format_when(t: Texts, moment: dt.datetime) -> str:
    """Weekday, date and time in the datetime's own zone ('Mo, 13.10.2025, 10:00 Uhr')."""
    weekdays = t.raw("austausch.format.weekdays").split(",")
    return t(
        "austausch.format.when",
        weekday=weekdays[moment.weekday()].strip(),
        date=moment.strftime(t.raw("austausch.format.date")),
        time=moment.strftime(t.raw("austausch.format.time")),
    ).plain


def mention(user_id: str) -> Message:
    """A user pill: a matrix.to link in HTML, the plain id in text."""
    href = "https://matrix.to/#/" + quote(user_id, safe="@:")
    return Message.from_html(user_id, f'<a href="{escape(href)}">{escape(user_id)}</a>')
