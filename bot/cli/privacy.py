"""``impulsbot privacy report --config F [--format markdown|html] [--output FILE]``: the record of
processing activities for the data protection officer (``bot/privacy_report.py``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.config import load_config
from bot.privacy_report import render_html, render_markdown


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("privacy", help="Datenschutz: Verzeichnis von Verarbeitungstätigkeiten")
    actions = parser.add_subparsers(dest="privacy_action", required=True)
    report = actions.add_parser(
        "report", help="Verzeichnis von Verarbeitungstätigkeiten (Art. 30 DSGVO) ausgeben"
    )
    report.add_argument("--config", required=True)
    report.add_argument("--format", dest="fmt", choices=("markdown", "html"), default="markdown")
    report.add_argument("--output", help="Zieldatei (Standard: Standardausgabe)")
    report.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    config = load_config(Path(args.config))
    text = render_html(config) if args.fmt == "html" else render_markdown(config)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"Verzeichnis geschrieben nach {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
