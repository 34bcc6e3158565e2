"""Text in and out: user texts per language (``i18n``, ``locales/``), German normalisation,
parsing chat commands, bounded numbers, and the one parser for durations, weekdays and times.
"""
