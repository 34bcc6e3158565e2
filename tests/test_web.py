"""The team dashboard without Matrix: config, login links, sessions, roles, CSRF, pages, downloads
and saving content, against a real store and a real HTTP server on 127.0.0.1.

The end-to-end path with Synapse and a browser is in ``tests/test_web_browser.py``.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import yaml

from bot.app import Impulsbot
from bot.config import Config, ConfigError, load_config
from bot.privacy import pseudonym
from bot.store.feedback import FeedbackRecord
from bot.store.impulses import ImpulseSubscription
from bot.web.auth import issue_login_link, token_hash

REPO = Path(__file__).resolve().parent.parent
TEAM = "@team:example.org"
MOD = "@mod:example.org"
OTHER = "@other:example.org"
PAGES = ("/", "/rueckmeldungen", "/impulse", "/umfragen", "/luecken", "/katalog", "/datenschutz")


def _config(folder: Path, **web: Any) -> Path:
    data = {
        "matrix": {
            "homeserver": "http://127.0.0.1:1",
            "user_id": "@bot:example.org",
            "password": "x",
        },
        "storage": {"database": str(folder / "data" / "bot.db")},
        "content": {"directory": str(folder / "content")},
        "access": {"team": [TEAM], "moderators": [MOD]},
        "privacy": {"pseudonym_key": "test-key-0123456789"},
        "insights": {"room_categories": {"!a:example.org": "jugend"}},
        "web": {"listen": "127.0.0.1:0", **web},
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


class Dashboard:
    def __init__(self, bot: Impulsbot, clock: Clock) -> None:
        self.bot, self.clock = bot, clock

    @property
    def url(self) -> str:
        assert self.bot.web is not None
        return self.bot.web.base_url

    def session(self) -> aiohttp.ClientSession:
        jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
        return aiohttp.ClientSession(cookie_jar=jar)

    async def login(self, user_id: str) -> aiohttp.ClientSession:
        client = self.session()
        link = await issue_login_link(self.bot, self.url, user_id)
        status, _ = await redeem(client, link)
        assert status == 303
        return client


async def redeem(client: aiohttp.ClientSession, link: str) -> tuple[int, str]:
    """Open the link, then press the button (as a person would)."""
    async with client.get(link) as response:
        page = await response.text()
    token = re.search(r'name="token" value="([^"]+)"', page)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token and csrf, page
    form = {"token": token.group(1), "csrf": csrf.group(1)}
    async with client.post(link.split("?")[0], data=form, allow_redirects=False) as response:
        return response.status, await response.text()


@pytest_asyncio.fixture
async def dash(tmp_path: Path) -> AsyncIterator[Dashboard]:
    shutil.copytree(REPO / "content", tmp_path / "content")
    clock = Clock()
    bot = Impulsbot(load_config(_config(tmp_path)), clock=clock)
    await bot.store.open()
    await bot.setup_features()
    from bot.web import start_web

    bot.web = await start_web(bot)
    yield Dashboard(bot, clock)
    await bot.web.stop()
    await bot.store.close()


def _seed_record(i: int, now_ms: int, **changes: Any) -> FeedbackRecord:
    values: dict[str, Any] = {
        "created_at": now_ms - i * 3_600_000,
        "room_id": "!a:example.org" if i % 2 else "!b:example.org",
        "kind": "feedback",
        "text": f"Rückmeldung Nummer {i}",
        "source_event_id": f"$e{i}",
        "user_id": f"@u{i % 3}:example.org",
        "reference": "impuls:03-lean-coffee" if i % 3 == 0 else None,
        "rating": (i % 5) + 1,
    }
    values.update(changes)
    return FeedbackRecord(**values)


# --------------------------------------------------------------------------- config


def test_web_section_is_off_when_missing_and_strict(tmp_path: Path) -> None:
    path = _config(tmp_path)
    data = yaml.safe_load(path.read_text())
    del data["web"]
    path.write_text(yaml.safe_dump(data))
    assert load_config(path).web is None
    data["web"] = {}
    path.write_text(yaml.safe_dump(data))
    web = load_config(path).web
    assert web is not None and web.listen == "127.0.0.1:8080" and web.public_url is None
    for bad in ({"listen": "nirgendwo"}, {"public_url": "ftp://x"}, {"colour": "blau"}):
        data["web"] = bad
        path.write_text(yaml.safe_dump(data))
        with pytest.raises(ConfigError, match="web"):
            load_config(path)


def test_public_url_decides_secure_cookie(tmp_path: Path) -> None:
    config: Config = load_config(_config(tmp_path, public_url="https://bot.example.org/"))
    assert config.web is not None
    assert config.web.base_url == "https://bot.example.org" and config.web.secure


# --------------------------------------------------------------------------- access


async def test_pages_without_session_show_nothing(dash: Dashboard) -> None:
    await dash.bot.store.add_feedback(_seed_record(1, 1_700_000_000_000))
    async with dash.session() as client:
        for page in PAGES:
            async with client.get(dash.url + page, allow_redirects=False) as response:
                body = await response.text()
                assert response.status == 401, page
                assert "!dashboard" in body and "Rückmeldung Nummer" not in body
                assert "script-src 'self'" in response.headers["Content-Security-Policy"]
                assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


async def test_login_link_once_cookie_flags_and_audit(dash: Dashboard) -> None:
    link = await issue_login_link(dash.bot, dash.url, TEAM)
    token = link.split("token=")[1]
    row = await dash.bot.store.fetchone("SELECT token_hash FROM web_login_tokens")
    assert row is not None and row[0] == token_hash(token) and token not in row[0]
    async with dash.session() as client:
        async with client.get(link) as response:
            assert response.headers["Referrer-Policy"] == "no-referrer"
        status, _ = await redeem(client, link)
        assert status == 303
        cookie = next(iter(client.cookie_jar))
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and not cookie["secure"]
        async with client.get(dash.url + "/") as response:
            assert response.status == 200
            assert "Überblick" in await response.text()
    async with dash.session() as client:  # the same link a second time
        status, body = await redeem(client, link)
        assert status == 403 and "schon benutzt" in body
    actions = await dash.bot.store.audit_actions(TEAM)
    assert actions == ["login", "login_failed"] or actions[0] == "login"
    assert set(await dash.bot.store.personal_data(TEAM)) >= {"dashboard_logins"}


async def test_expired_link_and_missing_csrf_are_refused(dash: Dashboard) -> None:
    link = await issue_login_link(dash.bot, dash.url, TEAM)
    dash.clock.now += dt.timedelta(minutes=11)
    async with dash.session() as client:
        status, body = await redeem(client, link)
        assert status == 403 and "abgelaufen" in body
        fresh = await issue_login_link(dash.bot, dash.url, TEAM)
        form = {"token": fresh.split("token=")[1]}
        async with client.post(dash.url + "/anmelden", data=form) as response:
            assert response.status == 403
    client = await dash.login(TEAM)
    url = dash.url + "/katalog/kgst-seminare"
    async with client, client.post(url, data={"titel": "x"}) as resp:
        assert resp.status == 403 and "Formular" in await resp.text()


async def test_login_attempts_are_rate_limited(dash: Dashboard) -> None:
    async with dash.session() as client:
        statuses = []
        for _ in range(12):
            form = {"token": "falsch", "csrf": "falsch"}
            async with client.post(dash.url + "/anmelden", data=form) as response:
                statuses.append(response.status)
        assert statuses[:10] == [403] * 10 and statuses[10:] == [429, 429]
        # Behind the reverse proxy each visitor has a limit of their own.
        headers = {"X-Forwarded-For": "203.0.113.7"}
        async with client.post(dash.url + "/anmelden", data=form, headers=headers) as response:
            assert response.status == 403


async def test_roles_team_moderator_and_removed(dash: Dashboard) -> None:
    client = await dash.login(MOD)
    async with client:
        allowed = {"/katalog", "/impulse"}
        for page in PAGES[1:]:
            expected = 200 if page in allowed else 403
            async with client.get(dash.url + page) as response:
                assert response.status == expected, page
        async with client.get(dash.url + "/", allow_redirects=False) as response:
            assert response.status == 303 and response.headers["Location"] == "/katalog"
        async with client.get(dash.url + "/impulse") as response:
            assert "Resonanz" not in await response.text()  # engagement is team-only
    link = await issue_login_link(dash.bot, dash.url, OTHER)
    async with dash.session() as client:
        status, _ = await redeem(client, link)
        assert status == 403


async def test_logout_ends_the_session(dash: Dashboard) -> None:
    client = await dash.login(TEAM)
    async with client:
        async with client.get(dash.url + "/abmelden") as response:
            csrf = re.search(r'name="csrf" value="([^"]+)"', await response.text())
        assert csrf
        async with client.post(dash.url + "/abmelden", data={"csrf": csrf.group(1)}) as response:
            assert response.status == 200
        async with client.get(dash.url + "/") as response:
            assert response.status == 401
    assert "logout" in await dash.bot.store.audit_actions(TEAM)


# --------------------------------------------------------------------------- pages


async def test_every_page_renders_for_the_team_in_both_languages(dash: Dashboard) -> None:
    now_ms = int(dash.clock.now.timestamp() * 1000)
    for i in range(30):
        await dash.bot.store.add_feedback(_seed_record(i, now_ms))
    client = await dash.login(TEAM)
    async with client:
        for page in PAGES:
            async with client.get(dash.url + page) as response:
                assert response.status == 200, page
                body = await response.text()
                assert '<html lang="de">' in body and body.count("<h1") == 1, page
        async with client.get(dash.url + "/sprache?lang=en&next=/") as response:
            body = await response.text()
            assert '<html lang="en">' in body and "Overview" in body
            assert '<dd id="fig-feedback">30</dd>' in body


async def test_feedback_is_pseudonymised_filtered_and_downloadable(dash: Dashboard) -> None:
    now_ms = int(dash.clock.now.timestamp() * 1000)
    for i in range(12):
        await dash.bot.store.add_feedback(_seed_record(i, now_ms))
    await dash.bot.store.add_feedback(
        _seed_record(99, now_ms, text="<script>alert(1)</script> =HYPERLINK()", kind="wish")
    )
    client = await dash.login(TEAM)
    async with client:
        async with client.get(dash.url + "/rueckmeldungen") as response:
            body = await response.text()
        assert "@u1:example.org" not in body
        assert pseudonym("@u1:example.org", b"test-key-0123456789") in body
        assert "<script>alert" not in body and "&lt;script&gt;" in body
        query = "?suche=Nummer%201&kategorie=jugend&art=feedback"
        async with client.get(dash.url + "/rueckmeldungen" + query) as response:
            body = await response.text()
        assert "2 Rückmeldungen gefunden" in body  # 1 and 11: odd ids are in room !a
        async with client.get(dash.url + "/rueckmeldungen/export.csv" + query) as response:
            assert response.status == 200
            csv = (await response.read()).decode("utf-8-sig")
        lines = [line for line in csv.splitlines() if line]
        assert len(lines) == 3 and "Nummer 11" in csv and "@u" not in csv
        async with client.get(dash.url + "/rueckmeldungen/export.xlsx?art=wish") as response:
            assert response.status == 200 and (await response.read())[:2] == b"PK"
        async with client.get(dash.url + "/rueckmeldungen?von=2026-13-01") as response:
            assert "2026-13-01" in await response.text()


async def test_forget_user_removes_dashboard_traces(dash: Dashboard) -> None:
    client = await dash.login(TEAM)
    await client.close()
    counts = await dash.bot.store.forget_user(TEAM)
    assert counts.get("dashboard_logins") == 1
    assert await dash.bot.store.audit_actions(TEAM) == []


async def test_gaps_page_shows_the_chats_report_with_trend_and_min_group(dash: Dashboard) -> None:
    from bot.features.insights.record import topic_key
    from bot.features.insights.render import render_report
    from bot.features.search.digest import gap_report
    from bot.store.insights import SearchLogRecord

    today = dash.clock.now.astimezone(dash.bot.config.bot.tz).date()
    for offset, word, count in ((1, "drohnen", 5), (40, "drohnen", 3), (2, "einzeln", 2)):
        day = (today - dt.timedelta(days=offset)).isoformat()
        for person in range(count):  # the minimum group counts distinct people
            record = SearchLogRecord(day, topic_key([word]), word, "", 0, False)
            await dash.bot.store.log_search(record, [])
            await dash.bot.store.count_people(
                "search", [topic_key([word])], f"@p{person}:x", dt.date.fromisoformat(day)
            )
    report = await gap_report(dash.bot, (today - dt.timedelta(days=29)).isoformat(), None)
    chat = render_report(report, dash.bot.texts, "30").plain
    client = await dash.login(TEAM)
    async with client, client.get(dash.url + "/luecken") as response:
        body = await response.text()
    assert "drohnen" in chat and "drohnen" in body
    assert "einzeln" not in body and "einzeln" not in chat  # below privacy.min_group (3)
    assert "↑ mehr als davor (3)" in body


async def test_rooms_served_leave_out_the_bots_direct_chats(dash: Dashboard) -> None:
    store = dash.bot.store
    for room in ("!gruppe:x", "!dm:x"):
        await store.remember_room(room, 1, False)
    await store.set_value("dm:@someone:x", "!dm:x")
    assert await store.count_rooms() == 1
    client = await dash.login(TEAM)
    async with client, client.get(dash.url + "/") as response:
        assert '<dd id="fig-rooms">1</dd>' in await response.text()


async def test_https_public_url_sets_secure_cookie_and_hsts(dash: Dashboard) -> None:
    server = dash.bot.web
    assert server is not None
    local = dash.url
    server.config = server.config.model_copy(update={"public_url": "https://bot.example.org"})
    link = await issue_login_link(dash.bot, server.base_url, TEAM)
    assert link.startswith("https://bot.example.org/anmelden?token=")
    token = link.split("token=")[1]
    async with dash.session() as client:
        async with client.get(f"{local}/anmelden?token={token}") as response:
            page = await response.text()
            assert response.headers["Strict-Transport-Security"].startswith("max-age=")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        form = {"token": token, "csrf": csrf}
        async with client.post(f"{local}/anmelden", data=form, allow_redirects=False) as resp:
            cookie = resp.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie


async def test_retention_keeps_the_audit_log_only_for_the_retention_period(
    dash: Dashboard,
) -> None:
    from bot.personal_data import purge_expired

    async def purge(bot: Any, now: dt.datetime) -> int:
        return (await purge_expired(bot.store, bot.config, now)).get("dashboard_logins", 0)

    client = await dash.login(TEAM)
    await client.close()
    await issue_login_link(dash.bot, dash.url, TEAM)  # unused link
    assert await purge(dash.bot, dash.clock.now) == 0
    assert await dash.bot.store.audit_actions(TEAM) == ["login"]
    later = dash.clock.now + dt.timedelta(days=dash.bot.config.privacy.retention_days + 1)
    assert await purge(dash.bot, later) == 1
    assert await dash.bot.store.audit_actions(TEAM) == []
    assert await dash.bot.store.fetchone("SELECT 1 FROM web_login_tokens") is None
    assert await dash.bot.store.fetchone("SELECT 1 FROM web_sessions") is None


async def test_impulse_page_names_each_subscribed_room(dash: Dashboard) -> None:
    await dash.bot.store.save_impulse_subscription(
        ImpulseSubscription(room_id="!ohne-namen:example.org", schedule="mo-fr 09:00")
    )
    client = await dash.login(TEAM)
    async with client, client.get(dash.url + "/impulse") as response:
        page = await response.text()
    assert "!ohne-namen:example.org" in page  # a room the bot does not know: its ID, nothing else
    assert "coroutine" not in page
