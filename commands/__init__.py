"""Chat commands: one module per command, each declaring ``COMMAND``."""
