"""Searching the catalogue: matching, ranking, typo fallback, filters, paging and rendering."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.features.catalogue.model import Catalogue, Offering
from bot.features.search import (
    SearchIndex,
    audience_label,
    overview,
    parse_query,
    render_details,
    render_filter_errors,
    render_overview,
    render_results,
    render_unknown_id,
)
from bot.store.search_index import fts5_available
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
        "beteiligung-basics",
        "Beteiligung in der Kommune",
        themen=("Beteiligung",),
        zielgruppen=("kommunalpolitik",),
        beschreibung="Grundlagen guter Beteiligung vor Ort.",
    ),
    offering(
        "verfahren-leitfaden",
        "Leitfaden Bürgerbeteiligungsverfahren",
        typ="publikation",
        format="selbstlern",
        themen=("Bürgerbeteiligung",),
        zielgruppen=("verwaltung",),
        beschreibung="Wie Kommunen Verfahren planen.",
        link="https://example.org/leitfaden",
    ),
    offering(
        "jhp-einstieg",
        "Einstieg in die Jugendhilfeplanung",
        themen=("Jugendhilfeplanung",),
        zielgruppen=("fachkraefte",),
        kosten="120 €",
        format="praesenz",
        beschreibung="Aufgaben nach SGB VIII.",
    ),
    offering(
        "ki-verwaltung",
        "Künstliche Intelligenz im Verwaltungsalltag",
        themen=("Künstliche Intelligenz", "Digitalisierung"),
        zielgruppen=("fuehrungskraefte",),
        format="hybrid",
        beschreibung="Chancen und Grenzen von Sprachmodellen.",
    ),
    offering(
        "ki-werkzeuge",
        "Werkzeugkoffer KI-Anwendungen",
        typ="werkzeugkoffer",
        format="selbstlern",
        themen=("KI",),
        zielgruppen=("fachkraefte",),
        beschreibung="Vorlagen für den Einsatz von Chatbots.",
    ),
    offering(
        "partizipation-netz",
        "Netzwerk Partizipation",
        typ="netzwerk",
        themen=("Partizipation", "Jugend"),
        zielgruppen=("fachkraefte",),
        kosten="Mitgliedsbeitrag",
        beschreibung="Austausch zu Kinder- und Jugendbeteiligung.",
    ),
    offering(
        "datenschutz-kurs",
        "Datenschutz kompakt",
        themen=("Datenschutz",),
        zielgruppen=("fuehrungskraefte", "fachkraefte"),
        beschreibung="DSGVO im Alltag der Verwaltung, mit Hinweisen zur Rolle des Personalrats "
        "und seiner Beteiligung.",
    ),
    offering(
        "arbeitshilfe-sitzungen",
        "Arbeitshilfe Sitzungsvorlagen",
        typ="publikation",
        format="selbstlern",
        themen=("Gremienarbeit",),
        beschreibung="Muster für Vorlagen, Protokolle und die Moderation von Sitzungen.",
    ),
    offering(
        "moderation",
        "Moderation von Workshops",
        typ="veranstaltung",
        format="praesenz",
        themen=("Moderation",),
        zielgruppen=("fachkraefte",),
        kosten="80 €",
        beschreibung="Methoden für lebendige Sitzungen.",
    ),
)
SYNONYMS = (
    ("Partizipation", "Beteiligung", "Mitwirkung"),
    ("JHP", "Jugendhilfeplanung"),
    ("KI", "künstliche Intelligenz"),
    ("Weiterbildung", "Schulung", "Seminar"),
)


@pytest.fixture(scope="module")
def index() -> SearchIndex:
    return SearchIndex.build(Catalogue(ENTRIES, SYNONYMS))


def ids(index: SearchIndex, query: str, limit: int = 20) -> list[str]:
    return [hit.entry.id for hit in index.search(query, limit=limit).hits]


def test_sqlite_has_fts5() -> None:
    assert fts5_available()


# --- matching and ranking ---


def test_title_match_ranks_above_description_match(index: SearchIndex) -> None:
    # alphabetical order would put "Arbeitshilfe …" (Moderation only in its description) first
    assert ids(index, "Moderation") == ["moderation", "arbeitshilfe-sitzungen"]
    found = ids(index, "Beteiligung")
    assert found[0] == "beteiligung-basics"
    assert found.index("verfahren-leitfaden") < found.index("datenschutz-kurs")


def test_typed_word_ranks_above_its_synonym(index: SearchIndex) -> None:
    # "Partizipation" is rarer than "Beteiligung" yet must not push the typed word down
    found = ids(index, "Beteiligung")
    assert found.index("partizipation-netz") > found.index("verfahren-leitfaden")
    assert ids(index, "Partizipation")[0] == "partizipation-netz"


def test_part_of_a_compound_finds_the_compound(index: SearchIndex) -> None:
    assert "verfahren-leitfaden" in ids(index, "Beteiligung")  # Bürgerbeteiligungsverfahren
    # Jugendhilfeplanung first; "Verfahren planen" is the same word family
    assert ids(index, "Planung")[0] == "jhp-einstieg"
    assert "partizipation-netz" in ids(index, "Jugendbeteiligung")


def test_compound_query_finds_its_parts_written_apart(index: SearchIndex) -> None:
    assert ids(index, "Bürgerbeteiligung")[0] == "verfahren-leitfaden"
    assert "beteiligung-basics" in ids(index, "Kommunenbeteiligung")


def test_case_umlauts_and_inflection_do_not_matter(index: SearchIndex) -> None:
    reference = ids(index, "Führungskräfte")
    assert reference  # found via the target group
    assert ids(index, "FUEHRUNGSKRAEFTE") == reference
    assert ids(index, "führungskraft") == reference
    assert ids(index, "Beteiligungen") == ids(index, "beteiligung")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Partizipation", {"beteiligung-basics", "verfahren-leitfaden", "partizipation-netz"}),
        ("Mitwirkung", {"beteiligung-basics", "partizipation-netz"}),
        ("JHP", {"jhp-einstieg"}),
        ("KI", {"ki-verwaltung", "ki-werkzeuge"}),
        ("künstliche Intelligenz", {"ki-verwaltung", "ki-werkzeuge"}),
    ],
)
def test_synonyms_widen_the_query(index: SearchIndex, query: str, expected: set[str]) -> None:
    assert expected <= set(ids(index, query))


def test_all_words_must_match(index: SearchIndex) -> None:
    result = index.search("Beteiligung Kommune")
    assert not result.relaxed
    assert {h.entry.id for h in result.hits} <= {"beteiligung-basics", "verfahren-leitfaden"}
    assert result.hits[0].entry.id == "beteiligung-basics"


def test_when_no_entry_matches_all_words_most_of_the_query_suffices(index: SearchIndex) -> None:
    # No entry has both; each covers enough of the query to be listed, the one with the rarer
    # word first, because that word carries more of the query.
    result = index.search("Datenschutz Moderation")
    assert result.relaxed and not result.nothing_fits
    assert [h.entry.id for h in result.hits] == ["datenschutz-kurs", "moderation"]
    assert result.hits[0].score > result.hits[1].score


def test_one_common_word_is_not_enough_nothing_fits(index: SearchIndex) -> None:
    # "Fachkräfte" is in most entries, "Onboarding" in none: no result list, at most three
    # distantly related offerings.
    result = index.search("Onboarding Fachkräfte")
    assert result.nothing_fits and result.relaxed
    assert 0 < len(result.hits) <= 3 and result.total <= 3
    assert not index.search("Onboarding Fachkräfte", offset=3).hits


def test_filler_words_of_a_question_are_ignored(index: SearchIndex) -> None:
    assert ids(index, "Gibt es Angebote zur Moderation?") == ids(index, "Moderation")


def test_terms_are_the_normalised_stems(index: SearchIndex) -> None:
    assert index.search("Die Beteiligungen der Jugendlichen").terms == ("beteil", "jugend")


def test_scores_are_positive_and_descending(index: SearchIndex) -> None:
    scores = [hit.score for hit in index.search("Beteiligung", limit=20).hits]
    assert all(s > 0 for s in scores)
    assert scores == sorted(scores, reverse=True)


# --- typo tolerance ---


def test_typo_is_corrected_with_a_suggestion(index: SearchIndex) -> None:
    result = index.search("Beteilgung")
    assert result.suggestion == "Beteiligung"
    assert [h.entry.id for h in result.hits] == ids(index, "Beteiligung")[:5]


def test_suggestion_keeps_the_rest_of_the_query(index: SearchIndex) -> None:
    result = index.search("Datenshcutz kostenlos")
    assert result.suggestion == "Datenschutz kostenlos"
    assert [h.entry.id for h in result.hits] == ["datenschutz-kurs"]


def test_suggestion_is_spelled_as_in_the_prose_not_as_a_slug() -> None:
    slugs = [
        offering(f"e{i}", f"Titel {i}", themen=("digitalisierung",), beschreibung="Text.")
        for i in range(3)
    ]
    entries = (*slugs, offering("d", "Digitalisierung vor Ort"))
    index = SearchIndex.build(Catalogue(entries))
    assert index.search("Digitalisirung").suggestion == "Digitalisierung"


def test_no_suggestion_when_the_query_matches(index: SearchIndex) -> None:
    assert index.search("Moderation").suggestion is None


def test_nonsense_gives_no_hits_and_no_suggestion(index: SearchIndex) -> None:
    result = index.search("Xylophonquartett")
    assert result.hits == () and result.total == 0 and result.suggestion is None
    assert result.terms  # still reported, for the search-gap log


# --- filters ---


def test_type_filter_combines_with_text(index: SearchIndex) -> None:
    assert ids(index, "KI typ:werkzeugkoffer") == ["ki-werkzeuge"]
    assert ids(index, "KI typ:Werkzeugkoffer") == ["ki-werkzeuge"]


def test_filters_alone_list_matching_entries_alphabetically(index: SearchIndex) -> None:
    result = index.search("format:selbstlern")
    assert [h.entry.id for h in result.hits] == [
        "arbeitshilfe-sitzungen",
        "verfahren-leitfaden",
        "ki-werkzeuge",
    ]
    assert result.total == 3 and result.terms == ()


def test_free_keyword_restricts_to_free_offerings(index: SearchIndex) -> None:
    found = ids(index, "kostenlos")
    assert found and "jhp-einstieg" not in found and "moderation" not in found
    assert set(ids(index, "gratis")) == set(found)


def test_target_group_filter_tolerates_umlauts_and_case(index: SearchIndex) -> None:
    expected = {"ki-verwaltung", "datenschutz-kurs"}
    assert set(ids(index, "zielgruppe:führungskräfte")) == expected
    assert set(ids(index, "zielgruppe:FUEHRUNGSKRAEFTE")) == expected


def test_topic_filter_matches_compounds_and_synonyms(index: SearchIndex) -> None:
    found = set(ids(index, "thema:beteiligung"))
    assert found == {"beteiligung-basics", "verfahren-leitfaden", "partizipation-netz"}


def test_format_filter_accepts_labels_and_spaces(index: SearchIndex) -> None:
    assert set(ids(index, "format: Präsenz")) == {"jhp-einstieg", "moderation"}


def test_several_values_of_one_filter_mean_either(index: SearchIndex) -> None:
    either = set(ids(index, "typ:netzwerk,veranstaltung"))
    assert either == {"partizipation-netz", "moderation"}
    assert set(ids(index, "typ:netzwerk typ:veranstaltung")) == either


def test_different_filters_must_all_hold(index: SearchIndex) -> None:
    assert ids(index, "typ:weiterbildung format:praesenz") == ["jhp-einstieg"]
    assert ids(index, "typ:weiterbildung format:praesenz kostenlos") == []


def test_unknown_filter_key_is_an_error_with_valid_keys(index: SearchIndex) -> None:
    result = index.search("Beteiligung tpy:weiterbildung")
    (error,) = result.filter_errors
    assert error.canonical_key is None and error.key == "tpy"
    assert error.suggestions == ("typ:",)
    assert "zielgruppe:" in error.valid and "kostenlos" in error.valid
    assert result.hits == ()


def test_unknown_filter_value_lists_valid_values(index: SearchIndex) -> None:
    (error,) = index.search("typ:kurs").filter_errors
    assert error.canonical_key == "typ" and error.value == "kurs"
    assert "weiterbildung" in error.valid and "veranstaltung" in error.valid


def test_unknown_topic_suggests_close_topics(index: SearchIndex) -> None:
    (error,) = index.search("thema:Datenschtz").filter_errors
    assert error.suggestions[0] == "Datenschutz"
    assert "Beteiligung" in error.valid


def test_filter_values_may_be_synonyms(index: SearchIndex) -> None:
    assert ids(index, "typ:schulung") == ids(index, "typ:weiterbildung")
    assert ids(index, "typ:Seminare") == ids(index, "typ:weiterbildung")


def test_links_and_prose_colons_are_not_taken_for_filters(index: SearchIndex) -> None:
    assert index.search("https://example.org").filter_errors == ()
    result = index.search("Tipp: Moderation")
    assert result.filter_errors == () and result.hits[0].entry.id == "moderation"


def test_quoted_filter_values_may_contain_spaces() -> None:
    parsed = parse_query('KI thema:"künstliche Intelligenz" kostenlos')
    assert parsed.filters == (("thema", "künstliche Intelligenz"),)
    assert parsed.free_only and parsed.text == "KI"


# --- paging ---


def test_pages_cover_all_hits_without_overlap(index: SearchIndex) -> None:
    first = index.search("kostenlos", limit=2)
    assert first.total >= 4 and first.has_more
    seen = [h.entry.id for h in first.hits]
    result = first
    while result.has_more:
        result = index.search("kostenlos", offset=result.next_offset, limit=2)
        seen.extend(h.entry.id for h in result.hits)
    assert len(seen) == len(set(seen)) == first.total


def test_page_past_the_end_is_empty(index: SearchIndex) -> None:
    result = index.search("Beteiligung", offset=100)
    assert result.hits == () and result.total > 0 and not result.has_more


def test_empty_query_is_recognised(index: SearchIndex) -> None:
    assert index.search("").is_empty_query
    assert index.search("  und die  ").is_empty_query


# --- robustness ---

FTS_SYNTAX = st.sampled_from(
    [
        '"',
        "*",
        "NEAR",
        "NEAR(",
        "(",
        ")",
        ":",
        "-",
        "^",
        "+",
        "AND",
        "OR",
        "NOT",
        "{",
        "}",
        "titel:",
        "beschreibung:",
        "'",
        "\\",
        "\x00",
        "\x1b",
        "\u202e",
        "typ:",
        ",",
        "kostenlos",
    ]
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    parts=st.lists(st.one_of(st.text(max_size=30), FTS_SYNTAX), max_size=12),
    offset=st.integers(min_value=-5, max_value=50),
    limit=st.integers(min_value=-5, max_value=100),
)
def test_search_never_raises_on_arbitrary_input(
    index: SearchIndex, parts: list[str], offset: int, limit: int
) -> None:
    result = index.search(" ".join(parts), offset=offset, limit=limit)
    assert result.total >= len(result.hits)
    render_results(result, Texts("de"))


@pytest.mark.parametrize(
    "text",
    [
        "x" * 65_536,
        ("Beteiligung " * 6000)[:65_536],
        '"' * 65_536,
        "NEAR(" * 13_000,
        "".join(chr(c) for c in range(0, 0x3000, 3)),
        "beteiligung:" + "a" * 65_000,
    ],
)
def test_search_survives_64kb_inputs(index: SearchIndex, text: str) -> None:
    index.search(text)


# --- rebuilding ---


def test_new_index_reflects_a_changed_catalogue() -> None:
    old = SearchIndex.build(Catalogue(ENTRIES[:2]))
    assert not [h for h in old.search("Moderation").hits]
    new = SearchIndex.build(Catalogue(ENTRIES))
    assert new.search("Moderation").hits[0].entry.id == "moderation"


# --- rendering ---


def test_result_list_links_titles_and_shows_facts(index: SearchIndex) -> None:
    message = render_results(index.search("Bürgerbeteiligungsverfahren"), Texts("de"))
    assert (
        '<a href="https://example.org/leitfaden"><b>Leitfaden Bürgerbeteiligungsverfahren</b></a>'
        in message.html
    )
    assert "Anbieter · Publikation · zum Selbstlernen · kostenlos" in message.plain
    assert "https://example.org/leitfaden" in message.plain
    assert "!angebot details <ID>" in message.plain
    assert "!mehr" not in message.plain


def test_more_hint_and_numbering_continue_on_the_next_page(index: SearchIndex) -> None:
    t = Texts("de")
    first = render_results(index.search("kostenlos", limit=2), t, prefix="?")
    assert "?mehr" in first.plain and '<ol start="1">' in first.html
    second = render_results(index.search("kostenlos", offset=2, limit=2), t)
    assert '<ol start="3">' in second.html and "\n3. " in "\n" + second.plain.split("\n", 1)[1]


def test_suggestion_and_relaxed_notes_are_rendered(index: SearchIndex) -> None:
    t = Texts("de")
    assert (
        "Ergebnisse für „Beteiligung“ (Sie schrieben „Beteilgung“)"
        in render_results(index.search("Beteilgung"), t).plain
    )
    relaxed = render_results(index.search("Datenschutz Moderation"), t).plain
    assert "Kein Angebot passt zu allen Suchbegriffen" in relaxed
    nothing = render_results(index.search("Onboarding Fachkräfte"), t)
    assert nothing.plain.startswith("Zu „Onboarding Fachkräfte“ passt leider kein Angebot")
    assert "`!angebot wunsch …`" in nothing.plain
    assert "Entfernt verwandt – passt nur zu einem Teil Ihrer Anfrage:" in nothing.plain
    assert "Treffer" not in nothing.plain  # no result header, no paging


def test_no_results_invite_a_wish(index: SearchIndex) -> None:
    message = render_results(index.search("Xylophonquartett"), Texts("de"), prefix="!")
    assert "„Xylophonquartett“" in message.plain
    assert (
        "Nichts Passendes? Mit `!angebot wunsch …` helfen Sie, Lücken zu schließen."
        in message.plain
    )
    assert "<code>!angebot wunsch …</code>" in message.html


def test_user_text_is_escaped_in_html(index: SearchIndex) -> None:
    message = render_results(index.search("<script>alert(1)</script>"), Texts("de"))
    assert "<script>" not in message.html and "&lt;script&gt;" in message.html
    hostile = Catalogue((offering("x", "<b>Titel</b> & Co", link='https://e.org/"><script>'),))
    html = render_results(SearchIndex.build(hostile).search("Titel"), Texts("de")).html
    assert "<script>" not in html and "&lt;b&gt;Titel" in html


def test_filter_errors_are_rendered_with_valid_values(index: SearchIndex) -> None:
    message = render_results(index.search("typ:kurs"), Texts("de"))
    assert "„kurs“ passt zu keinem Wert für `typ:`" in message.plain
    assert "`weiterbildung`" in message.plain and "<code>veranstaltung</code>" in message.html
    unknown_key = render_filter_errors(index.search("tpy:x").filter_errors, Texts("de"))
    assert "Den Filter `tpy:` kenne ich nicht" in unknown_key.plain
    assert "Meinten Sie `typ:`?" in unknown_key.plain


def test_details_show_every_field(index: SearchIndex) -> None:
    entry = ENTRIES[2]
    message = render_details(entry, Texts("de"))
    for fragment in [
        "Einstieg in die Jugendhilfeplanung",
        "Art: Weiterbildung",
        "Format: in Präsenz",
        "Kosten: 120 €",
        "Zielgruppen: Fachkräfte",
        "Aufgaben nach SGB VIII.",
        "jhp-einstieg",
    ]:
        assert fragment in message.plain
    assert "<b>Art:</b> Weiterbildung" in message.html


def test_details_spell_out_slugs_as_the_catalogue_writes_them() -> None:
    entry = offering(
        "ki",
        "Kurs zu Künstlicher Intelligenz",
        themen=("kuenstliche-intelligenz", "qualitaet"),
        zielgruppen=("fachkraefte", "ortsbeiraete"),
        beschreibung="Über künstliche Intelligenz und die Qualität von Daten, für Ortsbeiräte.",
    )
    catalogue = Catalogue((entry,))
    plain = render_details(entry, Texts("de"), catalogue=catalogue).plain
    assert "Themen: Künstliche Intelligenz, Qualität" in plain
    assert "Zielgruppen: Fachkräfte, Ortsbeiräte" in plain


def test_unknown_id_suggests_close_ids(index: SearchIndex) -> None:
    t = Texts("de")
    message = render_unknown_id("jhp-einstig", index.catalogue, t)
    assert "Meinten Sie `jhp-einstieg`?" in message.plain
    assert (
        "z. B. `!angebot details beteiligung-basics`"
        in render_unknown_id("", index.catalogue, t).plain
    )


def test_overview_counts_types_and_common_topics() -> None:
    data = overview(Catalogue(ENTRIES), topics=3)
    assert data.total == len(ENTRIES)
    assert data.by_type[0] == ("weiterbildung", 4)
    assert data.free == 6
    assert len(data.topics) == 3
    assert data.topics[0].count == 1 and data.topics[0].examples
    message = render_overview(data, Texts("de"), prefix="!")
    assert "Angebotskatalog: 9 Angebote" in message.plain
    assert "Weiterbildungen (4)" in message.plain and "Publikationen (2)" in message.plain
    assert "Netzwerk (1)" in message.plain
    assert "`!angebot " in message.plain


def test_topics_shared_by_several_entries_lead_the_overview() -> None:
    shared = tuple(
        offering(f"e{i}", f"Titel {i}", themen=("Beteiligung", f"Thema {i}")) for i in range(3)
    )
    data = overview(Catalogue(shared))
    assert data.topics[0].topic == "Beteiligung" and data.topics[0].count == 3
    assert data.topics[0].examples == ("Titel 0", "Titel 1")
    slugs = tuple(
        offering(f"s{i}", f"Zur Öffentlichkeitsarbeit {i}", themen=("oeffentlichkeitsarbeit",))
        for i in range(2)
    )
    (topic,) = overview(Catalogue(slugs)).topics
    assert topic.topic == "Öffentlichkeitsarbeit" and topic.value == "oeffentlichkeitsarbeit"


def test_english_rendering_uses_english_labels(index: SearchIndex) -> None:
    message = render_results(index.search("Moderation"), Texts("en"))
    assert "Event · in person · 80 €" in message.plain
    assert audience_label("fuehrungskraefte", Texts("de")) == "Führungskräfte"
    assert audience_label("Eigene Zielgruppe", Texts("de")) == "Eigene Zielgruppe"
    assert audience_label("ortsbeirat", Texts("de")) == "Ortsbeirat"


def test_keywords_find_an_offering_like_its_topics_and_stay_unshown() -> None:
    entry = offering(
        "ausbildung",
        "Nachwuchs für die Verwaltung",
        themen=("Personal",),
        stichworte=("Azubis", "DSGVO"),
    )
    other = offering("anderes", "Personalentwicklung", themen=("Personal",))
    index = SearchIndex.build(Catalogue((entry, other)))
    try:
        result = index.search("Azubis gewinnen")
        assert [h.entry.id for h in result.hits][:1] == ["ausbildung"]
        assert not result.nothing_fits
        assert [h.entry.id for h in index.search("dsgvo").hits] == ["ausbildung"]
        shown = render_results(result, Texts("de")).html
        assert "Azubis" not in shown.replace("Azubis gewinnen", "")
    finally:
        index.close()
