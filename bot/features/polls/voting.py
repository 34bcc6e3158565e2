"""Casting a typed vote (``!abstimmen``): finding the poll, storing, acknowledging.

Element cannot see typed votes, so the bot never hides them in Element's numbers: it counts
them as a labelled addition (:mod:`bot.features.polls.result`) and acknowledges each one in the
poll's thread, where everyone in Element sees it. Whoever already voted in Element is counted
with that vote, so a typed vote from them is refused with a hint to change it in Element.
Anonymous polls take votes only by direct message and keep no user ID: a keyed hash per poll
and person stops a second vote, and only sums are stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features.polls.lookup import is_member, pseudonym_key, replied_poll
from bot.features.polls.result import element_voters
from bot.features.polls.vote import VoteCommand, VoteInputError, selection_for, text_vote
from bot.privacy import vote_key
from bot.store.polls import PollRecord
from bot.text.i18n import Message

if TYPE_CHECKING:
    from bot.context import Context

_T = "umfrage."


async def find_vote_poll(ctx: Context, command: VoteCommand) -> PollRecord | None:
    """The poll meant, or None after telling the user why there is none."""
    store = ctx.app.store
    number = command.poll_number
    if number is None:
        record = await replied_poll(ctx) or await store.latest_poll(ctx.room_id, open_only=True)
        if record is None:
            # "Already ended" explains more than "no poll" to someone answering the last one.
            latest = await store.latest_poll(ctx.room_id, open_only=False)
            if latest is not None and latest.is_closed:
                await ctx.reply(ctx.text(_T + "err_vote_closed", number=latest.id))
            elif ctx.is_direct:
                await ctx.reply(ctx.text(_T + "err_vote_direct_needs_number"))
            else:
                await ctx.reply(ctx.text(_T + "err_vote_no_open_poll"))
            return None
    else:
        record = await store.get_poll(number)
        # Identified polls only in their own room; anonymous ones by direct message from anywhere.
        visible = record is not None and record.status != "pending"
        if visible and record is not None and not record.poll.anonymous:
            visible = record.room_id == ctx.room_id
        if not visible or record is None:
            await ctx.reply(ctx.text(_T + "err_vote_unknown_poll", number=number))
            return None
    if record.poll.anonymous and not ctx.is_direct:
        await ctx.reply(ctx.text(_T + "err_vote_anonymous_public", number=record.id))
        return None
    # No cut-off at --dauer here: like a native response, a typed vote counts while no end
    # event is out (its timestamp then precedes the end event's, the cut-off for both).
    if record.is_closed:
        await ctx.reply(ctx.text(_T + "err_vote_closed", number=record.id))
        return None
    return record


def _chosen(record: PollRecord, command: VoteCommand) -> str:
    answers = record.poll.answers
    return ", ".join(f"{n}. {answers[n - 1].text}" for n in command.answer_numbers)


async def cast_vote(ctx: Context, command: VoteCommand) -> None:
    """Count one typed vote in the poll it means; every refusal is answered."""
    record = await find_vote_poll(ctx, command)
    if record is None:
        return
    if record.poll.anonymous:
        await _anonymous_vote(ctx, record, command)
        return
    try:
        vote = text_vote(
            record.poll,
            command,
            sender=ctx.sender,
            origin_server_ts=ctx.incoming.timestamp_ms,
            event_id=ctx.incoming.event_id,
        )
    except VoteInputError as exc:
        await ctx.reply(exc.render(ctx.t, ctx.prefix))
        return
    store = ctx.app.store
    if ctx.sender in element_voters(record.poll, await store.poll_votes(record.id)):
        await ctx.reply(ctx.text(_T + "err_vote_in_element", number=record.id))
        return
    await store.add_poll_response(record.id, vote)
    await _acknowledge(ctx, record, command)


async def _acknowledge(ctx: Context, record: PollRecord, command: VoteCommand) -> None:
    """One answer, in the poll's thread so everyone in Element sees the typed vote.

    Clients without threads show it as a reply to the command (``is_falling_back``).
    """
    if command.withdraw:
        message = ctx.text(_T + "typed_withdrawn", user=ctx.sender, number=record.id)
    else:
        message = ctx.text(
            _T + "typed_ack",
            user=ctx.sender,
            number=record.id,
            answers=Message.text(_chosen(record, command)),
        )
    content = ctx.app.message_content(message, notice=True)
    if record.start_event_id is None:
        await ctx.reply(message)
        return
    content["m.relates_to"] = {
        "rel_type": "m.thread",
        "event_id": record.start_event_id,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": ctx.incoming.event_id},
    }
    await ctx.send_event("m.room.message", content)


async def _anonymous_vote(ctx: Context, record: PollRecord, command: VoteCommand) -> None:
    if not await is_member(ctx.app, record.room_id, ctx.sender):
        await ctx.reply(ctx.text(_T + "err_vote_not_member", number=record.id))
        return
    if command.withdraw:
        await ctx.reply(ctx.text(_T + "anon_no_withdraw", number=record.id))
        return
    try:
        answers = selection_for(record.poll, command)
    except VoteInputError as exc:
        await ctx.reply(exc.render(ctx.t, ctx.prefix))
        return
    marker = vote_key(record.id, ctx.sender, pseudonym_key(ctx.app))
    # Receipts are private: only the verified direct chat gets them (the one private path).
    if await ctx.app.store.add_anonymous_vote(record.id, marker, answers):
        await ctx.answer_privately(ctx.text(_T + "anon_vote_recorded", number=record.id))
    else:
        await ctx.answer_privately(ctx.text(_T + "anon_already_voted", number=record.id))
