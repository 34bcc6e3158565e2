"""Daily impulses: loading and validating the files, rendering for Matrix, rotation, plan."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.features.impulses.library import ImpulseError, check_impulses, load_impulses
from bot.features.impulses.model import Impulse, ImpulseLibrary, choose_next, upcoming
from bot.features.impulses.render import render_impulse, render_plan
from bot.features.impulses.schedule import Schedule, next_slots

BERLIN = ZoneInfo("Europe/Berlin")
SHIPPED = Path(__file__).resolve().parent.parent / "content"
TAG = re.compile(r"</?[a-zA-Z][^>]*>")


def write(folder: Path, name: str, text: str) -> Path:
    impulse_dir = folder / "impulse"
    impulse_dir.mkdir(exist_ok=True)
    path = impulse_dir / name
    path.write_text(text, encoding="utf-8")
    return path


def impulse_file(title: str, body: str = "Ein kurzer Text.", **fields: str) -> str:
    header = [f'titel: "{title}"', *(f"{key}: {value}" for key, value in fields.items())]
    return "---\n" + "\n".join(header) + "\n---\n" + body + "\n"


def make(impulse_id: str, *topics: str, order: int | None = None) -> Impulse:
    return Impulse(
        id=impulse_id,
        title=f"Titel {impulse_id}",
        topics=topics,
        order=order,
        question=None,
        body="Text",
        path=Path(f"{impulse_id}.md"),
    )


def only_problem(folder: Path) -> str:
    problems = check_impulses(folder)
    assert len(problems) == 1, problems
    return problems[0]


# ------------------------------------------------------------------------------------- loading


def test_loads_fields_and_orders_by_reihenfolge_then_file_name(tmp_path: Path) -> None:
    write(tmp_path, "b-zweiter.md", impulse_file("Zweiter", themen="[KI]"))
    write(tmp_path, "a-ohne.md", impulse_file("Ohne Reihenfolge"))
    write(tmp_path, "10-spaet.md", impulse_file("Zehn"))
    write(tmp_path, "2-frueh.md", impulse_file("Zwei"))
    write(
        tmp_path,
        "z-erster.md",
        impulse_file("Erster", themen="[Beteiligung, Daten]", reihenfolge="1", frage="Und Sie?"),
    )
    write(tmp_path, "c-dritter.md", impulse_file("Dritter", reihenfolge="5"))

    library = load_impulses(tmp_path)

    assert [imp.id for imp in library] == [
        "z-erster",
        "c-dritter",
        "2-frueh",  # without reihenfolge: by file name, numbers as people count
        "10-spaet",
        "a-ohne",
        "b-zweiter",
    ]
    first = library.get("z-erster")
    assert first is not None
    assert (first.title, first.topics, first.order, first.question) == (
        "Erster",
        ("Beteiligung", "Daten"),
        1,
        "Und Sie?",
    )
    assert first.body == "Ein kurzer Text."
    assert library.topics() == ["Beteiligung", "Daten", "KI"]


def test_accepts_content_folder_or_impulse_folder(tmp_path: Path) -> None:
    write(tmp_path, "eins.md", impulse_file("Eins"))
    assert [i.id for i in load_impulses(tmp_path)] == ["eins"]
    assert [i.id for i in load_impulses(tmp_path / "impulse")] == ["eins"]


def test_drafts_and_readme_are_not_impulses(tmp_path: Path) -> None:
    write(tmp_path, "eins.md", impulse_file("Eins"))
    write(tmp_path, "README.md", "# Wie man Impulse schreibt\n")
    write(tmp_path, "_vorlage.md", "---\ntitel: \n---\n")
    write(tmp_path, "notizen.txt", "kein Impuls")
    assert [i.id for i in load_impulses(tmp_path)] == ["eins"]


def test_optional_fields_may_be_left_empty(tmp_path: Path) -> None:
    write(tmp_path, "eins.md", "---\ntitel: Eins\nthemen:\nfrage:\nreihenfolge:\n---\nText\n")
    impulse = load_impulses(tmp_path).impulses[0]
    assert (impulse.topics, impulse.question, impulse.order) == ((), None, None)


def test_windows_line_endings_and_bom_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "impulse"
    path.mkdir()
    (path / "eins.md").write_bytes("\ufeff---\r\ntitel: Eins\r\n---\r\nText\r\n".encode())
    assert load_impulses(tmp_path).impulses[0].title == "Eins"


def test_missing_folder_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ImpulseError) as caught:
        load_impulses(tmp_path / "gibt-es-nicht")
    assert "nicht gefunden" in caught.value.problems[0]


# ---------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("name", "front_matter", "start", "fragments"),
    [
        pytest.param(
            "ki.md",
            "titel: KI im Alltag\nthema: [KI]",
            "impulse/ki.md, Zeile 3, Feld „thema“",
            ("„themen“",),
            id="unknown key names file, line, field and suggests the right one",
        ),
        pytest.param(
            "ohne.md", "themen: [KI]", "", ("impulse/ohne.md", "„titel“", "Pflicht"), id="no title"
        ),
        pytest.param(
            "jahr.md",
            "titel: 2024",
            "",
            ("Zeile 2", "„titel“", "Anführungszeichen"),
            id="yes or number as title is not silently converted",
        ),
        pytest.param(
            "lc.md",
            "themen: [a]\ntitel: Lean Coffee: so geht's",
            "impulse/lc.md, Zeile 3",
            ("Doppelpunkt", "Anführungszeichen"),
            id="yaml error names the line and explains the colon",
        ),
        pytest.param(
            "tab.md",
            "titel: Tab\n\tthemen: [a]",
            "impulse/tab.md, Zeile 3",
            ("Tabulator",),
            id="tab indentation is explained",
        ),
        pytest.param(
            "kaputt.md",
            "titel: Kaputt\nthemen: [a, b",
            "impulse/kaputt.md, Zeile",
            ("kein gültiges YAML",),
            id="other yaml errors keep the parser detail",
        ),
        pytest.param(
            "doppelt.md",
            "titel: Eins\nthemen: [a]\ntitel: Zwei",
            "impulse/doppelt.md, Zeile 4, Feld „titel“",
            ("Zeile 2",),
            id="duplicate key is an error",
        ),
    ],
)
def test_front_matter_problem_is_explained(
    tmp_path: Path, name: str, front_matter: str, start: str, fragments: tuple[str, ...]
) -> None:
    write(tmp_path, name, f"---\n{front_matter}\n---\nText\n")
    problem = only_problem(tmp_path)
    assert problem.startswith(start), problem
    for fragment in fragments:
        assert fragment in problem, (fragment, problem)


def test_wrong_types_point_at_the_value_line(tmp_path: Path) -> None:
    write(
        tmp_path,
        "typen.md",
        "---\ntitel: Typen\nreihenfolge: zehn\nthemen: Zusammenarbeit\n---\nText\n",
    )
    write(tmp_path, "liste.md", "---\ntitel: Liste\nthemen:\n  - KI\n  - 42\n---\nText\n")
    problems = check_impulses(tmp_path)
    assert len(problems) == 3, problems
    assert problems[0].startswith("impulse/liste.md, Zeile 5, Feld „themen“")
    assert "42" in problems[0]
    assert problems[1].startswith("impulse/typen.md, Zeile 3, Feld „reihenfolge“")
    assert "zehn" in problems[1] and "ganze Zahl" in problems[1]
    assert problems[2].startswith("impulse/typen.md, Zeile 4, Feld „themen“")
    assert "Liste" in problems[2]


def test_indented_code_block_at_the_start_survives(tmp_path: Path) -> None:
    plain, html = rendered(tmp_path, "\n    !impuls plan\n\nDann sehen Sie den Plan.")
    assert "<pre><code>!impuls plan" in html
    assert "!impuls plan\n\nDann sehen Sie den Plan." in plain


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nur Text ohne Kopf\n", "Kopfbereich beginnen"),
        ("---\ntitel: Offen\nText\n", "nicht mit einer Zeile `---` abgeschlossen"),
        ("---\ntitel: Leer\n---\n\n  \n", "fehlt der Text"),
        ("---\n- titel\n---\nText\n", "`feld: wert`"),
        ("---\ntitel: '  '\n---\nText\n", "darf nicht leer sein"),
    ],
)
def test_broken_structure(tmp_path: Path, text: str, expected: str) -> None:
    write(tmp_path, "kaputt.md", text)
    problem = only_problem(tmp_path)
    assert problem.startswith("impulse/kaputt.md")
    assert expected in problem


def test_file_name_must_be_a_usable_id(tmp_path: Path) -> None:
    write(tmp_path, "Mein Impuls.md", impulse_file("Mein Impuls"))
    assert "„Mein Impuls.md“" in only_problem(tmp_path)


def test_html_and_unsafe_links_in_the_body_are_reported_with_line(tmp_path: Path) -> None:
    body = "Erste Zeile.\n\nDas ist <b>wichtig</b>.\n\n[Klick](javascript:alert(1))"
    write(tmp_path, "html.md", impulse_file("HTML", body=body))
    problems = check_impulses(tmp_path)
    assert len(problems) == 2, problems
    assert problems[0].startswith("impulse/html.md, Zeile 6") and "„<b>“" in problems[0]
    assert problems[1].startswith("impulse/html.md, Zeile 8") and "javascript:" in problems[1]


def test_same_title_twice_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "a.md", impulse_file("Gleich"))
    write(tmp_path, "b.md", impulse_file("gleich"))
    problem = only_problem(tmp_path)
    assert problem.startswith("impulse/b.md, Zeile 2, Feld „titel“") and "impulse/a.md" in problem


def test_all_problems_of_all_files_are_collected(tmp_path: Path) -> None:
    write(tmp_path, "gut.md", impulse_file("Gut"))
    write(tmp_path, "eins.md", "---\ntitel: Eins\nfarbe: rot\nreihenfolge: x\n---\nText\n")
    write(tmp_path, "zwei.md", "kein Kopf\n")
    with pytest.raises(ImpulseError) as caught:
        load_impulses(tmp_path)
    problems = caught.value.problems
    assert [p.split(",")[0].split(":")[0] for p in problems] == [
        "impulse/eins.md",
        "impulse/eins.md",
        "impulse/zwei.md",
    ]
    assert "Zeile 3" in problems[0] and "farbe" in problems[0]
    assert "Zeile 4" in problems[1] and "reihenfolge" in problems[1]
    assert str(caught.value).count("\n") == 2


def test_problems_in_english(tmp_path: Path) -> None:
    write(tmp_path, "ki.md", "---\ntitel: KI\nthema: [KI]\n---\nText\n")
    problems = check_impulses(tmp_path, lang="en")
    assert problems[0].startswith("impulse/ki.md, line 3, field “thema”")


# ----------------------------------------------------------------------------------- rendering


def rendered(tmp_path: Path, body: str, **fields: str) -> tuple[str, str]:
    write(tmp_path, "x.md", impulse_file("Lean Coffee: kurz erklärt", body=body, **fields))
    message = render_impulse(load_impulses(tmp_path).impulses[0])
    return message.plain, message.html


def test_title_first_question_last(tmp_path: Path) -> None:
    plain, html = rendered(tmp_path, "Der **Kern** des Impulses.", frage='"Was meinen Sie?"')
    assert plain == "Lean Coffee: kurz erklärt\n\nDer Kern des Impulses.\n\n💬 Was meinen Sie?"
    assert html.startswith("<p><b>Lean Coffee: kurz erklärt</b></p>")
    assert "<strong>Kern</strong>" in html
    assert html.endswith("<p>💬 <i>Was meinen Sie?</i></p>")


def test_without_question_nothing_is_appended(tmp_path: Path) -> None:
    plain, html = rendered(tmp_path, "Text.")
    assert plain == "Lean Coffee: kurz erklärt\n\nText."
    assert "💬" not in html


def test_links_lists_and_plain_text(tmp_path: Path) -> None:
    body = (
        "Mehr beim [BSI](https://www.bsi.bund.de) oder <https://example.org>.\n"
        "Fragen an <info@example.org>.\n\n"
        "Drei Schritte:\n"
        "- Themen *sammeln*\n"
        "- Punkte vergeben\n"
        "  - höchstens drei\n"
        "- reden\n\n"
        "1. erstens\n"
        "2. zweitens\n"
    )
    plain, html = rendered(tmp_path, body)
    assert "Mehr beim BSI (https://www.bsi.bund.de) oder https://example.org." in plain
    assert "Fragen an info@example.org." in plain
    assert "• Themen sammeln\n• Punkte vergeben\n  • höchstens drei\n• reden" in plain
    assert "1. erstens\n2. zweitens" in plain
    assert not TAG.search(plain)
    assert '<a href="https://www.bsi.bund.de">BSI</a>' in html
    assert '<a href="mailto:info@example.org">info@example.org</a>' in html
    assert html.count("<ul>") == 2  # the sub-item is a nested list
    assert "<em>sammeln</em>" in html


def test_raw_html_is_shown_as_text_not_interpreted() -> None:
    impulse = make("x")
    body = 'Hallo <script>alert("x")</script> und <a href="https://evil.example">Link</a>\n\n<div>Block</div>'
    message = render_impulse(
        Impulse(**{**impulse.__dict__, "body": body})  # bypass the loader's HTML check
    )
    assert "<script" not in message.html and "<div" not in message.html
    assert "evil.example" not in re.findall(r'href="([^"]*)"', message.html)
    assert "&lt;script&gt;" in message.html
    assert '<script>alert("x")</script>' in message.plain  # readers see what was typed


def test_unsafe_link_never_becomes_a_link() -> None:
    impulse = make("x")
    message = render_impulse(
        Impulse(**{**impulse.__dict__, "body": "[Klick](javascript:alert(1)) [rel](seite.html)"})
    )
    assert "href" not in message.html
    assert "Klick" in message.plain and "javascript" not in message.plain


def test_user_text_in_title_and_question_is_escaped() -> None:
    impulse = make("x")
    message = render_impulse(
        Impulse(**{**impulse.__dict__, "title": "A <b> & B", "question": "<i>x</i>?"})
    )
    assert "A &lt;b&gt; &amp; B" in message.html and "&lt;i&gt;x&lt;/i&gt;?" in message.html
    assert message.plain.startswith("A <b> & B\n")


def test_escapes_entities_and_code_read_the_same_in_both_forms() -> None:
    impulse = make("x")
    body = "AT&T, &copy; und \\*keine Betonung\\* sowie `a <b> & c`"
    message = render_impulse(Impulse(**{**impulse.__dict__, "body": body}))
    assert "AT&T, © und *keine Betonung* sowie a <b> & c" in message.plain
    assert "<code>a &lt;b&gt; &amp; c</code>" in message.html
    assert "AT&amp;T" in message.html


def test_list_right_after_a_paragraph_line_is_a_list(tmp_path: Path) -> None:
    plain, html = rendered(tmp_path, "Drei Tipps:\n- eins\n- zwei\n\nWir sehen uns am\n3. Oktober.")
    assert "<ul>" in html
    assert "Drei Tipps:\n\n• eins\n• zwei" in plain
    # Only "1." may start a list inside a paragraph, so a date stays text.
    assert "Wir sehen uns am 3. Oktober." in plain and "<ol>" not in html


def test_image_becomes_a_link() -> None:
    impulse = make("x")
    message = render_impulse(
        Impulse(**{**impulse.__dict__, "body": "![Grafik](https://example.org/a.png)"})
    )
    assert "<img" not in message.html
    assert '<a href="https://example.org/a.png">Grafik</a>' in message.html
    assert "Grafik (https://example.org/a.png)" in message.plain


def test_word_count_counts_words_not_bullets() -> None:
    impulse = make("x")
    counted = Impulse(
        **{**impulse.__dict__, "body": "Ein **kurzer** Satz.\n\n- zwei Punkte\n- drei"}
    )
    assert counted.word_count == 6


# ------------------------------------------------------------------------------------ rotation


def library(*impulses: Impulse) -> ImpulseLibrary:
    return ImpulseLibrary.of(impulses)


def play(
    lib: ImpulseLibrary, history: list[str], rounds: int, topics: set[str] | None = None
) -> list[str]:
    posted = []
    for _ in range(rounds):
        impulse = choose_next(lib, history, topics)
        assert impulse is not None
        history.append(impulse.id)
        posted.append(impulse.id)
    return posted


def test_every_impulse_once_before_repeats_in_rotation_order() -> None:
    lib = library(make("c"), make("a"), make("b", order=1))
    assert play(lib, [], 6) == ["b", "a", "c", "b", "a", "c"]


def test_topic_filter_case_insensitive() -> None:
    lib = library(make("a", "KI"), make("b", "Daten"), make("c", "ki", "Daten"), make("d"))
    assert play(lib, [], 4, {"ki"}) == ["a", "c", "a", "c"]
    assert play(lib, [], 3, {"daten", "KI"}) == ["a", "b", "c"]
    assert choose_next(lib, [], {"Unbekannt"}) is None
    # An empty filter means no filter.
    assert play(lib, [], 4, set()) == ["a", "b", "c", "d"]


def test_impulses_added_later_come_before_repeats() -> None:
    history = play(library(make("a"), make("b"), make("c")), [], 4)
    assert history == ["a", "b", "c", "a"]
    grown = library(make("a"), make("b"), make("c"), make("aa"), make("z"))
    # The new ones first (in rotation order), then the least recently posted: b, c, a, aa, z.
    assert play(grown, history, 7) == ["aa", "z", "b", "c", "a", "aa", "z"]


def test_repeat_round_starts_with_the_least_recently_posted() -> None:
    lib = library(make("a"), make("b"), make("c"))
    # Posted out of order (e.g. a moderator posted c by hand first).
    assert play(lib, ["c", "a", "b"], 3) == ["c", "a", "b"]


def test_changed_topics_bring_unseen_impulses_first() -> None:
    lib = library(make("a", "KI"), make("b", "KI"), make("c", "Daten"), make("d", "Daten"))
    history = play(lib, [], 4, {"KI"})
    assert play(lib, history, 4, None) == ["c", "d", "a", "b"]


def test_deleted_impulses_in_history_are_ignored() -> None:
    lib = library(make("a"), make("b"))
    assert play(lib, ["alt", "a", "alt"], 2) == ["b", "a"]


def test_empty_library() -> None:
    assert choose_next(library(), ["a"], None) is None
    assert upcoming(library(), [], None) == []


def test_upcoming_previews_what_will_be_posted_without_changing_history() -> None:
    lib = library(*(make(name) for name in "abcdefg"))
    history = ["a", "b"]
    preview = upcoming(lib, history, None, n=7)
    assert history == ["a", "b"]
    assert [imp.id for imp in preview] == play(lib, list(history), 7)
    assert [imp.id for imp in preview] == ["c", "d", "e", "f", "g", "a", "b"]
    assert len(upcoming(lib, history)) == 5


# ---------------------------------------------------------------------------------------- plan


def test_plan_lines_with_dates_and_holiday_note() -> None:
    lib = library(
        Impulse(**{**make("a-lc").__dict__, "title": "Lean Coffee: Besprechungen ohne Agenda"}),
        make("b"),
        make("c"),
    )
    schedule = Schedule()
    now = dt.datetime(2025, 10, 1, 12, 0, tzinfo=BERLIN)  # Wednesday
    slots = next_slots(schedule, BERLIN, now, 3, holidays_state="NW")
    entries = list(zip(slots, upcoming(lib, [], None, n=3), strict=True))
    plan = render_plan(entries, schedule, BERLIN, now=now, holidays_state="NW")
    assert plan.plain.split("\n") == [
        "Die nächsten Impulse (Mo–Fr um 09:00 Uhr)",
        "Do, 02.10.2025, 09:00 – Lean Coffee: Besprechungen ohne Agenda",
        "Fr, 03.10.2025 – Feiertag (Tag der Deutschen Einheit), kein Impuls",
        "Mo, 06.10.2025, 09:00 – Titel b",
        "Di, 07.10.2025, 09:00 – Titel c",
    ]
    assert "<b>Die nächsten Impulse</b>" in plan.html


def test_plan_shows_pause_and_empty_state_in_english() -> None:
    plan = render_plan([], Schedule(), BERLIN, "en", pause_until=dt.date(2026, 12, 31))
    assert plan.plain.split("\n") == [
        "Upcoming impulses (Mon–Fri at 09:00)",
        "Paused until Thu, 2026-12-31 (inclusive).",
        "No impulse is coming up for this room – there are no matching impulses.",
    ]


# ------------------------------------------------------------------------------ shipped content


def test_shipped_impulses_load_and_have_the_right_length() -> None:
    lib = load_impulses(SHIPPED)
    # a Mon-Fri schedule runs 12 weeks without repeating
    assert len(lib) >= 12 * 5
    lengths = {imp.id: imp.word_count for imp in lib}
    assert all(80 <= words <= 200 for words in lengths.values()), lengths
    for impulse in lib:
        message = render_impulse(impulse)
        assert not TAG.search(message.plain), impulse.id
        assert message.plain.startswith(impulse.title)


@given(
    ids=st.lists(st.sampled_from("abcdefgh"), min_size=1, max_size=8, unique=True),
    history=st.lists(st.sampled_from("abcdefghxyz"), max_size=30),
)
def test_from_any_history_the_next_round_shows_each_impulse_exactly_once(
    ids: list[str], history: list[str]
) -> None:
    lib = library(*(make(i) for i in ids))
    next_round = play(lib, list(history), len(ids))
    assert sorted(next_round) == sorted(ids)


def test_angle_brackets_that_are_not_html_are_fine(tmp_path: Path) -> None:
    body = (
        "Schreiben Sie an <Vorname.Nachname@example.org> oder nutzen Sie <Vorname Nachname>."
        "\n\n`<b>` ist HTML."
    )
    write(tmp_path, "klammern.md", impulse_file("Klammern", body=body))
    impulse = load_impulses(tmp_path).impulses[0]
    assert "<Vorname Nachname>" in render_impulse(impulse).plain


def test_shipped_impulses_cover_council_members_and_leadership() -> None:
    lib = load_impulses(SHIPPED)
    topics = [set(impulse.topics) for impulse in lib]
    assert sum("politik" in t for t in topics) >= 5
    assert sum("fuehrung" in t for t in topics) >= 5
    assert len({impulse.title for impulse in lib}) == len(lib)
    orders = [impulse.order for impulse in lib if impulse.order is not None]
    assert len(orders) == len(set(orders)), "two impulses share a reihenfolge"
