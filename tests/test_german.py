"""German normalisation (folding, tokenising) and search morphology (lemmas, compounds)."""

from __future__ import annotations

import pytest

from bot.features.search.morphology import family, is_known, lemma, noun_reading, parts, raw_lemma
from bot.text.german import fold, is_meaningful, stem, tokenize


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


# --- morphology (bot.features.search.morphology): lemmas, families, compounds ------------------


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("messen", "Messe"),  # Snowball: both "mess"
        ("Förderung", "Forderung"),  # Snowball: both "forder"
        ("Rat", "Rate"),  # Snowball: both "rat"
        ("Räte", "Raten"),
        ("Kurs", "Kur"),
        ("Stelle", "stellen"),
    ],
)
def test_known_stem_collisions_are_gone(one: str, other: str) -> None:
    assert stem(fold(one)) == stem(fold(other))  # the collision the old stemmer had …
    assert lemma(one) != lemma(other)  # … and the lemmatiser keeps the words apart
    assert family(one) != family(other)


@pytest.mark.parametrize(
    ("forms", "expected"),
    [
        (("Workshop", "Workshops", "workshops"), "workshop"),
        (("Kommune", "Kommunen"), "kommune"),
        (("Führungskraft", "Führungskräfte", "Fuehrungskraefte"), "fuehrungskraft"),
        (("Räte", "Rat", "Räten"), "rat"),
        (("beteiligt", "beteiligen"), "beteiligen"),
        (("Barcamps", "Barcamp"), "barcamp"),
        (("Onlinezugangsgesetzes", "Onlinezugangsgesetz"), "onlinezugangsgesetz"),
    ],
)
def test_plurals_and_inflections_share_a_lemma(forms: tuple[str, ...], expected: str) -> None:
    assert {lemma(form) for form in forms} == {expected}


def test_derivations_share_a_family_without_merging_lookalikes() -> None:
    assert family("Beteiligung") == family("beteiligen") == "beteiligen"
    assert family("Förderung") == family("fördern") == "foerdern"
    assert family("Forderung") == "fordern"
    assert family("Entwicklung") == "entwickeln"
    assert family("Evaluation") == "evaluieren"
    assert family("Messe") != family("messen")


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("Seniorenbeteiligung", ("senior", "beteiligung")),
        ("Fördermittel", ("foerdern", "mittel")),
        ("Foerdermittel", ("foerdern", "mittel")),
        ("Förderprogramme", ("foerdern", "programm")),
        ("Fachkräftemangel", ("fachkraft", "mangel")),
        ("Jugendhilfeplanung", ("jugend", "hilfe", "planung")),
        ("Bürgerbeteiligungsverfahren", ("buerger", "beteiligung", "verfahren")),
        ("Sozialraumanalyse", ("sozial", "raum", "analyse")),
        ("Landesjugendämter", ("land", "jugendamt")),
    ],
)
def test_compounds_split_against_the_lexicon(word: str, expected: tuple[str, ...]) -> None:
    assert parts(word) == expected


@pytest.mark.parametrize(
    "word",
    ["Beratung", "Netzwerk", "Moderation", "Gesellschaft", "grafisch", "Planung", "Qwrtzplxkvbn"],
)
def test_plain_and_unknown_words_are_not_split(word: str) -> None:
    assert parts(word) == ()


def test_lexicon_ships_with_the_package() -> None:
    assert is_known("Beteiligung") and is_known("Foerderung")
    assert not is_known("Sozialraumanalise")


def test_a_noun_typed_in_lower_case_is_read_as_the_noun() -> None:
    # "wandel" is also a form of "wandeln"; as a search word it is the noun Wandel. A verb
    # typed as its dictionary form stays a verb: "messen" never becomes "Messe".
    assert noun_reading("wandel") == "Wandel"
    assert noun_reading("messen") is None
    assert noun_reading("planen") is None
    assert noun_reading("Wandel") is None


def test_compounds_typed_without_umlauts_are_split() -> None:
    assert parts("fuehrungskraefteentwicklung") == parts("Führungskräfteentwicklung")
    assert parts("Führungskräfteentwicklung") == ("fuehrung", "kraft", "entwicklung")


def test_adjectives_in_isch_are_no_compounds() -> None:
    assert raw_lemma("demografischer") == "demografisch"
    assert parts("demografischer") == ()
