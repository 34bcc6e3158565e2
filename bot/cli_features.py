"""Feature subcommands of the CLI (catalogue, export, keys), registered on the main parser."""

from __future__ import annotations

import argparse
from collections.abc import Callable

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

REGISTER: list[Register] = []
