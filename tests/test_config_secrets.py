"""Configuration errors never echo a secret and speak German first, English second (issue 14)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli.main import main
from bot.config import ConfigError, load_config, secret_fields

BASE: dict[str, Any] = {
    "matrix": {
        "homeserver": "https://matrix.example.org",
        "user_id": "@impulsbot:example.org",
        "password": "geheim-passwort-123",
    }
}
# Wrong types a YAML file can produce by accident: a date-like number, a list, a mapping, ...
WRONG_VALUES = [20240607, 3.14159265, True, ["geheim-listenwert"], {"inner": "geheim-im-abschnitt"}]
JARGON = ("Input should", "pydantic", "type=", "For further information", "string_type")


def test_every_secret_field_is_known() -> None:
    assert secret_fields() >= {"matrix.password", "matrix.access_token", "privacy.pseudonym_key"}


def _config_with(tmp_path: Path, field: str, value: object) -> Path:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    section, key = field.split(".")
    data.setdefault(section, {})[key] = value
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _echoes(value: object, output: str) -> bool:
    if isinstance(value, dict):
        return any(_echoes(v, output) for v in value.values())
    if isinstance(value, list):
        return any(_echoes(v, output) for v in value)
    shown = str(value)
    if isinstance(value, bool):
        return f"value: {shown}" in output  # "True" alone may be part of a word
    return shown in output or repr(value) in output or shown.replace(".", ",") in output


@pytest.mark.parametrize("field", sorted(secret_fields()))
@pytest.mark.parametrize("value", WRONG_VALUES, ids=lambda v: type(v).__name__)
def test_wrong_type_on_a_secret_names_field_and_type_never_the_value(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    field: str,
    value: object,
) -> None:
    path = _config_with(tmp_path, field, value)
    with caplog.at_level(logging.DEBUG):
        code = main(["check-config", "--config", str(path)])
    captured = capsys.readouterr()
    assert code != 0
    output = captured.err + captured.out + caplog.text
    assert field in captured.err
    assert "erwartet wird Text / expected text" in captured.err
    assert "nicht angezeigt / secret value, not shown" in captured.err
    assert captured.err.index("erwartet") < captured.err.index("expected")  # German first
    assert not _echoes(value, output), output
    assert not [j for j in JARGON if j in output], output


def test_other_fields_show_their_value_in_plain_words(tmp_path: Path) -> None:
    data = {**BASE, "polls": {"min_anonymous_group": "fünf"}, "bot": {"language": "fr"}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert "polls.min_anonymous_group: erwartet wird eine ganze Zahl" in text and "'fünf'" in text
    assert "bot.language: erlaubt ist nur 'de', 'en' / allowed: 'de', 'en'" in text
    assert not [j for j in JARGON if j in text]
