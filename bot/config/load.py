"""Reading the configuration file: YAML, secrets from the environment, and operator-worded errors.

Owns every message an operator sees for a broken file: unreadable, invalid YAML (with line and
column), wrong or unknown keys (German first, English second, no pydantic jargon), a missing
login secret. The value of a secret field is never shown.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import BaseModel, SecretStr, ValidationError

from bot.config.models import Config, ConfigError

ENV_SECRETS = {
    ("matrix", "password"): "IMPULSBOT_MATRIX_PASSWORD",
    ("matrix", "access_token"): "IMPULSBOT_MATRIX_ACCESS_TOKEN",
    ("privacy", "pseudonym_key"): "IMPULSBOT_PSEUDONYM_KEY",
}


def _apply_environment(data: dict) -> None:
    for (section, key), env in ENV_SECRETS.items():
        value = os.environ.get(env)
        if value and isinstance(data.get(section, {}), dict):
            data.setdefault(section, {})
            data[section].setdefault(key, value)


# What a wrong value should have been, German first, English second, in words an operator uses.
_EXPECTED = {
    "string_type": "Text / text",
    "int_type": "eine ganze Zahl / a whole number",
    "int_parsing": "eine ganze Zahl / a whole number",
    "int_from_float": "eine ganze Zahl / a whole number",
    "bool_type": "ja oder nein (true/false) / yes or no (true/false)",
    "bool_parsing": "ja oder nein (true/false) / yes or no (true/false)",
    "list_type": "eine Liste / a list",
    "dict_type": "ein Abschnitt mit Schlüsseln / a section of keys",
    "model_type": "ein Abschnitt mit Schlüsseln / a section of keys",
    "model_attributes_type": "ein Abschnitt mit Schlüsseln / a section of keys",
    "time_type": "eine Uhrzeit wie 10:00 / a time such as 10:00",
    "time_parsing": "eine Uhrzeit wie 10:00 / a time such as 10:00",
    "path_type": "ein Dateipfad / a file path",
}
MAX_SHOWN_VALUE = 60


def secret_fields(model: type[BaseModel] | None = None, prefix: tuple[str, ...] = ()) -> set[str]:
    """Dotted paths of every ``SecretStr`` field, e.g. ``matrix.password``."""
    found: set[str] = set()
    for name, info in (model or Config).model_fields.items():
        path = (*prefix, name)
        annotation = info.annotation
        inner = [annotation, *getattr(annotation, "__args__", ())]
        if SecretStr in inner:
            found.add(".".join(path))
        for candidate in inner:
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                found |= secret_fields(candidate, path)
    return found


def _problem(err: dict, secret: bool) -> str:
    kind = err["type"]
    context = err.get("ctx") or {}
    if kind in _EXPECTED:
        return f"erwartet wird {_EXPECTED[kind].replace(' / ', ' / expected ', 1)}"
    if kind in ("greater_than_equal", "greater_than"):
        bound = context.get("ge", context.get("gt"))
        return f"zu klein, erlaubt ist mindestens {bound} / too small, at least {bound}"
    if kind in ("less_than_equal", "less_than"):
        bound = context.get("le", context.get("lt"))
        return f"zu groß, erlaubt ist höchstens {bound} / too large, at most {bound}"
    if kind == "string_too_short":
        n = context.get("min_length")
        return f"zu kurz, mindestens {n} Zeichen / too short, at least {n} characters"
    if kind == "string_too_long":
        n = context.get("max_length")
        return f"zu lang, höchstens {n} Zeichen / too long, at most {n} characters"
    if kind == "literal_error":
        allowed = str(context.get("expected", "")).replace(" or ", ", ")
        return f"erlaubt ist nur {allowed} / allowed: {allowed}"
    if kind == "value_error" and not secret:
        # Our own validators word their messages for the operator ("… / …").
        return str(context.get("error") or err["msg"]).removeprefix("Value error, ")
    return "ungültiger Wert / invalid value"


def describe_validation_error(source: str, exc: ValidationError) -> str:
    """The operator's view of a validation error: German first, English second, no pydantic
    jargon; the value of a secret field (any ``SecretStr``) is never shown."""
    secrets_ = secret_fields()
    lines = [f"{source}: die Konfiguration ist ungültig / invalid configuration:"]
    for err in exc.errors():
        path = ".".join(str(p) for p in err["loc"]) or "(Wurzel/root)"
        secret = path in secrets_ or any(path.startswith(f"{s}.") for s in secrets_)
        if err["type"] == "extra_forbidden":
            lines.append(f"  - {path}: unbekannter Schlüssel / unknown key")
        elif err["type"] == "missing":
            lines.append(f"  - {path}: fehlt / required key is missing")
        elif secret:
            lines.append(
                f"  - {path}: {_problem(err, True)} (geheimer Wert, wird nicht angezeigt"
                " / secret value, not shown)"
            )
        else:
            shown = repr(err.get("input"))
            if len(shown) > MAX_SHOWN_VALUE:
                shown = shown[: MAX_SHOWN_VALUE - 1] + "…"
            lines.append(f"  - {path}: {_problem(err, False)} (Wert/value: {shown})")
    return "\n".join(lines)


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: kann nicht gelesen werden / cannot be read: {exc}") from exc
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", Zeile/line {mark.line + 1}, Spalte/column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}{where}: kein gültiges YAML / invalid YAML: {problem}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: erwartet wird eine Zuordnung (mapping) auf oberster Ebene")
    _apply_environment(data)
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(str(path), exc)) from exc
    if config.matrix.password is None and config.matrix.access_token is None:
        raise ConfigError(
            f"{path}: matrix.password oder matrix.access_token fehlt (oder setzen Sie "
            "IMPULSBOT_MATRIX_PASSWORD / IMPULSBOT_MATRIX_ACCESS_TOKEN)"
        )
    return config.resolve_paths(path.resolve().parent)
