"""The catalogue of support offerings (``angebote.yaml``) and its synonyms (``synonyme.yaml``).

``model`` is what the rest of the bot reads (``Offering``, ``Catalogue``); ``load`` reads and
validates the files strictly, with ``reading`` (YAML with line numbers) and ``wording`` (each
problem in the editor's words); ``review`` gives editorial hints for a catalogue that loads.
"""
