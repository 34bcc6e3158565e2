"""Gap insight ("Leerstellen"): what people search for in the catalogue and do not find.

``record`` turns a search into its anonymous log record, ``report`` aggregates the log into the
gap report (with the distinct-people threshold), ``periods`` reads "4 Wochen"/"quartal" and knows
the digest's week, ``render`` words the report for chat and draws its chart.
"""
