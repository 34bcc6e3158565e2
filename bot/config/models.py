"""The configuration's sections and keys, validated by pydantic: unknown keys and wrong types are
errors. Reading the file and wording the errors is :mod:`bot.config.load`'s part."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from bot.text.durations import parse_duration as read_duration

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


class ConfigError(Exception):
    """A configuration problem, already worded for the operator."""


def parse_duration(value: str) -> int:
    """'30m' → 1800 seconds, read by the one duration parser (``bot.text.durations``)."""
    try:
        return int(read_duration(str(value)).total_seconds())
    except ValueError:
        raise ValueError(
            f"erwartet wird eine Dauer wie 30s, 10m, 2h, 1d oder 2w, nicht {value!r}"
            " / expected a duration like 30s, 10m, 2h, 1d or 2w"
        ) from None


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
        from bot.config.states import normalize_state  # local: only this validator needs it

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
