"""The catalogue search engine behind ``!angebot`` (``bot.search`` is its public face)."""
