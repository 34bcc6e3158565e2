"""Kaffee-Tandem topics: one spelling-insensitive key per topic, and what a group shares."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def normalize_topic(topic: str) -> str:
    """'#Bürgerservice' and 'buergerservice' are the same topic."""
    text = topic.casefold().strip().lstrip("#").translate(_UMLAUTS)
    text = unicodedata.normalize("NFKC", text)
    return " ".join(re.sub(r"[^\w\s-]", " ", text).split())


def shared_topics(group: Sequence[str], topics: Mapping[str, Iterable[str]]) -> list[str]:
    """Topics all members of a group chose, in the spelling of the first member."""
    if not group:
        return []
    normalised = [{normalize_topic(x): x for x in topics.get(user, ())} for user in group]
    common = set(normalised[0]).intersection(*normalised[1:])
    return sorted((normalised[0][key] for key in common), key=str.casefold)
