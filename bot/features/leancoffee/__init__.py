"""Lean Coffee: collect topics, dot-vote, discuss each in a timebox, extend once, keep takeaways.

- ``model``: the session's state and limits; ``codec``: that state as JSON for the store.
- ``voting`` (topics, dots), ``flow`` (discussion, timers, extension vote, notes, end) and
  ``reactions`` (1️⃣–9️⃣, 👍/👎): the transitions, each returning an ``outcomes`` object or a refusal.
- ``parse``: the ``!lc`` arguments; ``render``: board, summary and usage texts.
- ``posts``, ``sessions``, ``listener``: what the chat shell (``commands/leancoffee.py``) needs to
  send posts into the session's thread, keep sessions stored and apply reactions.
"""
