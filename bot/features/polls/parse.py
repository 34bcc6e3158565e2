"""Quick polls: parse ``!umfrage``/``!abstimmen``, build MSC3381 events, read, count, render.

Pure logic only; the command handlers and the event callbacks call into this module.

Native polls follow MSC3381 (``proposals/3381-polls.md``) as Element sends and renders them: the
*unstable* event types ``org.matrix.msc3381.poll.*`` with an ``org.matrix.msc1767.text`` fallback.
When reading, the stable form (``m.poll.*``, ``m.poll`` block, ``m.selections``, ``m.text`` as an
array) is accepted as well. Anonymous polls are deliberately *not* native polls, because a native
response always names its sender: they are an ordinary text message, and votes arrive by direct
message (``!abstimmen <poll> <answer>``) and are counted without keeping who voted for what.

Counting rules (MSC3381, "m.poll.response" and "m.poll.end"), all implemented in :func:`tally`:

1. Only a user's most recent response (by ``origin_server_ts``) counts, *even if it is invalid*.
   Equal timestamps: the response given later in the input wins (pass events in timeline order).
2. If any selected id is unknown, the user's vote is spoiled (counts as no vote). Like Element
   (matrix-events-sdk ``validateAgainst``) this checks the whole supplied array, before truncation.
3. The selection is truncated to ``max_selections`` (the first N are kept).
4. An id repeated after truncation counts once.
5. An empty selection withdraws the user's vote.
6. A redacted response is ignored, so the user's previous response counts again.
7. Responses after the poll's end (``origin_server_ts`` > end timestamp) are ignored; responses at
   exactly the end timestamp still count. Responses from before the start event count too.
   The end is the earliest end event from the poll's creator or from someone allowed to redact
   others' events (:func:`effective_end_ts`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from bot.matrix.outgoing import shorten
from bot.text.bounds import POLL_NUMBERS, NotANumber, OutOfRange, bounded_int
from bot.text.i18n import DEFAULT_LANGUAGE, Message, Texts, escape, join

# --- Matrix names ------------------------------------------------------------------------------

POLL_START = "org.matrix.msc3381.poll.start"
POLL_RESPONSE = "org.matrix.msc3381.poll.response"
POLL_END = "org.matrix.msc3381.poll.end"
STABLE_POLL_START = "m.poll.start"
STABLE_POLL_RESPONSE = "m.poll.response"
STABLE_POLL_END = "m.poll.end"
TEXT = "org.matrix.msc1767.text"
STABLE_TEXT = "m.text"
KIND_DISCLOSED = "org.matrix.msc3381.poll.disclosed"
KIND_UNDISCLOSED = "org.matrix.msc3381.poll.undisclosed"

START_TYPES = frozenset({POLL_START, STABLE_POLL_START})
RESPONSE_TYPES = frozenset({POLL_RESPONSE, STABLE_POLL_RESPONSE})
END_TYPES = frozenset({POLL_END, STABLE_POLL_END})

# Every spelling of "disclosed" seen in the wild; the MSC says unknown kinds mean "undisclosed".
_DISCLOSED_KINDS = frozenset({KIND_DISCLOSED, "m.poll.disclosed", "m.disclosed"})
_START_BLOCKS = (POLL_START, "m.poll", STABLE_POLL_START)
_RESPONSE_BLOCKS = (POLL_RESPONSE, STABLE_POLL_RESPONSE)
_TEXT_KEYS = (TEXT, STABLE_TEXT, "org.matrix.msc1767.message", "body")

# --- Limits ------------------------------------------------------------------------------------

MIN_ANSWERS = 2
MAX_POLL_NUMBER = POLL_NUMBERS[1]  # typed numbers beyond this are refused before SQLite sees them
MAX_ANSWERS = 20  # MSC3381 truncates polls to 20 answers
MAX_ANSWER_LENGTH = 240
MAX_QUESTION_LENGTH = 500
MIN_DURATION = timedelta(minutes=1)
MAX_DURATION = timedelta(days=30)
BAR_WIDTH = 10
BAR_FULL = "▓"
BAR_EMPTY = "░"

_T = "umfrage."


# --- Errors ------------------------------------------------------------------------------------


class PollError(ValueError):
    """Bad user input, already worded: ``key`` is a locale text, ``params`` fill it in.

    :meth:`render` adds a correct example, so every error tells the user how to do it right.
    """

    example_key: ClassVar[str] = _T + "example"

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(f"{key} {params}" if params else key)
        self.key = key
        self.params = params

    def render(self, texts: Texts, prefix: str = "!") -> Message:
        # Durations stay timedelta until here so they are worded in the reader's language.
        params = {
            name: format_duration(value, texts.lang) if isinstance(value, timedelta) else value
            for name, value in self.params.items()
        }
        return join(
            [texts(self.key, prefix=prefix, **params), texts(self.example_key, prefix=prefix)]
        )


class PollInputError(PollError):
    """``!umfrage`` could not be understood; nothing must be posted."""


class VoteInputError(PollError):
    """``!abstimmen`` could not be understood or does not fit the poll."""

    example_key: ClassVar[str] = _T + "vote_example"


# --- Models ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PollAnswer:
    id: str
    text: str


@dataclass(frozen=True)
class Poll:
    """A poll as counted and rendered; answer ids are what responses refer to."""

    question: str
    answers: tuple[PollAnswer, ...]
    max_selections: int = 1
    disclosed: bool = True
    anonymous: bool = False

    @property
    def kind(self) -> str:
        return KIND_DISCLOSED if self.disclosed else KIND_UNDISCLOSED

    @property
    def answer_ids(self) -> tuple[str, ...]:
        return tuple(answer.id for answer in self.answers)


def answer_id(position: int) -> str:
    """Stable id of the answer at 1-based ``position``: "a1" … "a20"."""
    return f"a{position}"


@dataclass(frozen=True)
class PollSpec:
    """What ``!umfrage`` asked for, validated."""

    question: str
    answers: tuple[str, ...]
    max_selections: int = 1
    disclosed: bool = True
    anonymous: bool = False
    duration: timedelta | None = None

    @property
    def poll(self) -> Poll:
        answers = tuple(PollAnswer(answer_id(i), text) for i, text in enumerate(self.answers, 1))
        return Poll(self.question, answers, self.max_selections, self.disclosed, self.anonymous)

    def closes_at(self, started: datetime) -> datetime | None:
        return started + self.duration if self.duration is not None else None


@dataclass(frozen=True, slots=True)
class Response:
    """A poll response event as read from the room (before counting)."""

    poll_event_id: str
    answer_ids: tuple[str, ...]
    spoiled: bool = False  # content was malformed: the MSC still lets it replace earlier votes

    def to_vote(
        self, *, sender: str, origin_server_ts: int, event_id: str = "", redacted: bool = False
    ) -> Vote:
        return Vote(sender, origin_server_ts, self.answer_ids, event_id, self.spoiled, redacted)


@dataclass(frozen=True, slots=True)
class PollEnd:
    poll_event_id: str
    text: str = ""


@dataclass(frozen=True, slots=True)
class EndMark:
    """Who sent an end event for a poll, and when."""

    sender: str
    origin_server_ts: int


@dataclass(frozen=True, slots=True)
class Vote:
    """One response of one user, native or typed (``!abstimmen``); ``sender`` may be a pseudonym."""

    sender: str
    origin_server_ts: int
    answer_ids: tuple[str, ...]
    event_id: str = ""
    spoiled: bool = False
    redacted: bool = False
    typed: bool = False  # ``!abstimmen``: counted by the bot, invisible in Element's poll


@dataclass(frozen=True)
class Tally:
    """Counted result: per answer id the number of voters who chose it."""

    counts: Mapping[str, int]
    voters: int  # users whose counted response selects at least one answer
    spoiled: int = 0  # users whose latest response was invalid

    @classmethod
    def from_counts(cls, poll: Poll, counts: Mapping[str, int], voters: int) -> Tally:
        """For anonymous polls, whose store keeps only sums."""
        return cls({a.id: int(counts.get(a.id, 0)) for a in poll.answers}, voters)

    def count(self, answer: str) -> int:
        return self.counts.get(answer, 0)

    def percent(self, answer: str) -> int:
        """Share of *voters* (not of selections): multiple-choice shares may sum to over 100."""
        return _percent(self.count(answer), self.voters)

    def leaders(self) -> tuple[str, ...]:
        top = max(self.counts.values(), default=0)
        return tuple(a for a, n in self.counts.items() if n == top) if top > 0 else ()


@dataclass(frozen=True)
class VoteCommand:
    """``!abstimmen``: ``poll_number`` None means the latest open poll; no answers = withdraw."""

    poll_number: int | None
    answer_numbers: tuple[int, ...] = field(default=())

    @property
    def withdraw(self) -> bool:
        return not self.answer_numbers


# --- Duration ----------------------------------------------------------------------------------

_UNIT_SECONDS = {
    **dict.fromkeys(("m", "min", "mins", "minute", "minuten", "minutes"), 60),
    **dict.fromkeys(("h", "std", "stunde", "stunden", "hour", "hours", "hr", "hrs"), 3600),
    **dict.fromkeys(("d", "t", "tag", "tage", "tagen", "day", "days"), 86400),
    **dict.fromkeys(("w", "wo", "woche", "wochen", "week", "weeks"), 604800),
}
_DURATION_PART = re.compile(r"(\d+(?:[.,]\d+)?)\s*([^\W\d_]+)\.?")
_DURATION_WHOLE = re.compile(r"(?:\s*\d+(?:[.,]\d+)?\s*[^\W\d_]+\.?)+\s*")


def parse_duration(text: str) -> timedelta:
    """'30m', '2h', '1d', '30 min', '2 Std.', '1,5 Stunden', '1h30m', '2 Wochen' → timedelta.

    A bare number has no unit and is rejected rather than guessed.
    """
    cleaned = text.strip().casefold()
    if not cleaned or not _DURATION_WHOLE.fullmatch(cleaned):
        raise PollInputError(_T + "err_bad_duration", value=shorten(text.strip()))
    seconds = 0.0
    for amount, unit in _DURATION_PART.findall(cleaned):
        if unit not in _UNIT_SECONDS:
            raise PollInputError(_T + "err_bad_duration", value=shorten(text.strip()))
        seconds += float(amount.replace(",", ".")) * _UNIT_SECONDS[unit]
    try:
        return timedelta(seconds=round(seconds))
    except OverflowError:  # "999999999999d": no timedelta, but still just bad input
        raise PollInputError(_T + "err_bad_duration", value=shorten(text.strip())) from None


def format_duration(duration: timedelta, lang: str = DEFAULT_LANGUAGE) -> str:
    """timedelta → '2 Tage 3 Stunden' (whole minutes; seconds are dropped)."""
    t = Texts(lang)
    minutes_total = int(duration.total_seconds()) // 60
    days, rest = divmod(minutes_total, 1440)
    hours, minutes = divmod(rest, 60)
    parts = [
        _plural(t, "unit_day", days).plain if days else "",
        _plural(t, "unit_hour", hours).plain if hours else "",
        _plural(t, "unit_minute", minutes).plain if minutes or not (days or hours) else "",
    ]
    return " ".join(p for p in parts if p)


# --- !umfrage ----------------------------------------------------------------------------------

_OPENING_QUOTES = '"„“'
_CLOSING_QUOTES = '"“”'
_WRAPPING_QUOTES = (('"', '"'), ("„", "“"), ("“", "”"))
# "--name" or "--name=value"; phones often turn "--" into an en/em dash, so accept those too.
_OPTION = re.compile(r"^(?P<dash>--|[–—])(?P<name>[^\W\d_][\w-]*)(?:=(?P<value>.*))?$", re.S)
_OPTION_NAMES = {
    **dict.fromkeys(("mehrfach", "multiple", "multi"), "multiple"),
    **dict.fromkeys(("verdeckt", "hidden", "undisclosed"), "undisclosed"),
    **dict.fromkeys(("anonym", "anonymous"), "anonymous"),
    **dict.fromkeys(("dauer", "duration"), "duration"),
}
_DIGITS = re.compile(r"\d+")


@dataclass
class _Options:
    """Collects ``--options`` wherever they appear and removes them from the text."""

    seen: set[str] = field(default_factory=set)
    multiple: bool = False
    max_selections: int | None = None  # None with multiple=True: all answers
    undisclosed: bool = False
    anonymous: bool = False
    duration: timedelta | None = None

    def strip_from(self, segment: str) -> str:
        tokens = segment.split()
        kept: list[str] = []
        index = 0
        while index < len(tokens):
            token = tokens[index]
            match = _OPTION.match(token)
            name = _OPTION_NAMES.get(match["name"].casefold()) if match else None
            if match is None or (name is None and match["dash"] != "--"):
                kept.append(token)  # a dash followed by a word is only an option if we know it
                index += 1
                continue
            if name is None:
                raise PollInputError(_T + "err_unknown_option", option=token)
            index = self._apply(name, token, match["value"], tokens, index + 1)
        return " ".join(kept)

    def _apply(self, name: str, token: str, value: str | None, tokens: list[str], nxt: int) -> int:
        """Apply one option; returns the index of the next unread token."""
        if name in self.seen:
            raise PollInputError(_T + "err_duplicate_option", option=token.split("=", 1)[0])
        self.seen.add(name)
        if name == "multiple":
            self.multiple = True
            if value is None and nxt < len(tokens) and _DIGITS.fullmatch(tokens[nxt]):
                value, nxt = tokens[nxt], nxt + 1
            if value is not None:
                try:  # 0 or more than the poll's answers: err_selections_range, below
                    self.max_selections = bounded_int(value, 0, MAX_ANSWERS + 1)
                except NotANumber:
                    raise PollInputError(_T + "err_bad_selections", value=value) from None
                except OutOfRange as exc:
                    params = {**exc.params(), "low": 1, "high": MAX_ANSWERS}
                    raise PollInputError("limits.selections_range", **params) from None
        elif name == "duration":
            if value is None:
                value, nxt = _duration_tokens(tokens, nxt)
            if not value:
                raise PollInputError(_T + "err_missing_duration")
            self.duration = parse_duration(value)
        elif value is not None:
            raise PollInputError(_T + "err_option_value", option=token.split("=", 1)[0])
        elif name == "undisclosed":
            self.undisclosed = True
        else:
            self.anonymous = True
        return nxt


def _duration_tokens(tokens: list[str], nxt: int) -> tuple[str, int]:
    """The value after ``--dauer``: one token, or two for '2 Std'."""
    if nxt >= len(tokens) or _OPTION.match(tokens[nxt]):
        return "", nxt
    if _DIGITS.fullmatch(tokens[nxt]) and nxt + 1 < len(tokens):
        unit = tokens[nxt + 1].casefold().rstrip(".")
        if unit in _UNIT_SECONDS:
            return f"{tokens[nxt]} {tokens[nxt + 1]}", nxt + 2
    return tokens[nxt], nxt + 1


def _unwrap_quotes(text: str) -> str:
    for opening, closing in _WRAPPING_QUOTES:
        if len(text) >= 2 and text.startswith(opening) and text.endswith(closing):
            return " ".join(text[1:-1].split())
    return text


def _pipe_items(text: str, options: _Options) -> list[str]:
    """``Frage | A | B``: the first segment is the question even if empty."""
    segments = [_unwrap_quotes(options.strip_from(s)) for s in text.split("|")]
    return [segments[0], *(s for s in segments[1:] if s)]


def _quoted_items(text: str, options: _Options) -> list[str]:
    """``"Frage?" "A" "B"`` (also „…“ and “…”); unquoted text between quotes is an item too."""
    items: list[str] = []
    run: list[str] = []
    index = 0

    def flush() -> None:
        unquoted = options.strip_from("".join(run))
        if unquoted:
            items.append(unquoted)
        run.clear()

    while index < len(text):
        char = text[index]
        if char not in _OPENING_QUOTES:
            run.append(char)
            index += 1
            continue
        flush()
        end = next((j for j in range(index + 1, len(text)) if text[j] in _CLOSING_QUOTES), -1)
        if end < 0:
            raise PollInputError(_T + "err_unclosed_quote")
        items.append(" ".join(text[index + 1 : end].split()))
        index = end + 1
    flush()
    return [items[0], *(i for i in items[1:] if i)] if items else []


def _line_items(text: str, options: _Options) -> list[str]:
    """One line for the question, one line per answer."""
    return [line for line in (options.strip_from(raw) for raw in text.splitlines()) if line]


def _normalised(answer: str) -> str:
    return " ".join(answer.split()).casefold()


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def parse_poll_command(args: str) -> PollSpec:
    """Parse the arguments of ``!umfrage`` (everything after the command word).

    Forms: ``Frage | A | B``, ``"Frage" "A" "B"`` (also „…“/“…”), or one item per line.
    Options anywhere: ``--mehrfach[=N]``, ``--verdeckt``, ``--anonym``, ``--dauer 30m``.
    Raises :class:`PollInputError` for anything that must not be posted.
    """
    text = args.strip()
    options = _Options()
    pipe_form = "|" in text
    if pipe_form:
        items = _pipe_items(text, options)
    elif any(quote in text for quote in _OPENING_QUOTES):
        items = _quoted_items(text, options)
    else:
        items = _line_items(text, options)
    if not pipe_form and len(items) < 2:
        # Only a question (or nothing): explain the format rather than count answers.
        raise PollInputError(_T + "err_no_answers")
    question, answers = items[0], tuple(items[1:])
    _check_question(question)
    _check_answers(answers)
    return PollSpec(
        question=question,
        answers=answers,
        max_selections=_max_selections(options, len(answers)),
        disclosed=not options.undisclosed,
        anonymous=options.anonymous,
        duration=_checked_duration(options.duration),
    )


def _check_question(question: str) -> None:
    if not question:
        raise PollInputError(_T + "err_empty_question")
    if len(question) > MAX_QUESTION_LENGTH:
        raise PollInputError(
            _T + "err_question_too_long", length=len(question), max=MAX_QUESTION_LENGTH
        )


def _check_answers(answers: tuple[str, ...]) -> None:
    if len(answers) < MIN_ANSWERS:
        raise PollInputError(_T + "err_too_few_answers", count=len(answers), min=MIN_ANSWERS)
    if len(answers) > MAX_ANSWERS:
        raise PollInputError(_T + "err_too_many_answers", count=len(answers), max=MAX_ANSWERS)
    seen: dict[str, int] = {}
    for number, answer in enumerate(answers, 1):
        if len(answer) > MAX_ANSWER_LENGTH:
            raise PollInputError(
                _T + "err_answer_too_long",
                number=number,
                answer=_shorten(answer),
                length=len(answer),
                max=MAX_ANSWER_LENGTH,
            )
        key = _normalised(answer)
        if key in seen:
            raise PollInputError(
                _T + "err_duplicate_answer", answer=answer, first=seen[key], second=number
            )
        seen[key] = number


def _max_selections(options: _Options, answer_count: int) -> int:
    if not options.multiple:
        return 1
    if options.max_selections is None:
        return answer_count
    if not 1 <= options.max_selections <= answer_count:
        raise PollInputError(
            _T + "err_selections_range", value=options.max_selections, max=answer_count
        )
    return options.max_selections


def _checked_duration(duration: timedelta | None) -> timedelta | None:
    if duration is not None and not MIN_DURATION <= duration <= MAX_DURATION:
        raise PollInputError(
            _T + "err_duration_range", value=duration, min=MIN_DURATION, max=MAX_DURATION
        )
    return duration


# --- !abstimmen --------------------------------------------------------------------------------

_WITHDRAW_WORDS = frozenset({"zurückziehen", "zurück", "withdraw"})
_POLL_NUMBER = re.compile(r"(?:nr\.?|#)?(\d+)", re.I)


def parse_vote_command(args: str) -> VoteCommand:
    """Parse the arguments of ``!abstimmen``.

    ``2`` or ``1,3``: answers in the latest open poll. ``4 2`` or ``4 1,3``: poll 4 (also ``#4``),
    answers 2 or 1 and 3. ``zurückziehen`` / ``4 zurückziehen``: withdraw the vote. Two bare
    numbers always mean poll + answer; several answers are joined by commas, never by spaces.
    """
    tokens = re.sub(r"\s*,\s*", ",", args.strip()).split()
    if not tokens or len(tokens) > 2:
        raise VoteInputError(_T + "err_vote_syntax")
    poll_number = _parse_poll_number(tokens[0]) if len(tokens) == 2 else None
    return VoteCommand(poll_number, _parse_answer_numbers(tokens[-1]))


def _parse_poll_number(token: str) -> int:
    match = _POLL_NUMBER.fullmatch(token)
    try:
        if match is None or not match[1].strip("0"):
            raise NotANumber(token)
        return bounded_int(match[1], *POLL_NUMBERS)
    except NotANumber:
        raise VoteInputError(_T + "err_vote_poll_number", value=shorten(token)) from None
    except OutOfRange as exc:
        raise VoteInputError("limits.poll_number_range", **exc.params()) from None


def _parse_answer_numbers(token: str) -> tuple[int, ...]:
    if token.casefold() in _WITHDRAW_WORDS:
        return ()
    pieces = [p for p in token.split(",") if p]
    if not pieces:
        raise VoteInputError(_T + "err_vote_syntax")
    numbers = []
    for piece in pieces:
        try:
            numbers.append(bounded_int(piece, 1, MAX_ANSWERS))
        except NotANumber:
            raise VoteInputError(_T + "err_vote_not_number", value=shorten(piece)) from None
        except OutOfRange as exc:
            raise VoteInputError("limits.answer_number_range", **exc.params()) from None
    return tuple(dict.fromkeys(numbers))  # "1,1" is one vote for 1


def selection_for(poll: Poll, command: VoteCommand) -> tuple[str, ...]:
    """Answer ids for a typed vote; unlike native responses, too many answers is an error."""
    count = len(poll.answers)
    for number in command.answer_numbers:
        if not 1 <= number <= count:
            raise VoteInputError(_T + "err_vote_range", number=number, count=count)
    if len(command.answer_numbers) > poll.max_selections:
        raise VoteInputError(
            _T + "err_vote_too_many", count=len(command.answer_numbers), max=poll.max_selections
        )
    return tuple(poll.answers[n - 1].id for n in command.answer_numbers)


def text_vote(
    poll: Poll, command: VoteCommand, *, sender: str, origin_server_ts: int, event_id: str = ""
) -> Vote:
    """A typed vote as a :class:`Vote`, so it is counted together with native responses."""
    return Vote(sender, origin_server_ts, selection_for(poll, command), event_id, typed=True)


# --- Counting ----------------------------------------------------------------------------------


def latest_votes(responses: Iterable[Vote], end_ts: int | None = None) -> dict[str, Vote]:
    """Each sender's most recent unredacted response up to the end (rules 1, 6, 7)."""
    latest: dict[str, Vote] = {}
    for vote in responses:
        if vote.redacted or (end_ts is not None and vote.origin_server_ts > end_ts):
            continue
        current = latest.get(vote.sender)
        # ">=": on equal timestamps the response given later wins.
        if current is None or vote.origin_server_ts >= current.origin_server_ts:
            latest[vote.sender] = vote
    return latest


def effective_selection(
    poll: Poll, vote: Vote, valid_ids: frozenset[str] | None = None
) -> tuple[str, ...] | None:
    """The answers a vote counts for; None if spoiled, () if withdrawn (rules 2–5)."""
    ids = valid_ids if valid_ids is not None else frozenset(poll.answer_ids)
    if vote.spoiled or any(a not in ids for a in vote.answer_ids):
        return None
    return tuple(dict.fromkeys(vote.answer_ids[: poll.max_selections]))


def tally(poll: Poll, responses: Iterable[Vote], *, end_ts: int | None = None) -> Tally:
    """Count responses by the MSC3381 rules listed in the module docstring."""
    valid_ids = frozenset(poll.answer_ids)
    counts = dict.fromkeys(poll.answer_ids, 0)
    voters = spoiled = 0
    for vote in latest_votes(responses, end_ts).values():
        selection = effective_selection(poll, vote, valid_ids)
        if selection is None:
            spoiled += 1
        elif selection:
            voters += 1
            for answer in selection:
                counts[answer] += 1
    return Tally(counts, voters, spoiled)


def effective_end_ts(
    ends: Iterable[EndMark], *, creator: str, may_redact: Callable[[str], bool]
) -> int | None:
    """When the poll closed: the first end event by the creator or by someone who may redact
    others' events; end events from anyone else are invalid and ignored."""
    valid = (e.origin_server_ts for e in ends if e.sender == creator or may_redact(e.sender))
    return min(valid, default=None)


# --- Reading events ----------------------------------------------------------------------------


def _text_of(value: Any) -> str | None:
    """Text from an MSC1767 text block: a string (unstable) or [{body, mimetype}] (stable)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        return None
    bodies = [r for r in value if isinstance(r, dict) and isinstance(r.get("body"), str)]
    plain = [r for r in bodies if r.get("mimetype", "text/plain") == "text/plain"]
    chosen = plain or bodies
    return chosen[0]["body"] if chosen else None


def _content_text(content: Any) -> str | None:
    if not isinstance(content, dict):
        return None
    for key in _TEXT_KEYS:
        text = _text_of(content.get(key))
        if text is not None:
            return text
    return None


def _reference(content: dict[str, Any]) -> str | None:
    relation = content.get("m.relates_to")
    if not isinstance(relation, dict) or relation.get("rel_type") != "m.reference":
        return None
    event_id = relation.get("event_id")
    return event_id if isinstance(event_id, str) and event_id else None


def _first_block(content: dict[str, Any], keys: Iterable[str]) -> dict[str, Any] | None:
    for key in keys:
        block = content.get(key)
        if isinstance(block, dict):
            return block
    return None


def parse_start(event_type: str, content: Any) -> Poll | None:
    """A poll start event (unstable or stable form) → Poll; None if it is not a usable poll."""
    if event_type not in START_TYPES or not isinstance(content, dict):
        return None
    block = _first_block(content, _START_BLOCKS)
    if block is None:
        return None
    question = _content_text(block.get("question"))
    raw_answers = block.get("answers")
    if question is None or not isinstance(raw_answers, list):
        return None
    answers: dict[str, PollAnswer] = {}
    for raw in raw_answers[:MAX_ANSWERS]:
        answer = _parse_answer(raw)
        if answer is None:
            return None  # like Element: one broken answer makes the poll unusable
        answers.setdefault(answer.id, answer)
    if not answers:
        return None
    max_selections = block.get("max_selections")
    valid_max = isinstance(max_selections, int) and not isinstance(max_selections, bool)
    return Poll(
        question=question,
        answers=tuple(answers.values()),
        max_selections=max_selections if valid_max and max_selections > 0 else 1,
        disclosed=isinstance(block.get("kind"), str) and block["kind"] in _DISCLOSED_KINDS,
    )


def _parse_answer(raw: Any) -> PollAnswer | None:
    if not isinstance(raw, dict):
        return None
    ident = raw.get("id", raw.get("m.id"))
    text = _content_text(raw)
    if not isinstance(ident, str) or not ident or text is None:
        return None
    return PollAnswer(ident, text)


def parse_response(event_type: str, content: Any) -> Response | None:
    """A poll response event → Response; None if it is no response to a poll at all.

    A response that references a poll but carries unusable selections is returned as spoiled:
    by the MSC the latest response counts "even if that event is invalid".
    """
    if event_type not in RESPONSE_TYPES or not isinstance(content, dict):
        return None
    poll_event_id = _reference(content)
    if poll_event_id is None:
        return None
    selections = _raw_selections(content)
    if not isinstance(selections, list) or not all(isinstance(s, str) for s in selections):
        return Response(poll_event_id, (), spoiled=True)
    return Response(poll_event_id, tuple(selections))


def _raw_selections(content: dict[str, Any]) -> Any:
    block = _first_block(content, _RESPONSE_BLOCKS)
    if block is not None:
        return block.get("answers")
    return content.get("m.selections")


def parse_end(event_type: str, content: Any) -> PollEnd | None:
    """A poll end event → PollEnd; None if malformed (who may end polls: effective_end_ts)."""
    if event_type not in END_TYPES or not isinstance(content, dict):
        return None
    poll_event_id = _reference(content)
    if poll_event_id is None:
        return None
    return PollEnd(poll_event_id, _content_text(content) or "")


# --- Building events ---------------------------------------------------------------------------


def _plural(t: Texts, key: str, n: int, **params: Any) -> Message:
    return t(f"{_T}{key}_{'one' if n == 1 else 'other'}", n=n, **params)


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
    """Content of an ``org.matrix.msc3381.poll.start`` event (what Element sends, plus ``body``).

    ``body`` repeats the fallback: harmless for poll-aware clients (they read the poll block)
    and used by notifications and tools that only know ``body``. Empty ``m.mentions`` keeps an
    "@room" in a question from pinging everyone.
    """
    fallback = start_fallback(poll, prefix=prefix, number=number, closes_at=closes_at, lang=lang)
    return {
        TEXT: fallback.plain,
        "body": fallback.plain,
        "m.mentions": {},
        POLL_START: {
            "kind": poll.kind,
            "max_selections": poll.max_selections,
            "question": {TEXT: poll.question},
            "answers": [{"id": a.id, TEXT: a.text} for a in poll.answers],
        },
    }


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


def build_anonymous_content(
    poll: Poll,
    *,
    number: int,
    prefix: str = "!",
    min_group: int = 5,
    closes_at: datetime | None = None,
    lang: str = DEFAULT_LANGUAGE,
) -> dict[str, Any]:
    """Content of the ``m.room.message`` that announces an anonymous poll (not a native poll)."""
    return message_content(
        anonymous_announcement(
            poll, number=number, prefix=prefix, min_group=min_group, closes_at=closes_at, lang=lang
        )
    )


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
    summary = join(lines)
    return {
        "m.relates_to": {"rel_type": "m.reference", "event_id": start_event_id},
        POLL_END: {},
        TEXT: summary.plain,
        "body": summary.plain,
        "m.mentions": {},
    }


# --- Rendering results -------------------------------------------------------------------------


def _percent(part: int, whole: int) -> int:
    """Rounded half up, as people expect (Python's round() would give 2 for 2.5)."""
    return (200 * part + whole) // (2 * whole) if whole > 0 else 0


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
        percent=_percent(total, member_count),
    )


def _combined(result: Tally, typed: Tally | None) -> Tally:
    if typed is None:
        return result
    counts = {a: n + typed.count(a) for a, n in result.counts.items()}
    return Tally(counts, result.voters + typed.voters, result.spoiled)


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
