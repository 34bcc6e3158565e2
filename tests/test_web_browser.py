"""The dashboard end to end in a real browser: Debian's Chromium driven by Playwright, against the
session's Synapse and a real bot, with axe-core checking every page (no serious or critical
violations). Screenshots of every page land in ``test-artifacts/screenshots/``.

``make test`` / ``.ci/run`` install Chromium (apt) and axe-core (npm, into ``tools/axe``).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.dev.client import DevUser, body_of
from bot.events import content_of
from tests.conftest import PLAIN_AND_ENCRYPTED, REPO
from tests.scenario import ChatFactory, MemberFactory
from tests.test_polls_integration import start_poll

pytestmark = [pytest.mark.integration, pytest.mark.browser]

CHROMIUM = Path("/usr/bin/chromium")
AXE = REPO / "tools" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = REPO / "test-artifacts" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
]
PAGES = ("/", "/rueckmeldungen", "/impulse", "/umfragen", "/luecken", "/katalog", "/datenschutz")
WEB = {"listen": "127.0.0.1:0"}  # the dashboard on a free port
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/anmelden\?token=[A-Za-z0-9_\-]+)")


def _tools_present() -> bool:
    return CHROMIUM.exists() and AXE.exists()


@pytest_asyncio.fixture(scope="session")
async def chromium() -> AsyncIterator[Any]:
    """One headless Chromium for all browser tests (started only when one of them runs)."""
    from playwright.async_api import async_playwright

    if not _tools_present():
        pytest.fail("Chromium or axe-core missing: run `make browser-deps` (make test does it)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        yield browser
        await browser.close()


async def new_page(chromium: Any) -> Any:
    # bypass_csp only lets the test inject axe-core; the pages themselves run under the strict CSP.
    context = await chromium.new_context(bypass_csp=True, locale="de-DE")
    return await context.new_page()


async def check_accessibility(page: Any, name: str) -> None:
    await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "async () => await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a',"
        " 'wcag21aa', 'best-practice']})"
    )
    bad = [
        (v["id"], v["impact"], len(v["nodes"]))
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{name}: {bad}"
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def login_link(user: DevUser, room_id: str, command: str = "!dashboard") -> str:
    """Ask in the room; read the link from the (encrypted) direct chat the bot opens."""
    before = len(user.events)
    await user.say(room_id, command)

    def found() -> bool:
        return any(LINK.search(body_of(e)) for _, e in user.events[before:])

    await user.wait_until(found, timeout=60)
    room, event = next((r, e) for r, e in user.events[before:] if LINK.search(body_of(e)))
    assert room != room_id, "the link must come in the direct chat, not in the room"
    assert user.client.rooms[room].encrypted
    return LINK.search(body_of(event)).group(1)  # type: ignore[union-attr]


async def sign_in(chromium: Any, link: str) -> Any:
    page = await new_page(chromium)
    await page.goto(link)
    await page.get_by_role("button", name="Jetzt anmelden").click()
    await page.wait_for_url(re.compile(r"/(katalog)?$"))
    return page


def content_copy(tmp_path: Path) -> str:
    target = tmp_path / "content"
    shutil.copytree(REPO / "content", target)
    return str(target)


async def answered(user: DevUser, room_id: str, body: str, bot_id: str) -> None:
    """Send a command and wait until the bot reacts to it or replies."""
    event_id = await user.say(room_id, body)

    def about_it(event: Any) -> bool:
        relates = content_of(event).get("m.relates_to") or {}
        reply = (relates.get("m.in_reply_to") or {}).get("event_id")
        return event.sender == bot_id and event_id in (relates.get("event_id"), reply)

    await user.wait_for(room_id, about_it, timeout=60)


async def chat_number(user: DevUser, room_id: str, command: str, pattern: str) -> str:
    """The figure as the chat shows it: in the room, or (team overviews) in the direct chat."""
    before = len(user.events)
    await user.say(room_id, command)

    def found() -> bool:
        return any(re.search(pattern, body_of(e)) for _, e in user.events[before:])

    await user.wait_until(found, timeout=60)
    event = next(e for _, e in user.events[before:] if re.search(pattern, body_of(e)))
    return re.search(pattern, body_of(event)).group(1)  # type: ignore[union-attr]


@PLAIN_AND_ENCRYPTED
async def test_team_member_sees_every_page_with_the_chats_numbers(
    make_chat: ChatFactory,
    make_member: MemberFactory,
    encrypted: bool,
    chromium: Any,
    tmp_path: Path,
) -> None:
    content = {"directory": content_copy(tmp_path)}
    bot, team, room = await make_chat(encrypted, name="team", role="team", web=WEB, content=content)
    await make_member(team, room, "colleague")  # not a direct chat: the link goes elsewhere
    for text in ("4/5 Sehr hilfreich", "2/5 Zu lang", "Bitte mehr zu Beteiligung"):
        await answered(team, room, f"!feedback {text}", bot.user_id)
    poll = await start_poll(team, room, bot, "!umfrage Welcher Tag passt? | Dienstag | Mittwoch")
    await team.ask(room, f"!abstimmen {poll.id} 2", timeout=60)
    total = await chat_number(team, room, "!feedback übersicht", r"insgesamt: (\d+)")
    average = await chat_number(team, room, "!feedback übersicht", r"Durchschnitt: ([\d,]+)")
    votes = await chat_number(team, room, f"!ergebnis {poll.id}", r"Mittwoch\D+(\d+)")

    page = await sign_in(chromium, await login_link(team, room))
    suffix = "encrypted" if encrypted else "plain"
    assert await page.locator("#fig-feedback").inner_text() == total
    assert await page.locator("#fig-average").inner_text() == average
    for path in PAGES:
        response = await page.goto(bot.app.web.base_url + path)  # type: ignore[union-attr]
        assert response.status == 200, path
        assert await page.locator("h1").count() == 1
        await check_accessibility(page, f"{suffix}-{path.strip('/') or 'ueberblick'}")
    await page.goto(bot.app.web.base_url + "/umfragen")  # type: ignore[union-attr]
    cell = page.locator("td[data-votes]").nth(1)
    assert await cell.get_attribute("data-votes") == votes  # Element's count, as in chat
    typed = await page.locator("p.typed").first.inner_text()
    assert typed.startswith("+ 1 "), typed  # the typed vote on its own line, as in chat
    await page.goto(bot.app.web.base_url + "/rueckmeldungen?suche=hilfreich")  # type: ignore[union-attr]
    assert "Sehr hilfreich" in await page.locator("table.rows").inner_text()
    assert team.user_id not in await page.locator("main").inner_html()  # pseudonyms only
    await page.goto(bot.app.web.base_url + "/sprache?lang=en&next=/")  # type: ignore[union-attr]
    assert await page.locator("h1").inner_text() == "Overview"
    await check_accessibility(page, f"{suffix}-overview-en")
    await page.context.close()


@PLAIN_AND_ENCRYPTED
async def test_moderator_edits_the_catalogue_and_chat_finds_it(
    make_chat: ChatFactory,
    make_member: MemberFactory,
    encrypted: bool,
    chromium: Any,
    tmp_path: Path,
) -> None:
    content = {"directory": content_copy(tmp_path)}
    bot, moderator, room = await make_chat(
        encrypted, name="mod", role="moderators", web=WEB, content=content
    )
    await make_member(moderator, room, "colleague")  # not a direct chat: the link goes elsewhere
    page = await sign_in(chromium, await login_link(moderator, room))
    base = bot.app.web.base_url  # type: ignore[union-attr]
    assert page.url == base + "/katalog"
    await page.goto(base + "/katalog/kgst-seminare")
    await page.get_by_label("link (optional)").fill("ftp://nicht-erlaubt")
    await page.get_by_role("button", name="Speichern").click()
    error = page.locator("#err-link")
    assert "ungültiger Link „ftp://nicht-erlaubt“" in await error.inner_text()
    assert await page.get_by_label("link (optional)").get_attribute("aria-invalid") == "true"
    suffix = "encrypted" if encrypted else "plain"
    await check_accessibility(page, f"{suffix}-katalog-fehler")
    await page.get_by_label("link (optional)").fill("https://www.kgst.de/")
    await page.get_by_label("titel").fill("Seminare der KGSt zur Zauberhaushaltsplanung")
    await page.get_by_role("button", name="Speichern").click()
    await page.wait_for_url(re.compile(r"gespeichert=1"))
    await check_accessibility(page, f"{suffix}-katalog-gespeichert")
    reply = await moderator.ask(room, "!angebot Zauberhaushaltsplanung", timeout=60)
    assert "Zauberhaushaltsplanung" in body_of(reply)
    response = await page.goto(base + "/rueckmeldungen")
    assert response.status == 403  # moderators see content pages only
    await page.goto(base + "/impulse/03-lean-coffee/bearbeiten")
    await check_accessibility(page, f"{suffix}-impuls-editor")
    # The live preview under the pages' real CSP (no bypass in this context).
    strict = await chromium.new_context(locale="de-DE")
    await strict.add_cookies(await page.context.cookies())
    editor = await strict.new_page()
    await editor.goto(base + "/impulse/03-lean-coffee/bearbeiten")
    text = '---\ntitel: "Lean Coffee live"\nthemen: [austausch]\n---\nJetzt **live** geprüft.\n'
    await editor.get_by_label("Markdown-Text des Impulses (mit Kopfbereich zwischen ---)").fill(
        text
    )
    await editor.locator("#preview strong", has_text="live").wait_for(timeout=15_000)
    assert "Lean Coffee live" in await editor.locator("#preview").inner_text()
    await strict.close()
    await page.context.close()


async def test_refusals(make_chat: ChatFactory, make_member: MemberFactory, chromium: Any) -> None:
    bot, team, room = await make_chat(encrypted=True, name="team", role="team", web=WEB)
    base = bot.app.web.base_url  # type: ignore[union-attr]
    outsider = await make_member(team, room, "other")
    refusal = await outsider.ask(room, "!dashboard", timeout=60)
    assert "in der Konfiguration" in body_of(refusal) and "token" not in body_of(refusal)

    page = await new_page(chromium)
    response = await page.goto(base + "/rueckmeldungen")  # no session
    assert response.status == 401 and "!dashboard" in await page.inner_text("main")
    await check_accessibility(page, "ohne-anmeldung")

    link = await login_link(team, room)
    used = await sign_in(chromium, link)
    without_csrf = await used.request.post(base + "/katalog/kgst-seminare", form={"titel": "x"})
    assert without_csrf.status == 403 and "Formular" in await without_csrf.text()
    await used.context.close()
    await page.goto(link)  # the same link again
    await page.get_by_role("button", name="Jetzt anmelden").click()
    assert "schon benutzt" in await page.inner_text("main")
    await check_accessibility(page, "link-verbraucht")

    expired = await login_link(team, room, "!web")
    await bot.app.store.execute("UPDATE web_login_tokens SET expires_at = 0")  # 10 minutes later
    await page.goto(expired)
    await page.get_by_role("button", name="Jetzt anmelden").click()
    assert "abgelaufen" in await page.inner_text("main")
    await page.context.close()
