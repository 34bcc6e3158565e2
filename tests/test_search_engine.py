"""Search engine behaviour of issue 15 on small hand-made catalogues: fields, compounds kept
together, honest "nothing fits", typos corrected at once in the user's casing, ambiguity asked
back, and filter values that do not depend on UI labels."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot.features.catalogue.model import Catalogue
from bot.features.search import SearchIndex, render_results, type_label, vocabulary
from bot.text.i18n import Texts
from tests.test_search import offering

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


def _typed_filter_answers(index: SearchIndex) -> dict[str, tuple[str, ...] | None]:
    """What each typ:/format: value (and the UI label words) answers: ids, or None if refused."""
    values = {
        *(f"typ:{w}" for names in vocabulary.TYPE_NAMES.values() for w in names),
        *(f'format:"{w}"' for names in vocabulary.FORMAT_NAMES.values() for w in names),
        *("typ:Zauberkurs", "typ:Zauberkurse", 'format:"im Zauberraum"'),
    }
    answers: dict[str, tuple[str, ...] | None] = {}
    for value in sorted(values):
        result = index.search(value, limit=50)
        answers[value] = None if result.filter_errors else tuple(h.entry.id for h in result.hits)
    return answers


def test_rewording_ui_labels_changes_no_search(monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 17: rewording a label in bot/text/locales/*/angebot.yaml must not change what typ:
    # and format: accept, nor what a search finds. Here every type and format label is reworded
    # in both languages ("Weiterbildung" → "Zauberkurs") and the index is built afresh.
    from bot.text import i18n

    catalogue = Catalogue(ENTRIES, (("Seminar", "Weiterbildung"),))
    before = _typed_filter_answers(SearchIndex.build(catalogue))
    original = i18n._catalogue

    def reworded(lang: str) -> dict[str, Any]:
        texts = copy.deepcopy(original(lang))
        labels = texts["angebot"]
        for section in ("typ", "typ_plural"):
            labels[section] = {slug: "Zauberkurs" for slug in labels[section]}
        labels["format"] = {slug: "im Zauberraum" for slug in labels["format"]}
        return texts

    monkeypatch.setattr(i18n, "_catalogue", reworded)
    assert type_label("weiterbildung", Texts("de")) == "Zauberkurs"  # the rewording is live
    after = _typed_filter_answers(SearchIndex.build(catalogue))
    assert after == before
    assert after["typ:Zauberkurs"] is None and after['format:"im Zauberraum"'] is None
    assert after["typ:Tool"] == ("bertelsmann-wegweiser",)
    assert after["typ:Events"] == ("messe-digital",)


def test_search_modules_do_not_read_texts() -> None:
    # Only the rendering module may use UI texts; the index, filters and vocabulary never do.
    import ast
    from pathlib import Path

    package = Path(vocabulary.__file__).parent
    for path in package.glob("*.py"):
        if path.name in ("render.py", "__init__.py", "digest.py"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module is not None
        }
        assert "bot.text.i18n" not in imported, path.name


def test_one_common_word_never_lists_everything() -> None:
    many = tuple(
        offering(f"e{i}", f"Angebot {i} für neue Teams", beschreibung="Für Mitarbeitende.")
        for i in range(40)
    )
    index = SearchIndex.build(Catalogue(many, ()))
    result = index.search("Onboarding neue Mitarbeitende")
    assert result.nothing_fits
    assert len(result.hits) <= 3
