-- Private delivery (bot/private.py) and durable command handling (bot/app.py).

-- The one verified direct chat per person: created by the bot for them ('created') or opened by
-- them as a direct chat ('invited'). Membership is still checked on the homeserver before sends.
CREATE TABLE direct_chats (
    user_id    TEXT PRIMARY KEY,
    room_id    TEXT NOT NULL,
    origin     TEXT NOT NULL CHECK (origin IN ('created', 'invited')),
    recorded_at INTEGER NOT NULL  -- unix seconds
);
-- DMs the bot opened before this migration were created for that person.
INSERT INTO direct_chats (user_id, room_id, origin, recorded_at)
    SELECT substr(key, 4), value, 'created', 0 FROM kv WHERE key LIKE 'dm:%';
DELETE FROM kv WHERE key LIKE 'dm:%';

-- Private content waiting until its direct chat holds exactly the bot and the person.
CREATE TABLE pending_deliveries (
    txn        TEXT PRIMARY KEY,  -- deterministic: a re-run handler does not queue twice
    user_id    TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('message', 'file')),
    payload    BLOB NOT NULL,     -- message content as JSON, or the file's bytes
    filename   TEXT,
    mimetype   TEXT,
    created_at INTEGER NOT NULL   -- unix seconds
);
CREATE INDEX pending_deliveries_user ON pending_deliveries (user_id);

-- Commands seen but not answered yet: survive restarts and are retried with backoff.
CREATE TABLE pending_commands (
    event_id TEXT PRIMARY KEY,
    room_id  TEXT NOT NULL,
    sender   TEXT NOT NULL,
    source   TEXT NOT NULL,       -- the (decrypted) event as JSON
    ts       INTEGER NOT NULL,    -- server timestamp, unix milliseconds
    attempts INTEGER NOT NULL DEFAULT 0
);
