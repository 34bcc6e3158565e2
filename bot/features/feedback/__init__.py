"""Feedback for the initiative team: recording it, the team overview, and forgetting people.

``references`` finds what a feedback refers to, ``rooms`` keeps room names for the exports,
``state`` holds what is only ever kept in memory (anonymous rate-limit times, pending ``!vergessen``
requests), ``summary`` counts feedback for ``!feedback übersicht`` and ``overview`` words it.
"""
