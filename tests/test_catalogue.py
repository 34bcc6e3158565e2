"""Loading and checking the catalogue files: every problem reported, worded for editors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from bot.features.catalogue.load import CatalogueError, check_content, load_catalogue

VALID_ENTRY = """\
- id: jhp-grundlagen
  titel: Grundlagen der Jugendhilfeplanung
  anbieter: Landesjugendamt
  typ: weiterbildung
  themen: [Jugendhilfeplanung, Beteiligung]
  zielgruppen: [fachkraefte]
  format: online
  kosten: kostenlos
  dauer: 2 Tage
  beschreibung: Aufgaben und Methoden der Jugendhilfeplanung.
  link: https://example.org/jhp
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(directory: Path, lang: str = "de") -> list[str]:
    problems = check_content(directory, lang)
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(directory, lang)
    assert caught.value.problems == problems
    return problems


def test_valid_catalogue_loads_with_all_fields(tmp_path: Path) -> None:
    write(tmp_path, "angebote.yaml", VALID_ENTRY)
    catalogue = load_catalogue(tmp_path)
    assert check_content(tmp_path) == []
    entry = catalogue.get("jhp-grundlagen")
    assert entry is not None
    assert entry.titel == "Grundlagen der Jugendhilfeplanung"
    assert entry.themen == ("Jugendhilfeplanung", "Beteiligung")
    assert entry.dauer == "2 Tage"
    assert entry.is_free
    assert catalogue.get(" JHP-Grundlagen ") is entry
    assert catalogue.synonyms == ()


def test_entries_may_sit_under_an_angebote_key(tmp_path: Path) -> None:
    indented = textwrap.indent(VALID_ENTRY, "  ")
    write(tmp_path, "angebote.yaml", "angebote:\n" + indented)
    assert [e.id for e in load_catalogue(tmp_path)] == ["jhp-grundlagen"]


def test_optional_fields_may_be_left_out(tmp_path: Path) -> None:
    write(
        tmp_path,
        "angebote.yaml",
        """\
        - id: leitfaden
          titel: Leitfaden
          anbieter: Stiftung
          typ: publikation
          format: selbstlern
          kosten: 12 € (Druckausgabe)
          beschreibung: Ein Leitfaden.
        """,
    )
    entry = load_catalogue(tmp_path).entries[0]
    assert entry.link is None and entry.dauer is None and entry.themen == ()
    assert not entry.is_free


@pytest.mark.parametrize(
    ("kosten", "free"),
    [("kostenlos", True), ("Kostenfrei nach Anmeldung", True), ("gratis", True), ("50 €", False)],
)
def test_cost_text_decides_whether_an_offering_is_free(
    tmp_path: Path, kosten: str, free: bool
) -> None:
    write(tmp_path, "angebote.yaml", VALID_ENTRY.replace("kosten: kostenlos", f"kosten: {kosten}"))
    assert load_catalogue(tmp_path).entries[0].is_free is free


def test_unknown_type_names_file_line_entry_field_and_allowed_values(tmp_path: Path) -> None:
    broken = VALID_ENTRY.replace("jhp-grundlagen", "zweites").replace("weiterbildung", "kurs")
    write(tmp_path, "angebote.yaml", VALID_ENTRY + broken)
    assert problems_of(tmp_path) == [
        "angebote.yaml, Zeile 15, Eintrag 2 (id: zweites), Feld „typ“: unbekannter Wert „kurs“ – "
        "erlaubt: weiterbildung, publikation, werkzeugkoffer, tool, beratung, netzwerk, "
        "veranstaltung"
    ]


