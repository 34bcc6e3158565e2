"""German normalisation: folding, tokenising, stemming and compound splitting."""

from __future__ import annotations

import pytest

from bot.german import Decompounder, fold, is_meaningful, stem, tokenize


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Führungskräfte", "fuehrungskraefte"),
        ("FUEHRUNGSKRAEFTE", "fuehrungskraefte"),
        ("fuehrungskräfte", "fuehrungskraefte"),
        ("Straße", "strasse"),
        ("STRASSE", "strasse"),
        ("Café", "cafe"),
        ("Öffentlichkeit", "oeffentlichkeit"),
    ],
)
def test_fold_makes_every_spelling_of_a_word_equal(typed: str, folded: str) -> None:
    assert fold(typed) == folded


def test_umlaut_and_spelled_out_forms_share_a_stem() -> None:
    assert stem(fold("Führungskräfte")) == stem(fold("Fuehrungskraefte"))
    assert stem(fold("Präsenz")) == stem(fold("praesenz"))


def test_inflected_forms_share_a_stem() -> None:
    assert stem("beteiligung") == stem("beteiligungen") == stem("beteiligen")
    assert stem("planung") == stem("planungen")
    assert stem("jugendliche") == stem("jugendlichen")


def test_tokenize_keeps_hyphenated_words_together_with_their_pieces() -> None:
    tokens = tokenize("E-Government und Open-Data-Portal")
    assert [t.folded for t in tokens] == ["egovernment", "und", "opendataportal"]
    assert tokens[0].pieces == ("e", "government")
    assert tokens[2].pieces == ("open", "data", "portal")
    assert tokens[0].surface == "E-Government"


def test_tokenize_drops_overlong_garbage_and_punctuation() -> None:
    tokens = tokenize("x" * 500 + ' (Planung)! "Daten" *NEAR* 10:30')
    assert [t.folded for t in tokens] == ["planung", "daten", "near", "10", "30"]


def test_stopwords_and_single_letters_are_not_meaningful() -> None:
    assert not is_meaningful("und")
    assert not is_meaningful("fuer")
    assert not is_meaningful("e")
    assert is_meaningful("ki")
    assert is_meaningful("planung")


@pytest.fixture
def splitter() -> Decompounder:
    return Decompounder(["jugendhilfe", "beteiligung", "verfahren", "sicherheit", "abteilung"])


@pytest.mark.parametrize(
    ("word", "parts"),
    [
        ("buergerbeteiligungsverfahren", ("buerger", "beteiligung", "verfahren")),  # -s- link
        ("jugendhilfeplanung", ("jugendhilfe", "planung")),
        ("kundenservice", ("kunden", "service")),
        ("schulsozialarbeit", ("schule", "sozial", "arbeit")),  # Schul(e)- elision
        ("informationssicherheit", ("information", "sicherheit")),
        ("fuehrungskraefte", ("fuehrung", "kraefte")),
    ],
)
def test_compounds_split_into_known_parts(splitter: Decompounder, word: str, parts: tuple) -> None:
    assert splitter.split(word) == parts


def test_parts_are_collected_recursively(splitter: Decompounder) -> None:
    assert set(splitter.parts("jugendhilfeplanung")) == {
        "jugendhilfe",
        "jugend",
        "hilfe",
        "planung",
    }


def test_inflected_last_part_is_accepted(splitter: Decompounder) -> None:
    assert splitter.split("jugendhilfeplanungen") == ("jugendhilfe", "planungen")


@pytest.mark.parametrize(
    "word", ["verwaltung", "abteilung", "beratung", "planung", "kostenlos", "ki"]
)
def test_plain_words_are_not_split(splitter: Decompounder, word: str) -> None:
    assert splitter.split(word) == ()
    assert splitter.parts(word) == []


def test_unknown_words_are_never_split_into_invented_parts(splitter: Decompounder) -> None:
    assert splitter.split("xyzzyplugh") == ()
    assert splitter.split("a" * 10_000) == ()


def test_catalogue_vocabulary_teaches_new_parts() -> None:
    assert Decompounder([]).split("zukunftswerkstattmoderation") == (
        "zukunft",
        "werkstatt",
        "moderation",
    )
    assert Decompounder([]).split("quizbuch") == ()
    assert Decompounder(["quiz"]).split("quizbuch") == ("quiz", "buch")
