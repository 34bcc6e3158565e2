"""Bad ``!umfrage``/``!abstimmen`` input, already worded: a locale key and its parameters.

Every error is rendered with a correct example, so it tells the user how to do it right.
Problems found by the shared parsers (:mod:`bot.text`) keep their own wording.
"""

from __future__ import annotations

from typing import Any, ClassVar

from bot.text.i18n import Message, Texts, join
from bot.text.problems import ParseProblem

_T = "umfrage."


class PollError(ValueError):
    """``key`` is a locale text and ``params`` fill it in, or ``problem`` words itself."""

    example_key: ClassVar[str] = _T + "example"

    def __init__(self, key: str, *, problem: ParseProblem | None = None, **params: Any) -> None:
        super().__init__(f"{key} {params}" if params else key)
        self.key = key
        self.params = params
        self.problem = problem  # worded by the shared parser (bot.text), e.g. a duration

    def render(self, texts: Texts, prefix: str = "!") -> Message:
        if self.problem is not None:
            first = self.problem.message(texts)
        else:
            first = texts(self.key, prefix=prefix, **self.params)
        return join([first, texts(self.example_key, prefix=prefix)])

    @classmethod
    def of(cls, problem: ParseProblem) -> PollError:
        return cls(problem.key, problem=problem, **problem.params)


class PollInputError(PollError):
    """``!umfrage`` could not be understood; nothing must be posted."""
