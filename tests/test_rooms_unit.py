"""Scopes of every command (issue 13): declared, resolved per sub-command, explained in German."""

from __future__ import annotations

import pytest

from bot.registry import Command, Scope
from bot.text.i18n import Texts
from bot.wiring import registry as discover


def test_every_command_declares_a_scope() -> None:
    missing = [c.name for c in discover() if c.scope is None]
    assert not missing, f"commands without a declared scope: {missing}"


def test_a_command_without_scope_is_caught() -> None:
    async def handler(ctx: object) -> None:
        return None

    undeclared = Command("x", "x", handler)
    assert undeclared.scope_for("") is None  # the core refuses None (fail closed)


@pytest.mark.parametrize(
    ("typed", "scope"),
    [
        ("angebot neu-laden", Scope.ORGANISATION),
        ("angebot NEULADEN", Scope.ORGANISATION),
        ("angebot beteiligung", Scope.EVERYONE),
        ("angebot lücken 30", Scope.TEAM),
        ("angebot luecken", Scope.TEAM),
        ("wol bilden", Scope.ORGANISATION),
        ("wol mitmachen", Scope.PERSONAL),
        ("tandem runde", Scope.ORGANISATION),
        ("tandem an", Scope.PERSONAL),
        ("impuls abonnieren werktags 9:00", Scope.ROOM),
        ("impuls", Scope.EVERYONE),
        ("export feedback", Scope.TEAM),
        ("sprache en", Scope.ROOM),
        ("feedback übersicht", Scope.TEAM),
        ("feedback Übersicht", Scope.TEAM),
        ("feedback Die Übersicht fehlt", Scope.EVERYONE),
        ("meine-daten", Scope.PERSONAL),
        ("vergessen", Scope.PERSONAL),
        ("hilfe", Scope.EVERYONE),
    ],
)
def test_sub_commands_resolve_to_their_scope(typed: str, scope: Scope) -> None:
    name, _, args = typed.partition(" ")
    command = discover().find(name)
    assert command is not None
    assert command.scope_for(args) is scope


@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_scope_is_explained_and_refused_with_how_to_get_it(lang: str) -> None:
    texts = Texts(lang)
    for scope in Scope:
        assert texts(f"rooms.help_scope.{scope.value}", prefix="!").plain
        assert texts(f"rooms.help_section.{scope.value}", prefix="!").plain
    for key in ("organisation", "team"):
        refusal = texts(f"rooms.refused.{key}", prefix="!", name="wol bilden").plain
        assert ("Konfiguration" if lang == "de" else "configuration") in refusal
    if lang == "de":
        for key in ("organisation", "team"):
            refusal = texts(f"rooms.refused.{key}", prefix="!", name="x").plain
            assert "in der Konfiguration eingetragen" in refusal


async def test_members_fetched_across_a_member_event_are_not_kept() -> None:
    """The join arrives while /joined_members is under way: the next question asks again."""
    from types import SimpleNamespace

    from bot.matrix.private import PrivateRooms
    from bot.transport import Members

    answers = [
        Members(joined=frozenset({"@bot:x"}), invited=frozenset({"@anna:x"})),
        Members(joined=frozenset({"@bot:x", "@anna:x"}), invited=frozenset()),
    ]
    private: PrivateRooms

    async def room_members(room_id: str) -> Members:
        private.invalidate(room_id)  # Anna's join is synced while this request is open
        return answers.pop(0)

    app = SimpleNamespace(shell=SimpleNamespace(room_members=room_members))
    private = PrivateRooms(app)  # type: ignore[arg-type]
    assert "@anna:x" in (await private.members("!dm:x")).invited
    assert (await private.members("!dm:x")).joined == {"@bot:x", "@anna:x"}


async def test_a_cached_no_for_the_recorded_direct_chat_is_asked_again() -> None:
    """Cached while the person was still invited: their first message there is not refused."""
    from types import SimpleNamespace

    from bot.matrix.private import PrivateRooms
    from bot.transport import Members

    answers = [
        Members(joined=frozenset({"@bot:x"}), invited=frozenset({"@anna:x"})),
        Members(joined=frozenset({"@bot:x", "@anna:x"}), invited=frozenset()),
    ]

    async def room_members(room_id: str) -> Members:
        return answers.pop(0)

    async def direct_chat(user_id: str) -> tuple[str, str]:
        return ("!dm:x", "created")

    app = SimpleNamespace(
        user_id="@bot:x",
        shell=SimpleNamespace(room_members=room_members),
        store=SimpleNamespace(direct_chat=direct_chat),
    )
    private = PrivateRooms(app)  # type: ignore[arg-type]
    assert "@anna:x" in (await private.members("!dm:x")).invited  # cached before the join
    assert await private.is_verified_dm("!dm:x", "@anna:x")
    assert not await private.is_verified_dm("!other:x", "@anna:x")
