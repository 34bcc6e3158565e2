"""Configuration: YAML validated by pydantic. Unknown keys and wrong types are errors.

``models`` owns the sections and their keys; ``load`` reading the file, secrets from the
environment, and the operator's wording of every error (file, line, field). Everything public in
both is importable from ``bot.config``, as before the split.
"""

from bot.config.load import describe_validation_error as describe_validation_error
from bot.config.load import load_config as load_config
from bot.config.load import secret_fields as secret_fields
from bot.config.models import *  # noqa: F403  (every section, e.g. Config, AccessConfig)
