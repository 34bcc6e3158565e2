"""What reactions do to a running session: dots (1️⃣2️⃣3️⃣), 👍/👎 on the extension prompt, and
the redaction of either. Reads the event through :mod:`bot.events` and keeps the session stored;
the chat shell sends the answer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.events import reaction, redacted_event
from bot.features.leancoffee.codec import session_to_dict
from bot.features.leancoffee.model import LeanCoffeeSession
from bot.features.leancoffee.reactions import on_reaction, undo_reaction
from bot.features.leancoffee.sessions import load_session, rooms, save_session
from bot.outcome import Outcome

if TYPE_CHECKING:
    from bot.app import Impulsbot


@dataclass(frozen=True)
class ReactionAnswer:
    session: LeanCoffeeSession
    outcome: Outcome
    who: str  # the reaction's author: a reaction has no command to reply to, so it is named
    reply_to: str
    txn_base: str


async def apply_reaction(app: Impulsbot, room_id: str, event: Any) -> ReactionAnswer | None:
    """Apply a reaction or redaction in a room with a session; None when there is nothing to say."""
    if room_id not in rooms(app):
        return None
    found = reaction(event)
    redacted = redacted_event(event) if found is None else None
    if found is None and redacted is None:
        return None
    session = await load_session(app, room_id)
    if session is None or not session.active:
        rooms(app).discard(room_id)
        return None
    before = session_to_dict(session)
    if found is not None:
        outcome = on_reaction(session, event.sender, found.target, found.key, found.event_id)
        who, reply_to, txn_base = event.sender, found.target, found.event_id
    else:
        assert redacted is not None
        outcome, who, reply_to = undo_reaction(session, redacted, event.sender)
        txn_base = event.event_id
    if session_to_dict(session) != before:
        await save_session(app, session)
    return None if outcome is None else ReactionAnswer(session, outcome, who, reply_to, txn_base)