def test_all_problems_of_a_file_are_reported_not_only_the_first(tmp_path: Path) -> None:
    write(
        tmp_path,
        "angebote.yaml",
        VALID_ENTRY
        + """\
- id: jhp-grundlagen
  anbieter: Landesjugendamt
  typ: weiterbildung
  themen: Beteiligung
  format: webinar
  kosten: 0
  beschreibung: ""
  titl: Tippfehler
- id: Mit Leerzeichen
  titel: 2024
  anbieter: X
  typ: tool
  format: online
  kosten: kostenlos
  beschreibung: Text
  link: www.example.org
""",
    )
    problems = problems_of(tmp_path)
    second = "Eintrag 2 (id: jhp-grundlagen)"
    third = "Eintrag 3 (id: Mit Leerzeichen)"
    expected_fragments = [
        (second, "Zeile 12", "Feld „titel“: Pflichtfeld fehlt"),
        (second, "Zeile 15", "Feld „themen“: Liste erwartet"),
        (
            second,
            "Zeile 16",
            "Feld „format“: unbekannter Wert „webinar“ – erlaubt: online, praesenz",
        ),
        (second, "Zeile 17", "Feld „kosten“: Text erwartet, gefunden: Zahl 0"),
        (second, "Zeile 18", "Feld „beschreibung“: darf nicht leer sein"),
        (second, "Zeile 19", "Feld „titl“: unbekanntes Feld (meinten Sie „titel“?)"),
        (second, "Zeile 12", "ID „jhp-grundlagen“ ist bereits vergeben (Eintrag 1, Zeile 1)"),
        (third, "Zeile 20", "Feld „id“: ungültige ID „Mit Leerzeichen“"),
        (third, "Zeile 21", "Feld „titel“: Text erwartet, gefunden: Zahl 2024"),
        (third, "Zeile 27", "Feld „link“: ungültiger Link „www.example.org“"),
    ]
    for fragments in expected_fragments:
        assert any(all(f in p for f in fragments) for p in problems), (fragments, problems)
    assert len(problems) == len(expected_fragments)
    assert all(p.startswith("angebote.yaml, Zeile ") for p in problems)


def test_list_items_are_checked_one_by_one(tmp_path: Path) -> None:
    write(
        tmp_path,
        "angebote.yaml",
        VALID_ENTRY.replace("[Jugendhilfeplanung, Beteiligung]", "[Planung, 42]"),
    )
    (problem,) = problems_of(tmp_path)
    assert "Feld „themen“, Element 2: Text erwartet, gefunden: Zahl 42" in problem


@pytest.mark.parametrize(
    ("appended", "start", "fragment"),
    [
        pytest.param(
            "  titel: Noch ein Titel\n",
            "angebote.yaml, Zeile 12, Eintrag 1 (id: jhp-grundlagen)",
            "Feld „titel“ steht doppelt im Eintrag (zuerst in Zeile 2)",
            id="a key given twice in an entry",
        ),
        pytest.param(
            "- id: x\n  titel: [nicht geschlossen\n",
            "angebote.yaml, Zeile 14: YAML-Syntaxfehler",
            "(begonnen in Zeile 13)",
            id="broken yaml reports the line",
        ),
        pytest.param(
            "- einfach ein Text\n",
            "angebote.yaml, Zeile 12, Eintrag 2:",
            "Text „einfach ein Text“",
            id="entry that is not a mapping, with its position",
        ),
    ],
)
def test_problem_after_a_valid_entry_names_its_place(
    tmp_path: Path, appended: str, start: str, fragment: str
) -> None:
    write(tmp_path, "angebote.yaml", VALID_ENTRY + appended)
    (problem,) = problems_of(tmp_path)
    assert problem.startswith(start), problem
    assert fragment in problem, problem


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "Die Datei ist leer"),
        ("[]\n", "enthält keine Einträge"),
        ("titel: x\n", "Erwartet wird eine Liste von Einträgen"),
        ("angebote: []\nextra: 1\n", "Unbekannter Schlüssel „extra“"),
    ],
)
def test_wrong_file_shapes_are_explained(tmp_path: Path, text: str, fragment: str) -> None:
    write(tmp_path, "angebote.yaml", text)
    assert any(fragment in p for p in problems_of(tmp_path))


def test_missing_catalogue_file_is_a_problem(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path)
    assert "angebote.yaml" in problem and "fehlt" in problem


def test_non_utf8_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "angebote.yaml").write_bytes(
        VALID_ENTRY.replace("Aufgaben", "Gr\xfc\xdfe").encode("latin-1")
    )
    (problem,) = problems_of(tmp_path)
    assert "UTF-8" in problem


