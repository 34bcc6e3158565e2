"""Why typed input could not be read: the one error type of the shared parsers in ``bot.text``.

A :class:`ParseProblem` names a locale text (``parse.*``) and its placeholders instead of carrying
a finished sentence, so the same problem can be shown in the reader's language. Commands catch it
and reply with ``problem.message(texts)``.
"""

from __future__ import annotations

from typing import Any

from bot.text.i18n import Message, Texts

MAX_SHOWN = 30  # characters of the user's input repeated in an error message


def shorten(value: str) -> str:
    """The input as it may be quoted back: stripped and at most :data:`MAX_SHOWN` characters."""
    value = value.strip()
    return value if len(value) <= MAX_SHOWN else value[: MAX_SHOWN - 1] + "…"


class ParseProblem(ValueError):
    """Input that cannot be read; ``key`` is a locale text, ``params`` fill its placeholders."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(f"{key} {params}")
        self.key = key
        self.params: dict[str, Any] = params

    def message(self, texts: Texts) -> Message:
        """The problem in the reader's language (user input in ``params`` is escaped in HTML)."""
        return texts(self.key, **self._shown(texts))

    def _shown(self, texts: Texts) -> dict[str, Any]:
        """Params as the text shows them; subclasses word typed values (e.g. durations) here."""
        return self.params
