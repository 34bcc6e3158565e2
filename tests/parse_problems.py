"""Shared check for the parsers' errors: they must name the part of the input that was wrong."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest

from bot.text.i18n import Texts
from bot.text.problems import ParseProblem


def assert_names_the_part(
    parse: Callable[[str], Any], text: str, key: str, shown: str, langs: Iterable[str]
) -> None:
    """``parse(text)`` raises the problem ``key``, whose params and messages show ``shown``."""
    with pytest.raises(ParseProblem) as caught:
        parse(text)
    assert caught.value.key == key
    assert shown in caught.value.params.values()
    for lang in langs:
        assert shown in caught.value.message(Texts(lang)).plain
