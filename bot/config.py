"""Configuration: YAML validated by pydantic. Unknown keys and wrong types are errors."""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

# Working Out Loud (bot/features/wol): a circle meets twelve times. Its reminders only *link*
# John Stepper's Circle Guides (they may be shared but not modified or bundled); the default is
# the official website's front page, the one address whose officialness could be verified.
WOL_WEEKS = 12
WOL_OFFICIAL_SITE = "https://workingoutloud.com/"


class GuideLinks(BaseModel):
    """Where the reminders link to (``wol.guides``): a page per week, else the overview."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    overview: str = WOL_OFFICIAL_SITE
    weeks: dict[Annotated[int, Field(ge=1, le=WOL_WEEKS)], str] = {}

    @field_validator("overview")
    @classmethod
    def _overview(cls, value: str) -> str:
        return _https(value)

    @field_validator("weeks")
    @classmethod
    def _weeks(cls, values: dict[int, str]) -> dict[int, str]:
        return {week: _https(url) for week, url in values.items()}

    def for_week(self, week: int) -> str:
        return self.weeks.get(week, self.overview)


def _https(value: str) -> str:
    if not re.match(r"^https://[^\s/]+(/\S*)?$", value):
        raise ValueError(f"expected an https:// address, got {value!r}")
    return value


USER_ID = re.compile(r"^@[^:\s]+:[^\s]+$")
SERVER_OR_USER = re.compile(r"^(@[^:\s]+:)?[A-Za-z0-9.\-]+(:\d+)?$")
DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class ConfigError(Exception):
    """A configuration problem, already worded for the operator."""


def parse_duration(value: str) -> int:
    """'30m' → 1800 seconds. Raises ValueError on anything else."""
    match = DURATION.match(str(value))
    if not match:
        raise ValueError(
            f"erwartet wird eine Dauer wie 30s, 10m, 2h, 1d oder 2w, nicht {value!r}"
            " / expected a duration like 30s, 10m, 2h, 1d or 2w"
        )
    return int(match.group(1)) * _UNITS[match.group(2)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


def _check_user_ids(values: list[str]) -> list[str]:
    for value in values:
        if not USER_ID.match(value):
            raise ValueError(
                f"{value!r} ist keine Matrix-ID wie @name:example.org"
                " / not a Matrix user ID like @name:example.org"
            )
    return values


class MatrixConfig(Strict):
    homeserver: str
    user_id: str
    password: SecretStr | None = None
    access_token: SecretStr | None = None
    device_name: str = "Impulsbot"
    trust: Literal["tofu", "all", "verified"] = "tofu"
    max_command_age: str = "10m"
    send_interval_ms: Annotated[int, Field(ge=0, le=10_000)] = 200

    @field_validator("homeserver")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(
                "erwartet wird eine Adresse wie https://matrix.example.org"
                " / expected a URL such as https://matrix.example.org"
            )
        return value.rstrip("/")

    @field_validator("user_id")
    @classmethod
    def _user(cls, value: str) -> str:
        return _check_user_ids([value])[0]

    @field_validator("max_command_age")
    @classmethod
    def _age(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def max_command_age_seconds(self) -> int:
        return parse_duration(self.max_command_age)


class StorageConfig(Strict):
    database: Path = Path("data/impulsbot.db")

    @property
    def data_dir(self) -> Path:
        return self.database.parent


class ContentConfig(Strict):
    directory: Path = Path("content")


class BotConfig(Strict):
    prefix: Annotated[str, Field(min_length=1, max_length=3)] = "!"
    language: Literal["de", "en"] = "de"
    timezone: str = "Europe/Berlin"
    greeting: bool = True

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unbekannte Zeitzone {value!r} (z. B. Europe/Berlin)"
                " / unknown time zone (e.g. Europe/Berlin)"
            ) from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class AccessConfig(Strict):
    moderators: list[str] = []
    team: list[str] = []
    invite_allowlist: list[str] = []

    @field_validator("moderators", "team")
    @classmethod
    def _users(cls, values: list[str]) -> list[str]:
        return _check_user_ids(values)

    @field_validator("invite_allowlist")
    @classmethod
    def _allow(cls, values: list[str]) -> list[str]:
        for value in values:
            if not SERVER_OR_USER.match(value):
                raise ValueError(
                    f"{value!r} ist weder ein Servername noch eine Matrix-ID"
                    " / neither a server name nor a user ID"
                )
        return values

    def invite_allowed(self, inviter: str) -> bool:
        server = inviter.split(":", 1)[1] if ":" in inviter else ""
        return inviter in self.invite_allowlist or server in self.invite_allowlist


class ImpulsesConfig(Strict):
    catch_up: str = "2h"
    holidays_state: str | None = None  # e.g. "NW", "BY"; None = no holiday skipping

    @field_validator("catch_up")
    @classmethod
    def _catch(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("holidays_state")
    @classmethod
    def _state(cls, value: str | None) -> str | None:
        # local import: keeps config import-light
        from bot.features.impulses.public_holidays import normalize_state

        # "nw" or "Nordrhein-Westfalen" → "NW"; an unknown state fails at start-up, not in June.
        return normalize_state(value) if value else None

    @property
    def catch_up_seconds(self) -> int:
        return parse_duration(self.catch_up)


class PollsConfig(Strict):
    min_anonymous_group: Annotated[int, Field(ge=1)] = 5


class FeedbackConfig(Strict):
    rate_limit: Annotated[int, Field(ge=1)] = 20


class PrivacyConfig(Strict):
    pseudonym_key: SecretStr | None = None  # or IMPULSBOT_PSEUDONYM_KEY
    allow_identified_export: bool = False
    retention_days: Annotated[int, Field(ge=1)] = 365
    min_group: Annotated[int, Field(ge=1)] = 3
    contact: str = "das Initiativteam"
    notice: str | None = None


class TandemConfig(Strict):
    interval: str = "2w"  # whole weeks; rounds fall on weekday/time (local, bot.timezone)
    weekday: Annotated[int, Field(ge=0, le=6)] = 0
    time: dt.time = dt.time(10, 0)

    @field_validator("interval")
    @classmethod
    def _interval(cls, value: str) -> str:
        parse_duration(value)
        return value

    @property
    def interval_seconds(self) -> int:
        return parse_duration(self.interval)


class WolConfig(Strict):
    # Links only, never copies: the official Circle Guides may not be modified or bundled.
    guides: GuideLinks = GuideLinks()


class InsightsConfig(Strict):
    digest_room: str | None = None
    room_categories: dict[str, str] = {}


LISTEN = re.compile(r"^(?P<host>\[[0-9a-fA-F:]+\]|[A-Za-z0-9.\-]+):(?P<port>\d{1,5})$")


class WebConfig(Strict):
    """The team dashboard (``bot/web``). Without a ``web:`` section it stays off."""

    listen: str = "127.0.0.1:8080"
    public_url: str | None = None  # the address behind the reverse proxy; default http://listen

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        match = LISTEN.match(value.strip())
        if not match or int(match.group("port")) > 65535:
            raise ValueError("expected host:port such as 127.0.0.1:8080 (port 0: any free port)")
        return value.strip()

    @field_validator("public_url")
    @classmethod
    def _public(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not re.match(r"^https?://[^\s/]+(/\S*)?$", value):
            raise ValueError("expected a URL such as https://impulsbot.example.org")
        return value.rstrip("/")

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.listen}"

    @property
    def secure(self) -> bool:
        return self.base_url.startswith("https://")


class Config(Strict):
    matrix: MatrixConfig
    storage: StorageConfig = StorageConfig()
    content: ContentConfig = ContentConfig()
    bot: BotConfig = BotConfig()
    access: AccessConfig = AccessConfig()
    impulses: ImpulsesConfig = ImpulsesConfig()
    polls: PollsConfig = PollsConfig()
    feedback: FeedbackConfig = FeedbackConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    tandem: TandemConfig = TandemConfig()
    wol: WolConfig = WolConfig()
    insights: InsightsConfig = InsightsConfig()
    web: WebConfig | None = None  # off when the section is missing

    def resolve_paths(self, base: Path) -> Config:
        """Relative paths in the file are relative to the config file's folder."""
        storage = self.storage.model_copy(update={"database": base / self.storage.database})
        content = self.content.model_copy(update={"directory": base / self.content.directory})
        return self.model_copy(update={"storage": storage, "content": content})


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
