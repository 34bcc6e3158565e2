"""Lean Coffee by reaction: keycap digits on a topic message give dots, 👍/👎 on the extension
prompt vote, and redacting a reaction undoes exactly what it did."""

from __future__ import annotations

from bot.features.leancoffee.flow import vote_extension, withdraw_extension_vote
from bot.features.leancoffee.model import LeanCoffeeSession, Phase
from bot.features.leancoffee.voting import cast_dots, retract_dots
from bot.outcome import Outcome

_KEYCAP = "\u20e3"
_VARIATION_SELECTOR = "\ufe0f"
_SKIN_TONES = {chr(c) for c in range(0x1F3FB, 0x1F400)}


def dots_for_reaction(key: str) -> int | None:
    """1️⃣ … 9️⃣ → 1 … 9 (also without the variation selector some clients drop)."""
    bare = key.replace(_VARIATION_SELECTOR, "")
    if len(bare) == 2 and bare[1] == _KEYCAP and bare[0] in "123456789":
        return int(bare[0])
    return None


def extension_vote_for_reaction(key: str) -> bool | None:
    """👍 → True, 👎 → False (any skin tone); anything else → None."""
    bare = "".join(ch for ch in key if ch not in _SKIN_TONES and ch != _VARIATION_SELECTOR)
    if bare == "👍":
        return True
    if bare == "👎":
        return False
    return None


def dot_reaction_keys(limit: int) -> list[str]:
    """The keycap reactions worth offering for a dot limit (at most 1️⃣–3️⃣ to keep it light)."""
    return [f"{n}{_VARIATION_SELECTOR}{_KEYCAP}" for n in range(1, min(limit, 3) + 1)]


def on_reaction(
    session: LeanCoffeeSession, user: str, target_event_id: str, key: str, reaction_event_id: str
) -> Outcome | None:
    """Route a reaction. None means: not ours, a replay, or nothing to say."""
    if reaction_event_id in session.reactions:
        return None
    prompt = session.extension_prompt_event_id
    if target_event_id == prompt and target_event_id is not None:
        up = extension_vote_for_reaction(key)
        if up is not None:
            vote_extension(session, user, up, reaction_event_id=reaction_event_id)
        return None
    topic = session.topic_for_event(target_event_id)
    count = dots_for_reaction(key)
    if topic is None or count is None:
        return None
    return cast_dots(session, user, topic.number, count, reaction_event_id=reaction_event_id)


def on_reaction_removed(session: LeanCoffeeSession, reaction_event_id: str) -> Outcome | None:
    """Undo what a (now redacted) reaction did, if it still can be undone."""
    record = session.reactions.pop(reaction_event_id, None)
    if record is None:
        return None
    if record.thumbs_up is not None:
        withdraw_extension_vote(session, record.user, record.thumbs_up)
        return None
    if record.topic_no is None or session.phase is not Phase.VOTING:
        return None
    have = session.dots.get(record.user, {}).get(record.topic_no, 0)
    if have == 0:
        return None  # already taken back by command
    return retract_dots(session, record.user, record.topic_no, min(record.dots, have))


def undo_reaction(
    session: LeanCoffeeSession, reaction_event_id: str, redacted_by: str
) -> tuple[Outcome | None, str, str]:
    """:func:`on_reaction_removed`, plus whom the answer names (the reaction's author) and the
    message it goes under (the topic the dots were on, else the board)."""
    record = session.reactions.get(reaction_event_id)
    reply_to = session.board_event_id or reaction_event_id
    if record is not None and record.topic_no is not None:
        topic = session.topic(record.topic_no)
        reply_to = (topic.event_id if topic else None) or reply_to
    who = record.user if record else redacted_by
    return on_reaction_removed(session, reaction_event_id), who, reply_to
