"""Pure core logic: parsing, texts, config validation, registry, store migrations."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config, parse_duration
from bot.store import Store
from bot.store.base import migrations
from bot.text.i18n import LANGUAGES, Message, Texts, all_keys, render
from bot.text.parsing import parse_command, split_args, strip_reply_fallback
from bot.wiring import registry as discover

REPO = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("!hilfe", ("hilfe", "")),
        ("  !Hilfe   umfrage  ", ("Hilfe", "umfrage")),
        ("!angebot beteiligung typ:weiterbildung", ("angebot", "beteiligung typ:weiterbildung")),
        ("!umfrage Frage?\nA\nB", ("umfrage", "Frage?\nA\nB")),
        ("> <@a:b> zitiert\n> zwei\n\n!ping", ("ping", "")),
    ],
)
def test_parse_command_finds_name_and_args(body: str, expected: tuple[str, str]) -> None:
    parsed = parse_command(body, "!")
    assert parsed is not None
    assert (parsed.name, parsed.args) == expected


@pytest.mark.parametrize("body", ["hallo !hilfe", "!", "! hilfe", "!!!", "?hilfe", "", "> !ping"])
def test_non_commands_are_ignored(body: str) -> None:
    assert parse_command(body, "!") is None


def test_other_prefix() -> None:
    assert parse_command("?hilfe", "?") is not None
    assert parse_command("!hilfe", "?") is None


def test_reply_fallback_is_stripped_only_at_the_start() -> None:
    assert strip_reply_fallback("> <@x:y> a\n\n!ping") == "!ping"
    assert strip_reply_fallback("!ping\n> not a fallback") == "!ping\n> not a fallback"


def test_split_args_understands_german_and_english_quotes() -> None:
    assert split_args('„Wie geht’s?“ "Gut so" “Na ja” weiter') == [
        "Wie geht’s?",
        "Gut so",
        "Na ja",
        "weiter",
    ]
    assert split_args('"offen bis zum Ende') == ["offen bis zum Ende"]
    assert split_args("   ") == []


# ---------------------------------------------------------------- texts


def test_render_escapes_parameters_but_keeps_markup() -> None:
    message = render("**Hallo** {name}, `{prefix}hilfe`", {"name": "<script>", "prefix": "!"})
    assert message.html == "<b>Hallo</b> &lt;script&gt;, <code>!hilfe</code>"
    assert message.plain == "Hallo <script>, `!hilfe`"


def test_message_text_escapes_untrusted_html() -> None:
    assert Message.text("<b>x</b>\nzwei").html == "&lt;b&gt;x&lt;/b&gt;<br>zwei"


def test_every_language_has_the_same_texts() -> None:
    german = all_keys("de")
    for lang in LANGUAGES:
        missing, extra = german - all_keys(lang), all_keys(lang) - german
        assert not missing, f"{lang} lacks {sorted(missing)[:10]}"
        assert not extra, f"{lang} has texts German lacks: {sorted(extra)[:10]}"


def test_every_command_declares_usage_and_help_in_every_language() -> None:
    registry = discover()
    assert {"hilfe", "ping"} <= {c.german for c in registry}
    for command in registry:
        for lang in LANGUAGES:
            texts = Texts(lang)
            assert texts.raw(command.usage_key).strip(), (command.name, lang)
            assert texts(command.help_key, prefix="!").plain.strip(), (command.name, lang)


# ---------------------------------------------------------------- config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


MINIMAL = """
matrix:
  homeserver: "https://matrix.example.org"
  user_id: "@impulsbot:example.org"
  password: "geheim"
"""


def test_minimal_config_gets_defaults_and_relative_paths(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config.bot.prefix == "!" and config.bot.timezone == "Europe/Berlin"
    assert config.storage.database == tmp_path / "data" / "impulsbot.db"
    assert config.matrix.max_command_age_seconds == 600


def test_unknown_key_is_named_with_its_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, MINIMAL + "bot:\n  praefix: '?'\n"))
    assert "bot.praefix" in str(err.value) and "unbekannt" in str(err.value)


def test_wrong_type_names_file_key_and_expectation(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, MINIMAL + "access:\n  moderators: '@a:b'\n"))
    text = str(err.value)
    assert "config.yaml" in text and "access.moderators" in text and "list" in text


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, MINIMAL + "bot:\n  prefix: [\n"))
    assert "Zeile" in str(err.value)


def test_invalid_values_are_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, MINIMAL + "bot:\n  timezone: Mars/Olympus\n"))
    assert "Mars/Olympus" in str(err.value)
    with pytest.raises(ConfigError):
        load_config(write(tmp_path, MINIMAL.replace("@impulsbot:example.org", "impulsbot")))


def test_secrets_may_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    without_password = MINIMAL.replace('  password: "geheim"\n', "")
    with pytest.raises(ConfigError):
        load_config(write(tmp_path, without_password))
    monkeypatch.setenv("IMPULSBOT_MATRIX_ACCESS_TOKEN", "syt_token")
    config = load_config(write(tmp_path, without_password))
    assert config.matrix.access_token is not None
    assert "syt_token" not in repr(config)  # secrets never show up in logs or reprs


def test_shipped_example_config_is_valid() -> None:
    config = load_config(REPO / "config.example.yaml")
    assert config.bot.language == "de"


def test_durations() -> None:
    assert parse_duration("10m") == 600 and parse_duration("2h") == 7200
    with pytest.raises(ValueError):
        parse_duration("zehn Minuten")


def test_invite_allowlist_accepts_servers_and_users(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, MINIMAL + "access:\n  invite_allowlist: [example.org, '@chef:other.org']\n")
    )
    assert config.access.invite_allowed("@anna:example.org")
    assert config.access.invite_allowed("@chef:other.org")
    assert not config.access.invite_allowed("@eve:evil.org")


# ---------------------------------------------------------------- store


def test_migrations_are_numbered_uniquely() -> None:
    numbers = [number for number, _, _ in migrations()]
    assert numbers == sorted(set(numbers)) and numbers[0] == 1


async def test_store_is_private_and_migrates_once(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "bot.db"
    async with Store(path) as store:
        assert await store.migrate() == []  # already applied on open
        await store.set_value("k", "v")
        assert await store.claim_greeting("!r:x") is False  # unknown room
        await store.remember_room("!r:x", 1, False)
        assert await store.claim_greeting("!r:x") is True
        assert await store.claim_greeting("!r:x") is False
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    async with Store(path) as store:
        assert await store.get_value("k") == "v"
        mode = (await store.fetchone("PRAGMA journal_mode"))[0]
        assert mode == "wal"


def test_every_command_module_is_wired_into_a_feature() -> None:
    """A new file in ``commands/`` that no feature lists would silently never answer."""
    import importlib
    import pkgutil

    import commands

    wired = set(discover())
    for info in pkgutil.iter_modules(commands.__path__):
        command = importlib.import_module(f"commands.{info.name}").COMMAND
        assert command in wired, info.name
