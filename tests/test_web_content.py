"""The dashboard's content editing without Matrix: a catalogue entry and an impulse, validated
with the messages of ``impulsbot catalogue check``, saved with history and reloaded in the bot."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import aiohttp

from bot.features.catalogue.load import check_content, load_catalogue
from tests.test_web import MOD, REPO, Dashboard, dash

__all__ = ["dash"]  # the fixture, shared with tests/test_web.py


async def _form(client: aiohttp.ClientSession, url: str) -> dict[str, str]:
    async with client.get(url) as response:
        page = await response.text()
    fields = dict(re.findall(r'name="(\w+)" type="[a-z]+" value="([^"]*)"', page))
    fields["csrf"] = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    fields["beschreibung"] = re.search(r"<textarea[^>]*>([^<]*)</textarea>", page).group(1)  # type: ignore[union-attr]
    for name in ("typ", "format"):
        select = re.search(rf'name="{name}".*?<option selected>(\w+)<', page, re.S)
        fields[name] = select.group(1)  # type: ignore[union-attr]
    return fields


async def test_catalogue_edit_validates_keeps_history_and_reloads(dash: Dashboard) -> None:
    from bot.features.search.state import state

    directory = dash.bot.config.content.directory
    before = (directory / "angebote.yaml").read_text(encoding="utf-8")
    client = await dash.login(MOD)
    async with client:
        url = dash.url + "/katalog/kgst-seminare"
        form = await _form(client, url)
        bad = {**form, "link": "ftp://kaputt", "typ": "kurs"}
        async with client.post(url, data=bad) as response:
            body = await response.text()
            assert response.status == 422
        assert (directory / "angebote.yaml").read_text(encoding="utf-8") == before
        shutil.copytree(directory, directory.parent / "check")
        broken = directory.parent / "check" / "angebote.yaml"
        broken.write_text(before.replace("  typ: weiterbildung\n", "  typ: kurs\n", 1))
        # The same words as `impulsbot catalogue check` (only the line number may differ).
        expected = next(p for p in check_content(broken.parent) if "„typ“" in p)
        assert "unbekannter Wert „kurs“" in expected
        assert html.escape(expected.split("Feld „typ“")[1], quote=True) in body
        assert 'id="err-typ"' in body and 'aria-invalid="true"' in body
        good = {**form, "titel": "Seminare der KGSt zum Quantenhaushalt"}
        async with client.post(url, data=good, allow_redirects=False) as response:
            assert response.status == 303
    after = (directory / "angebote.yaml").read_text(encoding="utf-8")
    assert "Quantenhaushalt" in after and after.startswith(before.split("- id:")[0])
    assert after.count("\n- id:") == before.count("\n- id:")
    assert check_content(directory) == []
    history = list((directory / "history").glob("*-angebote.yaml"))
    assert len(history) == 1 and history[0].read_text(encoding="utf-8") == before
    assert MOD in (directory / "history" / "aenderungen.log").read_text(encoding="utf-8")
    assert "Quantenhaushalt" in state(dash.bot).catalogue.get("kgst-seminare").titel  # type: ignore[union-attr]
    assert "catalogue_saved" in await dash.bot.store.audit_actions(MOD)


async def test_impulse_editor_preview_and_save(dash: Dashboard) -> None:
    from bot.features.impulses.state import impulses_state

    client = await dash.login(MOD)
    async with client:
        url = dash.url + "/impulse/03-lean-coffee/bearbeiten"
        async with client.get(url) as response:
            page = await response.text()
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        assert "<b>" in page or "<strong>" in page  # the chat rendering of the title
        text = '---\ntitel: "Lean Coffee neu"\nthemen: [Besprechungen]\n---\nEin **kurzer** Text.\n'
        async with client.post(dash.url + "/vorschau/03-lean-coffee",
                               data={"csrf": csrf, "text": text}) as response:  # fmt: skip
            assert "Ein <strong>kurzer</strong> Text." in await response.text()
        bad = "---\ntitel: \n---\nText\n"
        async with client.post(url, data={"csrf": csrf, "text": bad}) as response:
            assert response.status == 422 and "impulse/03-lean-coffee.md" in await response.text()
        async with client.post(url, data={"csrf": csrf, "text": text, "aktion": "speichern"},
                               allow_redirects=False) as response:  # fmt: skip
            assert response.status == 303
    assert impulses_state(dash.bot).library.get("03-lean-coffee").title == "Lean Coffee neu"  # type: ignore[union-attr]
    client = await dash.login(MOD)
    async with client, client.post(dash.url + "/vorschau/..%2F..%2Fconfig") as response:
        assert response.status in (403, 404)  # no path outside the impulse folder


def test_saving_keeps_an_indented_list_under_the_angebote_key(tmp_path: Path) -> None:
    import datetime as dt

    from bot.web.content_edit import save_offering

    shutil.copytree(REPO / "content", tmp_path / "content")
    path = tmp_path / "content" / "angebote.yaml"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    nested = "# Kopf\nangebote:\n" + "".join(
        ("  " + line if line.strip() and not line.startswith("#") else line) for line in lines
    )
    path.write_text(nested, encoding="utf-8")
    assert check_content(path.parent) == []
    form = {"titel": "Neu", "anbieter": "A", "typ": "tool", "format": "online",
            "kosten": "kostenlos", "beschreibung": "Text", "themen": "a, b"}  # fmt: skip
    now = dt.datetime(2026, 12, 2, tzinfo=dt.UTC)
    assert save_offering(path.parent, "difu-fortbildungen", form, MOD, now, "de") == []
    saved = path.read_text(encoding="utf-8")
    assert (
        check_content(path.parent) == [] and "  - id: difu-fortbildungen\n    titel: Neu" in saved
    )
    assert saved.count("- id:") == nested.count("- id:") and saved.startswith("# Kopf\n")
    last = list(load_catalogue(path.parent))[-1].id  # the entry at the end of the file
    assert save_offering(path.parent, last, form, MOD, now, "de") == []
    assert check_content(path.parent) == [] and path.read_text(encoding="utf-8").endswith("\n")
    missing = save_offering(path.parent, "gibt-es-nicht", form, MOD, now, "de")
    assert missing and "gibt-es-nicht" in missing[0]
