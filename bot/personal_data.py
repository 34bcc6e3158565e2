"""One declaration per kind of personal data, and everything driven by the declarations.

Each feature declares the personal data it keeps as :class:`Category` objects in its store module
(``PERSONAL_DATA = (...)``): tables and columns, purpose, legal basis, recipients, retention, and
the functions that export, erase and expire it. :func:`declarations` lists those modules
explicitly — nothing is found by name — and the declarations drive

* ``!meine-daten`` (:func:`collect`), ``!vergessen`` (:func:`erase`),
* the daily retention job (:func:`purge_expired`),
* ``!datenschutz`` (retention per category) and ``impulsbot privacy report``
  (``bot/privacy_report.py``, the record of processing activities, Art. 30 DSGVO).

``tests/test_personal_data.py`` reads ``sqlite_master`` after all migrations: every text column
must be covered by a declaration or be listed in :data:`NOT_PERSONAL` with a reason, so a new
table cannot escape.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from bot.text.i18n import Texts

if TYPE_CHECKING:
    from bot.config import Config
    from bot.store import Store

log = logging.getLogger(__name__)

Link = Literal["direct", "pseudonymous", "anonymous", "none"]
LINK_TEXT: Mapping[str, str] = {
    "direct": "direkt (Matrix-ID)",
    "pseudonymous": "pseudonym (Kennung oder Schlüssel-Hash ohne Namen, nur vorübergehend)",
    "anonymous": "anonym (keiner Person zuordenbar)",
    "none": "kein Personenbezug (Raumebene, technisch)",
}
LEGAL_BASIS_CONSENT = "Art. 6 Abs. 1 lit. a DSGVO (Einwilligung durch aktive Teilnahme)"
LEGAL_BASIS_TASK = "Art. 6 Abs. 1 lit. e DSGVO i. V. m. der Dienstvereinbarung"
TEAM = "Initiativteam (nur Übersichten und pseudonymisierte Exporte)"
NOBODY = "niemand außer dem Betrieb des Bots"


@dataclass(frozen=True)
class Expiry:
    """What the retention job knows when it runs: now, the local zone and the configured days."""

    now: dt.datetime
    tz: dt.tzinfo
    retention_days: int

    def cutoff(self, days: int | None = None) -> dt.datetime:
        return self.now - dt.timedelta(days=self.retention_days if days is None else days)

    def cutoff_ms(self, days: int | None = None) -> int:
        return int(self.cutoff(days).timestamp() * 1000)

    def cutoff_day(self, days: int | None = None) -> str:
        return self.cutoff(days).astimezone(self.tz).date().isoformat()

    @property
    def today(self) -> dt.date:
        return self.now.astimezone(self.tz).date()


Export = Callable[["Store", str], Awaitable[Mapping[str, Any]]]
Erase = Callable[["Store", str], Awaitable[Mapping[str, int]]]
Purge = Callable[["Store", Expiry], Awaitable[int]]


@dataclass(frozen=True)
class Category:
    """One kind of personal data.

    Its name and retention are shown to people, so they live in the locale files
    (``privacy.categories.<name>.title`` / ``.retention``, ``{days}`` = ``privacy.retention_days``);
    purpose, legal basis and recipients are for the record of processing (German).
    ``export``/``erase`` are None only where the data cannot be tied to a person (anonymous,
    room level) or is erased with another category — ``access_note`` then says so.
    """

    name: str
    tables: Mapping[str, tuple[str, ...]]
    purpose: str
    link: Link
    legal_basis: str = LEGAL_BASIS_CONSENT
    recipients: str = TEAM
    export: Export | None = None
    erase: Erase | None = None
    purge: Purge | None = None
    access_note: str = ""
    measures: tuple[str, ...] = field(default_factory=tuple)

    def title(self, texts: Texts) -> str:
        return texts(f"privacy.categories.{self.name}.title").plain

    def retention_text(self, texts: Texts, config: Config, prefix: str = "!") -> str:
        key = f"privacy.categories.{self.name}.retention"
        return texts(key, days=config.privacy.retention_days, prefix=prefix).plain


# Text columns that hold no user ID, room ID, event ID or free text, with the reason.
NOT_PERSONAL: Mapping[str, str] = {
    "schema_migrations.name": "Dateiname einer Migration",
    "schema_migrations.applied_at": "Zeitpunkt",
    "feedback.kind": "feste Art (feedback/reaction/reply/wish)",
    "polls.lang": "Sprachcode",
    "polls.status": "fester Status",
    "polls.final_counts": "Summen je Antwort",
    "polls.final_typed_counts": "Summen je Antwort (per Befehl abgegebene Stimmen)",
    "polls.origin": "feste Herkunft (bot/element/wol)",
    "poll_responses.source": "feste Herkunft (native/text)",
    "poll_anonymous_counts.answer_id": "Antwortnummer",
    "search_log.day": "Datum",
    "search_log.room_category": "grobe, konfigurierte Raumkategorie",
    "search_hits.offering_id": "Katalog-ID eines Angebots",
    "search_hits.day": "Datum",
    "group_people.kind": "feste Art (search/wish)",
    "group_people.day": "Datum",
    "group_sizes.kind": "feste Art (search/wish)",
    "group_sizes.month": "Monat",
    "impulse_subscriptions.schedule": "Zeitplan eines Raums",
    "impulse_subscriptions.pause_until": "Datum",
    "impulse_posts.kind": "feste Art",
    "impulse_posts.impulse_id": "Inhalts-ID eines Impulses",
    "impulse_posts.status": "fester Status",
    "lc_summaries.started_at": "Zeitpunkt",
    "lc_summaries.ended_at": "Zeitpunkt",
    "tandem_rounds.held_at": "Zeitpunkt",
    "wol_seekers.joined_at": "Zeitpunkt",
    "wol_circles.circle_id": "zufällige Kreis-ID",
}

# Technical and organisational measures (Art. 32 DSGVO) that hold for every category.
MEASURES: tuple[str, ...] = (
    "Datenbank und Schlüsseldateien nur für das Betriebskonto lesbar (Dateirechte 0600/0700).",
    "Ende-zu-Ende-Verschlüsselung (Megolm) in verschlüsselten Räumen und Direktchats.",
    "Exporte standardmäßig mit neuen Pseudonymen je Export und nur mit Datum, ohne Uhrzeit.",
    "Matrix-IDs in Exporten nur mit privacy.allow_identified_export und --with-user-ids.",
    "Anonyme Einträge nur im Direktchat; gespeichert ohne Matrix-ID, Raum, Ereignis-ID, Uhrzeit.",
    "Übersichten zeigen eine Gruppe erst ab privacy.min_group verschiedenen Personen.",
    "Fehlermeldungen der Konfiguration zeigen nie den Wert geheimer Felder.",
    "Löschung nach Ablauf der Aufbewahrungsfrist durch einen täglichen Job.",
)


def declarations() -> tuple[Category, ...]:
    """Every declared category, feature by feature (``bot/wiring.py`` lists the features)."""
    from bot.wiring import FEATURES

    found = [category for feature in FEATURES for category in feature.personal_data]
    names = [c.name for c in found]
    if len(names) != len(set(names)):
        raise RuntimeError(f"two personal-data categories share a name: {names}")
    return tuple(found)


def covered_columns() -> set[str]:
    return {f"{t}.{c}" for cat in declarations() for t, cols in cat.tables.items() for c in cols}


async def collect(store: Store, user_id: str) -> dict[str, Any]:
    """Everything stored about one person (``!meine-daten``), category by category."""
    result: dict[str, Any] = {}
    for category in declarations():
        if category.export is not None:
            result.update(await category.export(store, user_id))
    return result


async def erase(store: Store, user_id: str) -> dict[str, int]:
    """Delete everything linked to one person (``!vergessen``) in one transaction."""
    counts: dict[str, int] = {}
    async with store.transaction():
        for category in declarations():
            if category.erase is None:
                continue
            for kind, count in (await category.erase(store, user_id)).items():
                counts[kind] = counts.get(kind, 0) + count
    return counts


async def purge_expired(store: Store, config: Config, now: dt.datetime) -> dict[str, int]:
    """The retention job: every category drops what is older than its retention."""
    expiry = Expiry(now, config.bot.tz, config.privacy.retention_days)
    deleted: dict[str, int] = {}
    for category in declarations():
        if category.purge is None:
            continue
        try:
            count = await category.purge(store, expiry)
        except Exception:  # one category's failure must not keep the others forever
            log.exception("retention of %s failed", category.name)
            continue
        if count:
            deleted[category.name] = count
            log.info("retention: %s – %d entries removed", category.name, count)
    return deleted
