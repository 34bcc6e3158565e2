"""The catalogue of support offerings (``angebote.yaml``) and its synonyms (``synonyme.yaml``).

``model`` is what the rest of the bot reads (``Offering``, ``Catalogue``), ``load`` reads and
validates the files strictly, ``problems`` words each problem for content editors, ``review``
gives editorial hints for a catalogue that loads cleanly.
"""
