"""Poll machinery split by concern; :mod:`bot.polls` stays the public entry for parsing,
counting by MSC3381 and wording. ``result``: Element's count next to typed votes (pure);
``view``: stored results rendered for the room; ``live``: recording, reconciling and ending
polls against the homeserver."""
