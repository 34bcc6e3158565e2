"""Command line of the operator: ``impulsbot run|check-config|demo|catalogue|export|keys|privacy``.

``main`` builds the parser; each other module here adds one feature's subcommands.
"""
