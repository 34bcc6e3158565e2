"""Editorial hints for a catalogue that loads cleanly: what an editor should still look at.

``impulsbot catalogue check`` reports these after the hard problems of :mod:`.model`:
entries without a link, links that only reach a homepage, the same provider and title twice, and
topics used by fewer than :data:`MIN_ENTRIES_PER_TOPIC` entries (too thin to browse or search).
Hints never make a catalogue unusable, so they do not fail the check.
"""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import urlsplit

from bot.features.catalogue.model import CATALOGUE_FILE, Catalogue, Offering
from bot.text.german import fold
from bot.text.i18n import DEFAULT_LANGUAGE, Texts

MIN_ENTRIES_PER_TOPIC = 3
# ids listed in a topic hint; more would make one line unreadable
_IDS_SHOWN = 3


def review(catalogue: Catalogue, lang: str = DEFAULT_LANGUAGE) -> list[str]:
    """All editorial hints, in file order per kind; empty when nothing needs attention."""
    t = Texts(lang)
    entries = list(catalogue.entries)
    hints: list[str] = []
    for number, entry in enumerate(entries, start=1):
        if entry.link is None:
            hints.append(_hint(t, number, entry, "angebot.hint.no_link"))
        elif is_bare_homepage(entry.link) and not entry.startseite_ist_angebot:
            hints.append(_hint(t, number, entry, "angebot.hint.homepage", link=entry.link))
    hints.extend(_duplicates(t, entries))
    hints.extend(_thin_topics(t, entries))
    return hints


def is_bare_homepage(link: str) -> bool:
    """True for "https://example.org" or "https://example.org/": no path, query or fragment."""
    parts = urlsplit(link.strip())
    return parts.path in ("", "/") and not parts.query and not parts.fragment


def _hint(t: Texts, number: int, entry: Offering, key: str, **params: object) -> str:
    where = t("angebot.check.entry_with_id", number=number, id=entry.id).plain
    return f"{CATALOGUE_FILE}, {where}: {t(key, **params).plain}"


def _same(text: str) -> str:
    return " ".join(fold(text).split())


def _duplicates(t: Texts, entries: list[Offering]) -> list[str]:
    first: dict[tuple[str, str], tuple[int, Offering]] = {}
    hints: list[str] = []
    for number, entry in enumerate(entries, start=1):
        key = (_same(entry.anbieter), _same(entry.titel))
        if key in first:
            other_number, other = first[key]
            hints.append(
                _hint(
                    t,
                    number,
                    entry,
                    "angebot.hint.duplicate",
                    anbieter=entry.anbieter,
                    titel=entry.titel,
                    other=other_number,
                    other_id=other.id,
                )
            )
        else:
            first[key] = (number, entry)
    return hints


def _thin_topics(t: Texts, entries: list[Offering]) -> list[str]:
    users: dict[str, list[str]] = defaultdict(list)
    spelling: dict[str, str] = {}  # first spelling seen, shown to the editor
    for entry in entries:
        for topic in entry.themen:
            key = _same(topic)
            spelling.setdefault(key, topic)
            if entry.id not in users[key]:
                users[key].append(entry.id)
    hints: list[str] = []
    for topic in sorted(users):
        ids = users[topic]
        if len(ids) >= MIN_ENTRIES_PER_TOPIC:
            continue
        shown = ", ".join(ids[:_IDS_SHOWN])
        hints.append(
            f"{CATALOGUE_FILE}: "
            + t(
                "angebot.hint.thin_topic_single" if len(ids) == 1 else "angebot.hint.thin_topic",
                topic=spelling[topic],
                count=len(ids),
                ids=shown,
                minimum=MIN_ENTRIES_PER_TOPIC,
            ).plain
        )
    return hints
