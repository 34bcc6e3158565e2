"""Quick polls (MSC3381 and typed votes): the logic behind ``!umfrage``, ``!abstimmen`` and
``!ergebnis``, one module per concern (see each module's docstring)."""
