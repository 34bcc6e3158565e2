"""Parsing everything after ``!tandem``: subcommand, topics and pause length."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from bot.features.tandem.render import reject
from bot.features.tandem.topics import normalize_topic
from bot.outcome import Rejected
from bot.text.durations import parse_duration
from bot.text.problems import ParseProblem, shorten

MAX_TOPICS = 10
MAX_TOPIC_LENGTH = 40
PAUSE_RANGE_DAYS = (1, 26 * 7)

_SUBCOMMANDS = {
    "an": "on",
    "ein": "on",
    "on": "on",
    "join": "on",
    "mitmachen": "on",
    "aus": "off",
    "off": "off",
    "abmelden": "off",
    "leave": "off",
    "pause": "pause",
    "pausieren": "pause",
    "status": "status",
    "runde": "round",  # team only: pair now instead of waiting for the scheduled slot
    "round": "round",
    "hilfe": "help",
    "help": "help",
}


@dataclass(frozen=True)
class TandemCommand:
    action: str  # "on", "off", "pause", "status", "round", "help"
    topics: tuple[str, ...] = ()
    pause_days: int = 0


def parse_topics(text: str) -> list[str] | Rejected:
    """Topics are separated by commas if there are any, else by spaces ('KI, Vergabe')."""
    raw = text.split(",") if "," in text else text.split()
    topics: dict[str, str] = {}
    for item in raw:
        topic = " ".join(item.strip().lstrip("#").split())
        if not topic:
            continue
        if len(topic) > MAX_TOPIC_LENGTH:
            return reject("topic_too_long", max=MAX_TOPIC_LENGTH)
        topics.setdefault(normalize_topic(topic), topic)
    if len(topics) > MAX_TOPICS:
        return reject("too_many_topics", max=MAX_TOPICS)
    return list(topics.values())


def parse_pause(text: str) -> int | Rejected:
    """'4w', '4 Wochen', '10d', '10 Tage', '1,5 Wochen' → whole days (a part-day counts as one:
    the pause ends at the start of a day). A bare number means minutes, as everywhere."""
    try:
        duration = parse_duration(text)
    except ParseProblem:
        return reject("pause_invalid", value=shorten(text))
    low, high = PAUSE_RANGE_DAYS
    if not dt.timedelta(days=low) <= duration <= dt.timedelta(days=high):
        return reject("pause_range", max=high // 7)
    return math.ceil(duration / dt.timedelta(days=1))


def parse_command(args: str) -> TandemCommand | Rejected:
    """Parse everything after ``!tandem``."""
    args = args.strip()
    if not args:
        return TandemCommand("help")
    head, _, rest = args.partition(" ")
    action = _SUBCOMMANDS.get(head.casefold())
    if action is None:
        return reject("unknown_subcommand", name=head)
    rest = rest.strip()
    if action == "on":
        topics = parse_topics(rest)
        if isinstance(topics, Rejected):
            return topics
        return TandemCommand("on", topics=tuple(topics))
    if action == "pause":
        if not rest:
            return reject("pause_missing")
        days = parse_pause(rest)
        if isinstance(days, Rejected):
            return days
        return TandemCommand("pause", pause_days=days)
    if rest and action != "help":
        return reject("unexpected_argument", name=head, argument=rest)
    return TandemCommand(action)
