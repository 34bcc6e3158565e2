"""Exports for the initiative team (``impulsbot export <dataset>``, ``!export``, the dashboard).

``table`` streams rows into CSV, JSON and JSON Lines, ``xlsx`` into Excel sheets; ``window`` reads
``--since``/``--until``; ``options`` holds what the operator chose. One module per dataset
(``feedback``, ``gaps``, ``polls``) declares ``NAME``, ``FORMATS`` (first = default) and
``async def export(store, config, options, out) -> int``.
"""
