-- Core state of the bot: session, sync position, handled commands and joined rooms.
CREATE TABLE kv (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- A command event is answered at most once: its id lands here after the handler finished.
CREATE TABLE handled_events (
    event_id   TEXT PRIMARY KEY,
    room_id    TEXT NOT NULL,
    handled_at INTEGER NOT NULL  -- unix seconds
);
CREATE INDEX handled_events_time ON handled_events (handled_at);

CREATE TABLE rooms (
    room_id   TEXT PRIMARY KEY,
    joined_at INTEGER NOT NULL,  -- unix milliseconds (server time of our join)
    greeted   INTEGER NOT NULL DEFAULT 0,
    is_direct INTEGER NOT NULL DEFAULT 0
);
