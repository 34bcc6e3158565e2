"""The Matrix shell: the only package that talks to the homeserver through matrix-nio.

``shell`` owns the client, sync and sending; ``crosssign`` the bot's cross-signing identity;
``private`` the verified direct chats; ``outgoing`` fitting events to the homeserver's limits;
``retry`` joins, creates and invites that must survive outages.
"""
