"""``!angebot`` / ``!mehr`` against a real Synapse: search, paging, details, overview, reload."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.app import Impulsbot
from bot.config import load_config
from bot.dev.client import body_of, content_of, html_of
from bot.features.catalogue.load import CatalogueError, load_catalogue
from tests.conftest import PLAIN_AND_ENCRYPTED, REPO, write_config
from tests.scenario import ChatFactory, MemberFactory

pytestmark = pytest.mark.integration

# the shipped catalogue grows; the tests check the count the bot reports, not a fixed number
SHIPPED_OFFERINGS = len(load_catalogue(REPO / "content"))


def copy_content(tmp_path: Path) -> Path:
    """A private copy of content/ (all files: other features load theirs at start-up, too)."""
    target = tmp_path / "content"
    shutil.copytree(REPO / "content", target)
    return target


@PLAIN_AND_ENCRYPTED
async def test_search_pages_details_overview_and_filters(
    make_chat: ChatFactory, encrypted: bool
) -> None:
    bot, alice, room = await make_chat(encrypted)

    first = await alice.ask(room, "!angebot Beteiligung")
    assert "Treffer 1–5 von" in body_of(first)
    assert "!mehr" in body_of(first)
    assert "<ol" in html_of(first) and content_of(first)["msgtype"] == "m.notice"

    second = await alice.ask(room, "!mehr")
    assert "Treffer 6–10 von" in body_of(second)
    assert '<ol start="6">' in html_of(second)

    detail = await alice.ask(room, "!angebot details allianz-fuer-beteiligung")
    assert "Anbieter:" in body_of(detail) and "allianz-fuer-beteiligung" in body_of(detail)
    assert bot.app is not None
    logged = await bot.app.store.fetchall("SELECT topic, paged, opened FROM search_log")
    assert [tuple(r) for r in logged] == [("beteil", 1, 1)]  # paging and details are linked

    summary = await alice.ask(room, "!angebot")
    assert f"Angebotskatalog: {SHIPPED_OFFERINGS} Angebote" in body_of(summary)

    typo = await alice.ask(room, "!offer Beteilgung")
    assert "Ergebnisse für „Beteiligung“ (Sie schrieben „Beteilgung“)" in body_of(typo)

    bad_filter = await alice.ask(room, "!angebot format:<b>mond</b>")
    assert "Möglich sind" in body_of(bad_filter) and "online" in body_of(bad_filter)
    assert "&lt;b&gt;mond" in html_of(bad_filter) and "<b>mond" not in html_of(bad_filter)


async def test_more_is_per_user_and_explains_itself_without_search(
    make_chat: ChatFactory, make_member: MemberFactory
) -> None:
    _, owner, room = await make_chat(name="owner")
    guest = await make_member(owner, room, "guest")
    await owner.ask(room, "!angebot Beteiligung")
    hint = await guest.ask(room, "!more")  # the owner's search is not the guest's
    assert "Suchen Sie zuerst" in body_of(hint)
    unknown = await guest.ask(room, "!angebot details allianz-fuer-beteilgung")
    assert "Meinten Sie" in body_of(unknown)
    nothing = await guest.ask(room, "!angebot Drohnen")
    assert "passt leider kein Angebot" in body_of(nothing)
    assert "!angebot wunsch" in body_of(nothing)
    related = await guest.ask(room, "!angebot Nachbarschaftsfest organisieren")
    assert "Entfernt verwandt" in body_of(related)
    assert body_of(related).count("!angebot wunsch") == 1  # the hint once, not twice


async def test_reload_keeps_old_catalogue_on_errors_and_needs_a_moderator(
    make_chat: ChatFactory, make_member: MemberFactory, tmp_path: Path
) -> None:
    content = copy_content(tmp_path)
    # Reloading changes content for everyone: organisation scope, configured moderators only.
    _, owner, room = await make_chat(
        name="owner", role="moderators", content={"directory": str(content)}
    )
    guest = await make_member(owner, room, "guest")

    catalogue = content / "angebote.yaml"
    original = catalogue.read_text(encoding="utf-8")
    catalogue.write_text(original.replace("typ: weiterbildung", "typ: kurs", 1), encoding="utf-8")
    failed = await owner.ask(room, "!angebot neu-laden")
    assert "nicht neu geladen" in body_of(failed)
    assert "„kurs“" in body_of(failed) and f"{SHIPPED_OFFERINGS} Angebote" in body_of(failed)
    still = await owner.ask(room, "!angebot Beteiligung")
    assert "Treffer 1–5" in body_of(still)

    refused = await guest.ask(room, "!angebot neu-laden")
    assert "Moderat" in body_of(refused)

    extra = original.split("\n- id:", 2)
    assert len(extra) == 3  # entries are "- id: …" blocks
    fixed = original + "\n- id: testeintrag-neu\n" + extra[1].split("\n", 1)[1]
    catalogue.write_text(fixed, encoding="utf-8")
    reloaded = await owner.ask(room, "!angebot neu-laden")
    assert f"{SHIPPED_OFFERINGS + 1} Angebote" in body_of(reloaded)
    detail = await owner.ask(room, "!angebot details testeintrag-neu")
    assert "Anbieter:" in body_of(detail)


async def test_broken_catalogue_stops_start_up_with_the_message(synapse, tmp_path: Path) -> None:
    content = copy_content(tmp_path)
    (content / "angebote.yaml").write_text("angebote:\n  - id: Kaputt\n", encoding="utf-8")
    folder = tmp_path / "cfg"
    folder.mkdir()
    path = write_config(
        folder, synapse, "@nobody:example.org", "pw", content={"directory": str(content)}
    )
    app = Impulsbot(load_config(path))
    with pytest.raises(CatalogueError) as failure:
        await app.start()
    await app.store.close()
    assert "Eintrag 1 (id: Kaputt)" in str(failure.value)
