"""The Matrix shell: the only package that talks to the homeserver through matrix-nio.

``shell`` is the facade (:class:`~bot.matrix.shell.MatrixShell`), made of ``session`` (login,
crypto store), ``sync`` (sync loop, gaps), ``trust`` (room keys: who gets ours, waiting for
theirs), ``rooms`` (joins, creation, invites, members, state) and ``send`` (sending, uploads).
``crosssign`` owns the bot's cross-signing identity; ``private`` the verified direct chats;
``outgoing`` fitting events to the homeserver's limits; ``retry`` joins, creates and invites that
must survive outages. The errors and transaction IDs callers name live in :mod:`bot.transport`.
"""
