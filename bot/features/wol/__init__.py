"""Working Out Loud circles (logic only; the chat command is commands/wol.py)."""
