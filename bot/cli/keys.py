"""``impulsbot keys export|import``: back up the bot's room keys so a redeploy keeps its history.

The file is the standard passphrase-protected Megolm key export (the format Element's "Export E2E
room keys" writes), so it can also be read by other clients. The passphrase comes from an
environment variable or an interactive prompt, never from the command line (it would end up in
the shell history and the process list) and never in a log.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from nio import AsyncClient
from nio.exceptions import EncryptionError

from bot.config import Config, load_config
from bot.matrix.session import CROSS_SIGNING_SEEDS
from bot.matrix.shell import MatrixShell
from bot.store import Store

MIN_PASSPHRASE_LENGTH = 8


class KeysFailed(Exception):
    """Raised with a message worded for the operator (German, like the rest of the CLI)."""


@dataclass(frozen=True)
class KeysResult:
    sessions: int  # room key sessions in the file (export) or newly added (import)
    device_id: str


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser(
        "keys", help="Raumschlüssel sichern und wiederherstellen (Ende-zu-Ende-Verschlüsselung)"
    )
    actions = parser.add_subparsers(dest="keys_action", required=True, metavar="AKTION")
    export = actions.add_parser(
        "export", help="Raumschlüssel passwortgeschützt in eine Datei exportieren"
    )
    export.add_argument("--config", required=True, help="Pfad zur config.yaml")
    export.add_argument("--file", required=True, help="Zieldatei (wird mit Modus 0600 angelegt)")
    export.add_argument(
        "--passphrase-env",
        metavar="VARIABLE",
        help="Passphrase aus dieser Umgebungsvariable lesen (sonst wird sie abgefragt)",
    )
    export.set_defaults(func=run_export)
    imp = actions.add_parser("import", help="Raumschlüssel aus einer Exportdatei einspielen")
    imp.add_argument("--config", required=True, help="Pfad zur config.yaml")
    imp.add_argument("--file", required=True, help="Exportdatei")
    imp.add_argument(
        "--passphrase-env",
        metavar="VARIABLE",
        help="Passphrase aus dieser Umgebungsvariable lesen (sonst wird sie abgefragt)",
    )
    imp.set_defaults(func=run_import)


# ----------------------------------------------------------------------------- entry points


def run_export(args: argparse.Namespace) -> int:
    config = load_config(Path(args.config))
    try:
        passphrase = read_passphrase(args.passphrase_env, confirm=True)
        result = asyncio.run(export_room_keys(config, Path(args.file), passphrase))
    except KeysFailed as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(
        f"{result.sessions} Sitzungsschlüssel von Gerät {result.device_id} nach {args.file} "
        "exportiert. Datei und Passphrase getrennt und sicher aufbewahren.",
        file=sys.stderr,
    )
    seeds = config.storage.data_dir / "crypto" / CROSS_SIGNING_SEEDS
    if seeds.exists():
        print(
            f"Hinweis: Die Cross-Signing-Schlüssel des Bots stehen in {seeds}. Diese Datei beim "
            "Umzug ebenfalls sicher mitnehmen (Modus 0600), sonst erzeugt der Bot neue und "
            "Nutzende sehen eine geänderte Identität.",
            file=sys.stderr,
        )
    return 0


def run_import(args: argparse.Namespace) -> int:
    config = load_config(Path(args.config))
    try:
        passphrase = read_passphrase(args.passphrase_env, confirm=False)
        result = asyncio.run(import_room_keys(config, Path(args.file), passphrase))
    except KeysFailed as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(
        f"{result.sessions} neue Sitzungsschlüssel für Gerät {result.device_id} eingespielt. "
        "Läuft der Bot gerade, bitte neu starten, damit er sie verwendet.",
        file=sys.stderr,
    )
    return 0


def read_passphrase(env_var: str | None, *, confirm: bool) -> str:
    """From ``env_var`` if given, else asked twice (export) or once (import) on the terminal."""
    if env_var:
        passphrase = os.environ.get(env_var, "")
        if not passphrase:
            raise KeysFailed(f"Umgebungsvariable {env_var} ist nicht gesetzt oder leer.")
    else:
        if not sys.stdin.isatty():
            raise KeysFailed(
                "Keine Passphrase: bitte --passphrase-env VARIABLE angeben oder interaktiv starten."
            )
        passphrase = getpass.getpass("Passphrase: ")
        if confirm and getpass.getpass("Passphrase wiederholen: ") != passphrase:
            raise KeysFailed("Die beiden Eingaben stimmen nicht überein.")
    if confirm and len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise KeysFailed(
            f"Die Passphrase ist zu kurz (mindestens {MIN_PASSPHRASE_LENGTH} Zeichen)."
        )
    return passphrase


# ----------------------------------------------------------------------------- the work


async def export_room_keys(config: Config, target: Path, passphrase: str) -> KeysResult:
    """Write all inbound room keys of the bot's device, encrypted, to ``target`` (mode 0600)."""
    if not await asyncio.to_thread(config.storage.database.exists):
        raise KeysFailed(f"Datenbank {config.storage.database} fehlt: wurde der Bot je gestartet?")
    async with _bot_client(config, allow_login=False) as client:
        assert client.store is not None
        sessions = len(list(client.store.load_inbound_group_sessions()))
        target.parent.mkdir(parents=True, exist_ok=True)
        # nio writes the file itself (refusing to overwrite): let it write into a private
        # directory next to the target, then move it over atomically with mode 0600.
        workdir = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            written = workdir / target.name
            await client.export_keys(str(written), passphrase)
            os.chmod(written, 0o600)
            os.replace(written, target)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return KeysResult(sessions, str(client.device_id))


async def import_room_keys(config: Config, source: Path, passphrase: str) -> KeysResult:
    """Add the room keys in ``source`` to the bot's store (logging in first on a fresh one)."""
    if not await asyncio.to_thread(source.is_file):
        raise KeysFailed(f"Datei {source} gibt es nicht.")
    async with _bot_client(config, allow_login=True) as client:
        assert client.olm is not None
        before = sum(1 for _ in client.olm.inbound_group_store)
        try:
            await client.import_keys(str(source), passphrase)
        except EncryptionError as exc:
            raise KeysFailed(
                "Die Datei ließ sich nicht entschlüsseln: falsche Passphrase oder keine "
                "Schlüssel-Exportdatei."
            ) from exc
        after = sum(1 for _ in client.olm.inbound_group_store)
        return KeysResult(after - before, str(client.device_id))


@contextlib.asynccontextmanager
async def _bot_client(config: Config, *, allow_login: bool) -> AsyncIterator[AsyncClient]:
    """The bot's nio client on its crypto store; offline when the device is known."""
    async with Store(config.storage.database) as store:
        shell = MatrixShell(config, store)
        device_id = await store.get_value("matrix.device_id")
        try:
            if device_id:
                client = shell.make_client()
                # Only the store is needed; no request is made with this client.
                client.restore_login(config.matrix.user_id, device_id, "offline")
            elif allow_login:
                # A fresh deployment: create the device exactly as the bot would on first start.
                await shell.connect()
                client = shell.client
            else:
                raise KeysFailed(
                    "Dieser Bot hat noch kein Gerät (noch nie gestartet?): nichts zu exportieren."
                )
            yield client
        finally:
            await shell.close()