def test_problems_can_be_worded_in_english(tmp_path: Path) -> None:
    write(tmp_path, "angebote.yaml", VALID_ENTRY.replace("weiterbildung", "kurs"))
    (problem,) = problems_of(tmp_path, lang="en")
    assert problem.startswith("angebote.yaml, line 4, entry 1 (id: jhp-grundlagen), field “typ”:")
    assert "unknown value “kurs”" in problem


def test_synonyms_are_loaded_beside_the_catalogue(tmp_path: Path) -> None:
    write(tmp_path, "angebote.yaml", VALID_ENTRY)
    write(
        tmp_path,
        "synonyme.yaml",
        """\
        - [Partizipation, Beteiligung, Mitwirkung]
        - [KI, künstliche  Intelligenz]
        """,
    )
    catalogue = load_catalogue(tmp_path)
    assert catalogue.synonyms == (
        ("Partizipation", "Beteiligung", "Mitwirkung"),
        ("KI", "künstliche Intelligenz"),
    )


def test_synonym_problems_are_reported_with_group_and_line(tmp_path: Path) -> None:
    write(tmp_path, "angebote.yaml", VALID_ENTRY)
    write(
        tmp_path,
        "synonyme.yaml",
        """\
        - [Partizipation, Beteiligung]
        - Beteiligung
        - [KI]
        - [Mitwirkung, 3]
        - [Teilhabe, beteiligung]
        """,
    )
    problems = problems_of(tmp_path)
    assert problems[0].startswith(
        "synonyme.yaml, Zeile 2, Gruppe 2: Eine Synonymgruppe muss eine Liste"
    )
    assert problems[1].startswith("synonyme.yaml, Zeile 3, Gruppe 3: Eine Synonymgruppe braucht")
    assert "Gruppe 4" in problems[2] and "Zahl 3" in problems[2]
    assert "Gruppe 4" in problems[3] and "mindestens zwei" in problems[3]
    assert "Gruppe 5" in problems[4] and "„beteiligung“ steht schon in Gruppe 1" in problems[4]
    assert len(problems) == 5


def test_problems_of_both_files_are_collected_together(tmp_path: Path) -> None:
    write(tmp_path, "angebote.yaml", VALID_ENTRY.replace("format: online", "format: vor-ort"))
    write(tmp_path, "synonyme.yaml", "- [nur eins]\n")
    problems = problems_of(tmp_path)
    assert [p.split(",")[0] for p in problems] == ["angebote.yaml", "synonyme.yaml"]


def test_closest_ids_suggest_a_mistyped_id(tmp_path: Path) -> None:
    write(tmp_path, "angebote.yaml", VALID_ENTRY)
    catalogue = load_catalogue(tmp_path)
    assert catalogue.closest_ids("jhp-grundlage") == ["jhp-grundlagen"]
    assert catalogue.closest_ids("völlig-anders-und-lang") == []


def test_slugs_are_labelled_as_the_catalogue_texts_write_them(tmp_path: Path) -> None:
    text = VALID_ENTRY.replace(
        "Aufgaben und Methoden der Jugendhilfeplanung.",
        "Zu Kinder- und Jugendbeteiligung, OZG, IT-Sicherheit, Qualitätsentwicklung und "
        "künstlicher Intelligenz. Beratung – kollegiale-beratung.de.",
    )
    write(tmp_path, "angebote.yaml", text)
    catalogue = load_catalogue(tmp_path)
    assert catalogue.label("ozg") == "OZG"
    assert catalogue.label("it-sicherheit") == "IT-Sicherheit"
    assert catalogue.label("kinder-und-jugendbeteiligung") == "Kinder- und Jugendbeteiligung"
    assert catalogue.label("qualitaet") == "Qualität"  # from the compound
    assert catalogue.label("kuenstliche-intelligenz") == "Künstliche Intelligenz"
    assert catalogue.label("kollegiale-beratung") == "Kollegiale Beratung"  # not the domain
    assert catalogue.label("kreativitaet") == "Kreativität"  # unknown word, -tät ending
    assert catalogue.label("e-partizipation") == "E-Partizipation"
    assert catalogue.label("change-management") == "Change Management"
    assert catalogue.label("Schon lesbar") == "Schon lesbar"


