"""Kaffee-Tandem: opt-in peer pairing rounds (logic; the chat command is commands/tandem.py)."""
