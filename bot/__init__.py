"""Impulsbot: a Matrix bot for low-threshold professional exchange in municipal administrations."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("impulsbot")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+local"
