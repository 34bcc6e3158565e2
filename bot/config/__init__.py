"""Configuration: YAML validated by pydantic. Unknown keys and wrong types are errors.

``models`` owns the sections and their keys; ``load`` reading the file, secrets from the
environment, and the operator's wording of every error (file, line, field).
"""

from bot.config.load import describe_validation_error, load_config, secret_fields
from bot.config.models import (
    AccessConfig,
    BotConfig,
    Config,
    ConfigError,
    ContentConfig,
    FeedbackConfig,
    ImpulsesConfig,
    InsightsConfig,
    MatrixConfig,
    PollsConfig,
    PrivacyConfig,
    StorageConfig,
    TandemConfig,
    WebConfig,
    WolConfig,
    parse_duration,
)

__all__ = [
    "AccessConfig",
    "BotConfig",
    "Config",
    "ConfigError",
    "ContentConfig",
    "FeedbackConfig",
    "ImpulsesConfig",
    "InsightsConfig",
    "MatrixConfig",
    "PollsConfig",
    "PrivacyConfig",
    "StorageConfig",
    "TandemConfig",
    "WebConfig",
    "WolConfig",
    "describe_validation_error",
    "load_config",
    "parse_duration",
    "secret_fields",
]
