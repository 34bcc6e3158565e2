"""Search engine behaviour of issue 15 on small hand-made catalogues: fields, compounds kept
together, honest "nothing fits", typos corrected at once in the user's casing, ambiguity asked
back, and filter values that do not depend on UI labels."""

from __future__ import annotations

from typing import Any

import pytest

from bot.features.catalogue.model import Catalogue, Offering
from bot.search import SearchIndex, render_results
from bot.searchkit import vocabulary
from bot.text.i18n import Texts


def offering(id: str, titel: str, **fields: Any) -> Offering:
    values: dict[str, Any] = {
        "anbieter": "Anbieter",
        "typ": "weiterbildung",
        "format": "online",
        "kosten": "kostenlos",
        "beschreibung": "Ein Angebot.",
    }
    values.update(fields)
    return Offering(id=id, titel=titel, **values)


ENTRIES = (
    offering(
        "jugendbeteiligung-standards",
        "Qualitätsstandards für Kinder- und Jugendbeteiligung",
        anbieter="Bundesministerium für Familie, Senioren, Frauen und Jugend",
        themen=("Jugendbeteiligung",),
        beschreibung="Wie Kinder und Jugendliche wirksam mitreden.",
    ),
    offering(
        "bertelsmann-wegweiser",
        "Wegweiser Kommune",
        anbieter="Bertelsmann Stiftung",
        typ="tool",
        themen=("Daten", "Demografie"),
        beschreibung="Daten zur Bevölkerungsentwicklung für jede Kommune.",
    ),
    offering(
        "messe-digital",
        "Fachmesse Digitale Verwaltung",
        typ="veranstaltung",
        themen=("Digitalisierung",),
        beschreibung="Die große Messe mit Ausstellern aus der ganzen Branche.",
    ),
    offering(
        "wirkung-kursbuch",
        "Kursbuch Wirkung",
        typ="publikation",
        themen=("Wirkungsorientierung",),
        beschreibung="Wie Projekte ihre Wirkung planen, messen und verbessern.",
    ),
    offering(
        "rosen-garten",
        "Rosen im Stadtgarten",
        themen=("Grünflächen",),
        beschreibung="Pflege öffentlicher Beete.",
    ),
    offering(
        "rasen-pflege",
        "Rasen im Stadtpark",
        themen=("Grünflächen",),
        beschreibung="Pflege öffentlicher Wiesen.",
    ),
    offering(
        "kollegiale-beratung",
        "Kollegiale Beratung im Team",
        typ="werkzeugkoffer",
        themen=("Kollegiale Beratung",),
        beschreibung="Fälle gemeinsam beraten, in sechs Phasen.",
    ),
    offering(
        "senioren-beteiligung",
        "Beteiligung von Senioren im Quartier",
        themen=("Quartier",),
        beschreibung="Ältere Menschen an der Planung beteiligen.",
    ),
)


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return SearchIndex.build(Catalogue(ENTRIES, ()))


def ids(index: SearchIndex, query: str) -> list[str]:
    result = index.search(query, limit=20)
    return [] if result.nothing_fits else [h.entry.id for h in result.hits]


def test_compound_parts_must_match_together_not_across_fields(index: SearchIndex) -> None:
    # "Senioren" only in a provider name, "Beteiligung" in the title: no match for the compound
    found = ids(index, "Seniorenbeteiligung")
    assert "jugendbeteiligung-standards" not in found
    # "Beteiligung von Senioren" has both parts close together in one field
    assert found == ["senioren-beteiligung"]


def test_provider_counts_only_when_the_query_names_one(index: SearchIndex) -> None:
    assert ids(index, "Bertelsmann") == ["bertelsmann-wegweiser"]
    assert ids(index, "Bertelsmann Daten") == ["bertelsmann-wegweiser"]
    # "Familie" is only in a provider name, but it is no provider's name: no hit via the provider
    assert ids(index, "Senioren") == ["senioren-beteiligung"]


def test_messen_does_not_find_trade_fairs(index: SearchIndex) -> None:
    assert ids(index, "Wirkung messen") == ["wirkung-kursbuch"]
    assert ids(index, "Messe") == ["messe-digital"]
    assert "messe-digital" not in ids(index, "messen")


def test_typo_is_corrected_at_once_in_the_users_casing(index: SearchIndex) -> None:
    result = index.search("Kollegiale Beratun")
    assert result.suggestion == "Kollegiale Beratung"
    assert result.hits[0].entry.id == "kollegiale-beratung"
    text = render_results(result, Texts("de")).plain
    assert text.startswith(
        "Ergebnisse für „Kollegiale Beratung“ (Sie schrieben „Kollegiale Beratun“)"
    )
    assert index.search("kollegiale beratun").suggestion == "kollegiale beratung"


def test_ambiguous_typo_is_asked_back(index: SearchIndex) -> None:
    result = index.search("Rusen")
    assert result.ambiguous[0] == "Rusen"
    assert set(result.ambiguous[1:]) == {"Rasen", "Rosen"}
    assert not result.hits
    text = render_results(result, Texts("de")).plain
    assert "Meinten Sie" in text and "„Rasen“" in text and "„Rosen“" in text


def test_real_word_the_catalogue_lacks_is_not_corrected(index: SearchIndex) -> None:
    result = index.search("Onboarding")  # a real word: no "correction" to something else
    assert result.suggestion is None and result.nothing_fits


def test_type_filter_does_not_read_ui_labels(
    index: SearchIndex, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Rewording a label must not change what typ: accepts: the index never asks the locale.
    def no_labels(*_: object, **__: object) -> str:
        raise AssertionError("search read a UI label")

    monkeypatch.setattr(Texts, "raw", no_labels)
    fresh = SearchIndex.build(Catalogue(ENTRIES, (("Seminar", "Weiterbildung"),)))
    assert {h.entry.id for h in fresh.search("typ:tool").hits} == {"bertelsmann-wegweiser"}
    assert fresh.search("typ:Seminare Wirkung").hits == ()
    assert {h.entry.id for h in fresh.search("typ:Events").hits} == {"messe-digital"}
    assert set(vocabulary.TYPE_NAMES) >= {"tool", "veranstaltung", "weiterbildung"}


def test_one_common_word_never_lists_everything() -> None:
    many = tuple(
        offering(f"e{i}", f"Angebot {i} für neue Teams", beschreibung="Für Mitarbeitende.")
        for i in range(40)
    )
    index = SearchIndex.build(Catalogue(many, ()))
    result = index.search("Onboarding neue Mitarbeitende")
    assert result.nothing_fits
    assert len(result.hits) <= 3