# --- impulsbot catalogue check ------------------------------------------------------------------


def test_cli_check_reports_ok_with_counts(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli.main import main

    shipped = Path(__file__).resolve().parent.parent / "content"
    assert main(["catalogue", "check", str(shipped)]) == 0
    out = capsys.readouterr().out
    assert "154 Angebote, 68 Synonymgruppen: OK" in out


def test_cli_check_lists_problems_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli.main import main

    (tmp_path / "angebote.yaml").write_text("- id: ok-id\n  titel: x\n", encoding="utf-8")
    assert main(["catalogue", "check", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "Zeile 1, Eintrag 1 (id: ok-id), Feld „typ“: Pflichtfeld fehlt." in captured.out
    assert "Probleme gefunden" in captured.err


def test_cli_check_takes_the_directory_from_the_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli.main import main

    (tmp_path / "inhalt").mkdir()
    (tmp_path / "inhalt" / "angebote.yaml").write_text("[]\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(
        "matrix: {homeserver: 'https://m.example.org', user_id: '@b:example.org', password: p}\n"
        "content: {directory: inhalt}\n",
        encoding="utf-8",
    )
    assert main(["catalogue", "check", "--config", str(config)]) == 1
    assert "keine Einträge" in capsys.readouterr().out


# --- editorial hints (reported, but the check still passes) -------------------------------------


def hint_entry(entry_id: str, titel: str, anbieter: str, themen: str, link: str | None) -> str:
    text = VALID_ENTRY.replace("jhp-grundlagen", entry_id)
    text = text.replace("titel: Grundlagen der Jugendhilfeplanung", f"titel: {titel}")
    text = text.replace("anbieter: Landesjugendamt", f"anbieter: {anbieter}")
    text = text.replace("[Jugendhilfeplanung, Beteiligung]", themen)
    link_line = "  link: https://example.org/jhp\n"
    return text.replace(link_line, f"  link: {link}\n" if link else "")


def test_review_reports_missing_links_homepages_duplicates_and_thin_topics(
    tmp_path: Path,
) -> None:
    from bot.features.catalogue.review import review

    write(
        tmp_path,
        "angebote.yaml",
        hint_entry("ohne-link", "Kurs A", "Akademie", "[planung, beteiligung]", None)
        + hint_entry("startseite", "Kurs B", "Akademie", "[planung, beteiligung]", "https://a.de/")
        + hint_entry(
            "doppelt", "kurs  a", "AKADEMIE", "[Planung, beteiligung, selten]", "https://a.de/x"
        )
        + hint_entry("ohne-pfad", "Kurs C", "Verband", "[zwei, zwei-mal]", "http://b.de")
        + hint_entry("tief", "Kurs D", "Verband", "[zwei]", "https://b.de/?seite=kurs"),
    )
    assert review(load_catalogue(tmp_path)) == [
        "angebote.yaml, Eintrag 1 (id: ohne-link): kein Link angegeben – bitte die geprüfte Seite"
        " des Angebots ergänzen.",
        "angebote.yaml, Eintrag 2 (id: startseite): Link führt nur auf die Startseite"
        " (https://a.de/) – bitte die Seite des konkreten Angebots verlinken.",
        "angebote.yaml, Eintrag 4 (id: ohne-pfad): Link führt nur auf die Startseite"
        " (http://b.de) – bitte die Seite des konkreten Angebots verlinken.",
        "angebote.yaml, Eintrag 3 (id: doppelt): Anbieter und Titel doppelt („AKADEMIE“ –"
        " „kurs  a“), wie Eintrag 1 (id: ohne-link).",
        "angebote.yaml: Thema „selten“ hat nur einen Eintrag (doppelt) – empfohlen sind"
        " mindestens 3; vorhandenes Thema nutzen oder weitere Angebote ergänzen.",
        "angebote.yaml: Thema „zwei“ hat nur 2 Einträge (ohne-pfad, tief) – empfohlen sind"
        " mindestens 3; vorhandenes Thema nutzen oder weitere Angebote ergänzen.",
        "angebote.yaml: Thema „zwei-mal“ hat nur einen Eintrag (ohne-pfad) – empfohlen sind"
        " mindestens 3; vorhandenes Thema nutzen oder weitere Angebote ergänzen.",
    ]


def test_review_is_empty_for_a_tidy_catalogue(tmp_path: Path) -> None:
    from bot.features.catalogue.review import review

    write(
        tmp_path,
        "angebote.yaml",
        "".join(
            hint_entry(f"kurs-{n}", f"Kurs {n}", "Akademie", "[planung]", f"https://a.de/kurs-{n}")
            for n in range(3)
        ),
    )
    assert review(load_catalogue(tmp_path)) == []


@pytest.mark.parametrize(
    ("link", "bare"),
    [
        ("https://www.kgst.de/", True),
        ("https://difu.de", True),
        ("https://a.de/#start", False),
        ("https://a.de/seminare", False),
        ("https://a.de/?id=3", False),
    ],
)
def test_bare_homepage_means_no_path_query_or_fragment(link: str, bare: bool) -> None:
    from bot.features.catalogue.review import is_bare_homepage

    assert is_bare_homepage(link) is bare


def test_review_hints_can_be_worded_in_english(tmp_path: Path) -> None:
    from bot.features.catalogue.review import review

    write(tmp_path, "angebote.yaml", hint_entry("x", "Kurs", "A", "[planung]", None))
    hints = review(load_catalogue(tmp_path), lang="en")
    assert hints[0] == (
        "angebote.yaml, entry 1 (id: x): no link given – please add the checked page of the"
        " offering."
    )
    assert "topic “planung” has only one entry (x)" in hints[1]


def test_cli_check_lists_hints_but_still_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli.main import main

    write(tmp_path, "angebote.yaml", hint_entry("x", "Kurs", "A", "[planung]", "https://a.de"))
    assert main(["catalogue", "check", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Hinweise zur Pflege (2):"
    assert lines[1].startswith(
        "angebote.yaml, Eintrag 1 (id: x): Link führt nur auf die Startseite"
    )
    assert lines[2].startswith("angebote.yaml: Thema „planung“ hat nur einen Eintrag (x)")
    assert lines[3] == "1 Angebote, 0 Synonymgruppen: OK – 2 Hinweise zur Pflege (siehe oben)"


# --- round 2's evaluation set, now tuning data (tests/search_tuning_2.yaml): its shape -----------

EVAL_ROLES = {
    "jugendhilfeplanung",
    "sozialplanung",
    "ratsmitglied",
    "hauptamtsleitung",
    "quartiersmanagement",
    "digitallotse",
    "personalentwicklung",
}


def test_search_tuning_2_set_has_the_agreed_shape_and_refers_to_shipped_offerings() -> None:
    import yaml

    root = Path(__file__).resolve().parent.parent
    data = yaml.safe_load((root / "tests" / "search_tuning_2.yaml").read_text(encoding="utf-8"))
    assert set(data) == {"queries"}
    queries = data["queries"]
    catalogue = load_catalogue(root / "content")
    assert len(queries) >= 150
    assert sum(1 for q in queries if not q["relevant"]) >= 30
    assert {q["role"] for q in queries} == EVAL_ROLES
    assert len({q["query"] for q in queries}) == len(queries), "a query is listed twice"
    for q in queries:
        assert set(q) == {"role", "query", "relevant"}, q
        assert q["query"].strip(), q
        for offering_id, grade in q["relevant"].items():
            assert catalogue.get(offering_id) is not None, (q["query"], offering_id)
            assert grade in (1, 2), (q["query"], offering_id)


def test_homepage_declared_as_the_offering_is_no_hint(tmp_path: Path) -> None:
    from bot.features.catalogue.review import review

    entry = hint_entry("werkzeug", "Werkzeug", "Verein", "[planung]", "https://tool.de/")
    write(
        tmp_path,
        "angebote.yaml",
        entry.replace(
            "  link: https://tool.de/\n",
            "  link: https://tool.de/\n  startseite_ist_angebot: true\n",
        ),
    )
    assert not [hint for hint in review(load_catalogue(tmp_path)) if "Startseite" in hint]
    write(tmp_path, "angebote.yaml", entry)
    assert [hint for hint in review(load_catalogue(tmp_path)) if "Startseite" in hint]
