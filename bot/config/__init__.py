"""Configuration: YAML validated by pydantic. Unknown keys and wrong types are errors.

``models`` owns the sections and their keys; ``load`` reading the file, secrets from the
environment, and the operator's wording of every error (file, line, field).
"""

from bot.config.models import *  # noqa: F403  (every section model, as before the split)
from bot.config.models import Config, ConfigError, load_config, parse_duration, secret_fields

__all__ = ["Config", "ConfigError", "load_config", "parse_duration", "secret_fields"]
