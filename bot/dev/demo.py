"""``impulsbot demo``: a throwaway Synapse, the bot with the shipped content, a terminal chat."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from bot.config import load_config
from bot.dev.client import DevUser, body_of
from bot.dev.server import LocalSynapse, free_port
from bot.web.auth import issue_login_link

log = logging.getLogger(__name__)

DEMO_PASSWORD = "impuls-demo"
REPLY_WAIT_S = 20.0


def shipped_content() -> Path:
    """The ``content/`` folder next to the package (source checkout or editable install)."""
    candidate = Path(__file__).resolve().parents[2] / "content"
    if not candidate.is_dir():
        raise SystemExit(
            "Der Ordner content/ wurde nicht gefunden – bitte aus dem Repository starten."
        )
    return candidate


def write_demo_config(
    folder: Path,
    homeserver: str,
    bot_user: str,
    bot_password: str,
    demo_user: str,
    web_port: int | None = None,
) -> Path:
    config = {
        "matrix": {
            "homeserver": homeserver,
            "user_id": bot_user,
            "password": bot_password,
            "device_name": "Impulsbot (Demo)",
        },
        "storage": {"database": str(folder / "bot" / "impulsbot.db")},
        # A copy: edits in the dashboard must not change the repository's content/.
        "content": {"directory": str(_content_copy(folder))},
        "bot": {"prefix": "!", "language": "de", "timezone": "Europe/Berlin"},
        "access": {
            "moderators": [demo_user],
            "team": [demo_user],
            "invite_allowlist": [demo_user.split(":", 1)[1]],
        },
        "privacy": {"pseudonym_key": secrets.token_hex(16)},
    }
    if web_port is not None:
        config["web"] = {"listen": f"127.0.0.1:{web_port}"}
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    path.chmod(0o600)
    return path


def _content_copy(folder: Path) -> Path:
    target = folder / "content"
    if not target.exists():
        shutil.copytree(shipped_content(), target)
    return target


def print_banner(hs: LocalSynapse, room_id: str, dashboard: str = "", link: str = "") -> None:
    web = (
        f" Dashboard:    {dashboard}\n"
        f" Anmeldelink:  {link}\n"
        "   (10 Minuten gültig, einmal nutzbar; neuer Link im Chat mit !dashboard)\n"
        "\n"
        if dashboard
        else ""
    )
    print(
        "\n"
        "════════════════════════════════════════════════════════════════════\n"
        " Impulsbot-Demo läuft – mit einem echten, lokalen Synapse-Homeserver.\n"
        "\n"
        f"   Homeserver: {hs.url}\n"
        f"   Nutzer:     demo   (vollständig: {hs.user_id('demo')})\n"
        f"   Passwort:   {DEMO_PASSWORD}\n"
        f"   Raum:       {room_id}\n"
        "\n"
        " Mit Element verbinden: Homeserver-Adresse oben eintragen, als 'demo'\n"
        " anmelden, den Raum 'Impulsbot-Demo' öffnen.\n"
        " Hier im Terminal schreiben Sie als 'demo', z. B.:  !hilfe\n"
        " Beenden mit Strg-C.\n"
        "\n"
        f"{web}"
        "════════════════════════════════════════════════════════════════════\n",
        flush=True,
    )


async def run_demo(script: list[str] | None, port: int | None, encrypted: bool = True) -> int:
    from bot.app import Impulsbot

    main_task = asyncio.current_task()
    if main_task is not None:  # SIGTERM cleans up like Ctrl-C does
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    with tempfile.TemporaryDirectory(prefix="impulsbot-demo-") as tmp:
        folder = Path(tmp)
        hs = LocalSynapse(folder / "synapse", port=port or _preferred_port())
        print("Starte lokalen Synapse-Homeserver …", flush=True)
        await hs.start()
        bot_task: asyncio.Task[Any] | None = None
        user: DevUser | None = None
        bot: Impulsbot | None = None
        try:
            bot_password = secrets.token_urlsafe(16)
            await hs.register("impulsbot", bot_password)
            demo = await hs.register("demo", DEMO_PASSWORD)
            config = load_config(
                write_demo_config(
                    folder,
                    hs.url,
                    hs.user_id("impulsbot"),
                    bot_password,
                    demo.user_id,
                    web_port=_preferred_port(8080),
                )
            )
            bot = Impulsbot(config)
            await bot.start()
            bot_task = asyncio.ensure_future(bot.serve())
            user = DevUser(hs.url, demo, folder / "demo-user")
            await user.start()
            room_id = await user.create_room(
                invite=[config.matrix.user_id], encrypted=encrypted, name="Impulsbot-Demo"
            )
            await _wait_for_greeting(user, room_id)
            if script is not None:
                return await _run_script(user, room_id, script)
            dashboard = bot.web.base_url if bot.web is not None else ""
            link = await issue_login_link(bot, dashboard, demo.user_id) if dashboard else ""
            print_banner(hs, room_id, dashboard, link)
            await _chat(user, room_id)
            return 0
        finally:
            if bot is not None:
                bot.request_stop()
            if bot_task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(bot_task, 10)
            if bot is not None:
                await bot.close()
            if user is not None:
                await user.close()
            await hs.stop()
            print("Demo beendet, alles aufgeräumt.", flush=True)


def _preferred_port(port: int = 8008) -> int:
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return free_port()
    return port


async def _wait_for_greeting(user: DevUser, room_id: str) -> None:
    greeting = await user.wait_for(
        room_id, lambda e: "Impulsbot" in body_of(e) and e.sender != user.user_id, timeout=60
    )
    print(f"\n[Impulsbot] {body_of(greeting)}\n", flush=True)


async def _run_script(user: DevUser, room_id: str, lines: list[str]) -> int:
    """Send each line and print what the bot posts in answer (replies and new posts alike)."""
    for line in lines:
        print(f"[demo] {line}", flush=True)
        seen = len(user.events)
        await user.say(room_id, line)
        try:
            answer = await user.wait_for(
                room_id,
                lambda e: e.sender != user.user_id and bool(body_of(e)),
                timeout=REPLY_WAIT_S,
                since=seen,
            )
        except TimeoutError:
            print("  (keine Antwort)", flush=True)
            return 1
        print(f"[Impulsbot] {body_of(answer)}\n", flush=True)
    return 0


async def _chat(user: DevUser, room_id: str) -> None:
    seen = len(user.events)
    printer = asyncio.ensure_future(_print_incoming(user, room_id, seen))
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:  # stdin closed: keep serving Element users until Ctrl-C
                await asyncio.Event().wait()
            if line.strip():
                await user.say(room_id, line.rstrip("\n"))
    finally:
        printer.cancel()


async def _print_incoming(user: DevUser, room_id: str, seen: int) -> None:
    while True:
        await user.wait_until(lambda seen=seen: len(user.events) > seen, timeout=3600)
        for event_room, event in user.events[seen:]:
            if event_room == room_id and event.sender != user.user_id and body_of(event):
                print(f"\n[Impulsbot] {body_of(event)}\n> ", end="", flush=True)
        seen = len(user.events)
