"""``impulsbot catalogue check [DIR] [--config F]``: validate the catalogue files, no bot needed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.config import load_config
from bot.features.catalogue.load import check_content, load_catalogue
from bot.features.catalogue.review import review
from bot.text.i18n import Texts


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("catalogue", help="den Angebotskatalog (content/) prüfen")
    actions = parser.add_subparsers(dest="catalogue_command", required=True, metavar="AKTION")
    check = actions.add_parser(
        "check",
        help="angebote.yaml und synonyme.yaml prüfen (Exit-Code 1 bei Problemen); "
        "Pflegehinweise wie fehlende Links werden nur gemeldet",
    )
    check.add_argument(
        "directory",
        nargs="?",
        default=None,
        help="Ordner mit angebote.yaml (Standard: content.directory aus --config, sonst content)",
    )
    check.add_argument("--config", default=None, help="Pfad zur config.yaml")
    check.add_argument("--lang", choices=("de", "en"), default=None, help="Sprache der Meldungen")
    check.set_defaults(func=run_check)


def content_directory(directory: str | None, config_path: str | None) -> tuple[Path, str]:
    """The folder to check and the language for messages (from the config, if given)."""
    if config_path is None:
        return Path(directory or "content"), "de"
    config = load_config(Path(config_path))
    folder = Path(directory) if directory else config.content.directory
    return folder, config.bot.language


def run_check(args: argparse.Namespace) -> int:
    folder, lang = content_directory(args.directory, args.config)
    lang = args.lang or lang
    problems = check_content(folder, lang)
    if problems:
        for problem in problems:
            print(problem)
        noun = "Problem" if len(problems) == 1 else "Probleme"
        print(f"{folder}: {len(problems)} {noun} gefunden.", file=sys.stderr)
        return 1
    catalogue = load_catalogue(folder, lang)
    hints = review(catalogue, lang)
    t = Texts(lang)
    if hints:
        print(t("angebot.hint.heading", count=len(hints)).plain)
        for hint in hints:
            print(hint)
        summary = t(
            "angebot.hint.summary",
            entries=len(catalogue),
            groups=len(catalogue.synonyms),
            count=len(hints),
        ).plain
        print(summary)
    else:
        print(f"{len(catalogue)} Angebote, {len(catalogue.synonyms)} Synonymgruppen: OK")
    return 0
