"""The record of processing activities (Verzeichnis von Verarbeitungstätigkeiten, Art. 30 DSGVO),
generated from the personal-data declarations (``bot/personal_data.py``) and the configuration.

``render_markdown(config)`` and ``render_html(config)`` produce the same document: controller
contact, per category the tables and columns, purpose, legal basis, recipients, retention, how
the person is linked and how access and erasure work, and the technical and organisational
measures. Used by ``impulsbot privacy report`` and the dashboard's ``/datenschutz`` page.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from bot.personal_data import LINK_TEXT, MEASURES, Category, declarations
from bot.text.i18n import Texts

if TYPE_CHECKING:
    from bot.config import Config

TITLE = "Verzeichnis von Verarbeitungstätigkeiten – Impulsbot (Art. 30 DSGVO)"


def _rights(category: Category) -> str:
    if category.export is not None and category.erase is not None:
        return "Auskunft mit `!meine-daten`, Löschung mit `!vergessen`"
    if category.export is not None:
        return "Auskunft mit `!meine-daten`"
    return category.access_note or "–"


def _rows(category: Category, config: Config) -> list[tuple[str, str]]:
    texts = Texts("de")
    tables = "; ".join(f"{t} ({', '.join(cols)})" for t, cols in category.tables.items())
    rows = [
        ("Zweck", category.purpose),
        ("Rechtsgrundlage", category.legal_basis),
        ("Personenbezug", LINK_TEXT[category.link]),
        ("Empfänger", category.recipients),
        ("Aufbewahrung", category.retention_text(texts, config, config.bot.prefix)),
        ("Löschung nach Frist", "täglicher Aufbewahrungsjob" if category.purge else "–"),
        ("Betroffenenrechte", _rights(category)),
        ("Tabellen (Spalten)", tables),
    ]
    if category.access_note and (category.export is not None or category.erase is not None):
        rows.append(("Hinweis", category.access_note))
    return rows


def _general(config: Config) -> list[tuple[str, str]]:
    privacy = config.privacy
    return [
        ("Verantwortliche Stelle / Kontakt", privacy.contact),
        ("Betroffene", "Beschäftigte, die den Bot in Matrix-Räumen und Direktchats nutzen"),
        ("Aufbewahrung (privacy.retention_days)", f"{privacy.retention_days} Tage"),
        ("Mindestgruppe in Übersichten (privacy.min_group)", f"{privacy.min_group} Personen"),
        (
            "Exporte mit Matrix-IDs erlaubt (privacy.allow_identified_export)",
            "ja" if privacy.allow_identified_export else "nein",
        ),
        ("Datenbank", str(config.storage.database)),
    ]


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(config: Config) -> str:
    lines = [f"# {TITLE}", "", "## Allgemeine Angaben", "", "| Angabe | Wert |", "|---|---|"]
    lines += [f"| {_md_cell(k)} | {_md_cell(v)} |" for k, v in _general(config)]
    lines += ["", "## Kategorien personenbezogener Daten", ""]
    texts = Texts("de")
    for category in declarations():
        lines += [f"### {category.title(texts)}", "", "| Angabe | Wert |", "|---|---|"]
        lines += [f"| {k} | {_md_cell(v)} |" for k, v in _rows(category, config)]
        lines.append("")
    lines += ["## Technische und organisatorische Maßnahmen (Art. 32 DSGVO)", ""]
    lines += [f"- {measure}" for measure in MEASURES]
    return "\n".join(lines) + "\n"


def _html_table(rows: list[tuple[str, str]]) -> str:
    body = "".join(
        f'<tr><th scope="row">{html.escape(k)}</th><td>{html.escape(v)}</td></tr>' for k, v in rows
    )
    return f"<table>{body}</table>"


def render_html(config: Config) -> str:
    """A self-contained HTML page (every value escaped)."""
    return "\n".join(
        [
            '<!DOCTYPE html><html lang="de"><head><meta charset="utf-8">',
            f"<title>{html.escape(TITLE)}</title></head><body>",
            f"<h1>{html.escape(TITLE)}</h1>",
            render_html_fragment(config),
            "</body></html>\n",
        ]
    )


def render_html_fragment(config: Config) -> str:
    """The record's sections, headings from ``h2`` down (the dashboard page has its own ``h1``)."""
    texts = Texts("de")
    parts = [
        "<h2>Allgemeine Angaben</h2>",
        _html_table(_general(config)),
        "<h2>Kategorien personenbezogener Daten</h2>",
    ]
    for category in declarations():
        parts.append(f"<h3>{html.escape(category.title(texts))}</h3>")
        parts.append(_html_table(_rows(category, config)))
    parts.append("<h2>Technische und organisatorische Maßnahmen (Art. 32 DSGVO)</h2><ul>")
    parts += [f"<li>{html.escape(measure)}</li>" for measure in MEASURES]
    parts.append("</ul>")
    return "\n".join(parts)
