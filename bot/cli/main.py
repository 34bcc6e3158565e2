"""Command line: ``impulsbot run|check-config|demo|catalogue|export|keys``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bot import __version__
from bot.config import Config, ConfigError, load_config

log = logging.getLogger("impulsbot")

Handler = Callable[[argparse.Namespace], int]


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # nio and aiohttp are chatty and may echo request details; keep them to warnings.
    for noisy in ("nio", "aiohttp", "peewee"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _load(path: str) -> Config:
    return load_config(Path(path))


def cmd_run(args: argparse.Namespace) -> int:
    from bot.app import Impulsbot
    from bot.matrix.shell import SendFailed

    config = _load(args.config)
    try:
        asyncio.run(Impulsbot(config).run())
    except content_errors() as exc:
        # Content editors' mistakes: print them as worded (file, line, field), no traceback.
        print(f"{config.content.directory}: die Inhalte haben Fehler:", file=sys.stderr)
        print(exc, file=sys.stderr)
        return 2
    except SendFailed as exc:
        print(f"Matrix: {exc}", file=sys.stderr)
        return 1
    return 0


def content_errors() -> tuple[type[Exception], ...]:
    from bot.features.catalogue.load import CatalogueError
    from bot.features.impulses.library import ImpulseError
    from bot.features.tandem.starters import ContentError

    return (CatalogueError, ImpulseError, ContentError)


def cmd_check_config(args: argparse.Namespace) -> int:
    config = _load(args.config)
    print(
        f"{args.config}: OK (Homeserver {config.matrix.homeserver}, Nutzer {config.matrix.user_id})"
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.dev.demo import run_demo

    if not args.verbose:  # keep the terminal chat readable
        logging.getLogger().setLevel(logging.WARNING)

    return asyncio.run(run_demo(script=args.script, port=args.port, encrypted=args.encrypted))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="impulsbot",
        description="Impulsbot – Matrix-Bot für den niedrigschwelligen Fachaustausch.",
    )
    parser.add_argument("--version", action="version", version=f"impulsbot {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="ausführliches Log")
    sub = parser.add_subparsers(dest="command", required=True, metavar="BEFEHL")

    run = sub.add_parser("run", help="den Bot starten")
    run.add_argument("--config", required=True, help="Pfad zur config.yaml")
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check-config", help="Konfiguration prüfen (Exit-Code ≠ 0 bei Fehlern)")
    check.add_argument("--config", required=True)
    check.set_defaults(func=cmd_check_config)

    demo = sub.add_parser("demo", help="lokale Demo mit eigenem Synapse und Terminal-Chat")
    demo.add_argument("--port", type=int, default=None, help="Port des Demo-Homeservers")
    demo.add_argument(
        "--script",
        nargs="*",
        default=None,
        help="diese Nachrichten senden, Antworten zeigen, enden",
    )
    demo.add_argument(
        "--unverschluesselt",
        dest="encrypted",
        action="store_false",
        help="Demo-Raum ohne Ende-zu-Ende-Verschlüsselung",
    )
    demo.set_defaults(func=cmd_demo)

    for register in _feature_parsers():
        register(sub)
    return parser


def _feature_parsers() -> list[Callable[[argparse._SubParsersAction], None]]:  # type: ignore[type-arg]
    """The feature subcommands, each module adding its own through ``register(sub)``."""
    from bot.cli import catalogue, export, keys, privacy

    return [catalogue.register, export.register, keys.register, privacy.register]


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except (KeyboardInterrupt, asyncio.CancelledError):
        return 130


if __name__ == "__main__":
    sys.exit(main())
