"""Feedback for the initiative team: recording it, the team overview, and forgetting people.

``recording`` stores one ``!feedback`` exactly once (rate limit, what it refers to),
``anonymous`` the rules for ``--anonym`` entries, ``rooms`` keeps room names for the exports,
``state`` what is only ever kept in memory, ``summary`` counts feedback and ``overview`` words
``!feedback übersicht``. The exports themselves are in ``bot/features/export/``.
"""
