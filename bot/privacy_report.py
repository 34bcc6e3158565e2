"""Record of processing activities (placeholder until issue 14's module is merged).

Issue 14 owns this module; the dashboard only calls ``render_html(config) -> str``. This minimal
version exists so that ``/datenschutz`` can be built and tested before that merge.
"""

from __future__ import annotations

from html import escape

from bot.config import Config


def render_html(config: Config) -> str:
    """An HTML fragment (no ``<html>``/``<body>``) describing what the bot processes."""
    privacy = config.privacy
    rows = [
        ("Verantwortliche Stelle / Kontakt", privacy.contact),
        ("Speicherdauer der Rückmeldungen", f"{privacy.retention_days} Tage"),
        ("Mindestgruppe für Auswertungen", str(privacy.min_group)),
        ("Exporte mit Matrix-IDs erlaubt", "ja" if privacy.allow_identified_export else "nein"),
    ]
    body = "".join(
        f'<tr><th scope="row">{escape(k)}</th><td>{escape(v)}</td></tr>' for k, v in rows
    )
    return (
        "<h2>Verzeichnis von Verarbeitungstätigkeiten (Art. 30 DSGVO)</h2>"
        f"<table><tbody>{body}</tbody></table>"
    )
