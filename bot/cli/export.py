"""``impulsbot export <dataset> --config F --format … [--since] [--until] [--room] [--output]``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import BinaryIO

from bot.config import Config, load_config
from bot.features.export import feedback, gaps, polls
from bot.features.export.options import ExportFailed, ExportOptions
from bot.store import Store

STDOUT_FORMATS = {"csv", "json", "jsonl"}
DATASETS: tuple[ModuleType, ...] = (feedback, gaps, polls)


def datasets() -> dict[str, ModuleType]:
    return {module.NAME: module for module in DATASETS}


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("export", help="Daten für das Initiativteam exportieren")
    parser.add_argument("dataset", choices=sorted(datasets()), help="was exportiert wird")
    parser.add_argument("--config", required=True)
    parser.add_argument("--format", dest="fmt", default=None, help="csv, xlsx, json, jsonl …")
    parser.add_argument("--since", help="ab Tag (JJJJ-MM-TT, einschließlich)")
    parser.add_argument("--until", help="bis Tag (JJJJ-MM-TT, einschließlich)")
    parser.add_argument("--room", dest="room_id", help="nur dieser Raum (Raum-ID)")
    parser.add_argument("--output", help="Zieldatei (Standard: Standardausgabe bei csv/json/jsonl)")
    parser.add_argument(
        "--with-user-ids",
        action="store_true",
        help="echte Matrix-IDs statt Pseudonymen (nur mit privacy.allow_identified_export: true)",
    )
    parser.add_argument(
        "--stable-pseudonyms",
        action="store_true",
        help="dieselben Pseudonyme wie in früheren Exporten (Standard: neue Pseudonyme je Export)",
    )
    parser.add_argument(
        "--with-times",
        action="store_true",
        help="Uhrzeiten mit exportieren (Standard: nur das Datum)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    config = load_config(Path(args.config))
    module = datasets()[args.dataset]
    fmt = args.fmt or module.FORMATS[0]
    if fmt not in module.FORMATS:
        print(
            f"Format „{fmt}“ gibt es für {module.NAME} nicht. Möglich: {', '.join(module.FORMATS)}",
            file=sys.stderr,
        )
        return 2
    if args.output is None and fmt not in STDOUT_FORMATS:
        print(f"Für {fmt} bitte eine Zieldatei mit --output angeben.", file=sys.stderr)
        return 2
    options = ExportOptions(
        fmt=fmt,
        since=args.since,
        until=args.until,
        room_id=args.room_id,
        with_user_ids=args.with_user_ids,
        stable_pseudonyms=args.stable_pseudonyms,
        with_times=args.with_times,
    )
    try:
        count = asyncio.run(_export(config, module, options, args.output))
    except ExportFailed as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(f"{count} Zeilen exportiert.", file=sys.stderr)
    return 0


async def _export(
    config: Config, module: ModuleType, options: ExportOptions, output: str | None
) -> int:
    async with Store(config.storage.database) as store:
        if output is None:
            out: BinaryIO = sys.stdout.buffer
            count = await module.export(store, config, options, out)
            out.flush()
            return int(count)
        return await _export_to_file(store, config, module, options, Path(output))


async def _export_to_file(
    store: Store, config: Config, module: ModuleType, options: ExportOptions, target: Path
) -> int:
    """Write next to the target and rename at the end: a failed export leaves no half file."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            count = await module.export(store, config, options, out)
        os.chmod(temp_name, 0o600)
        os.replace(temp_name, target)
    except BaseException:
        os.unlink(temp_name)
        raise
    return int(count)
