-- Everything people tell the initiative: feedback, reactions and replies to impulses/polls, wishes.
-- user_id is NULL for anonymous feedback. source_event_id makes recording idempotent
-- (a command re-run after a crash does not store the same feedback twice).
CREATE TABLE feedback (
    id              INTEGER PRIMARY KEY,
    created_at      INTEGER NOT NULL,              -- unix milliseconds (origin_server_ts)
    room_id         TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('feedback', 'reaction', 'reply', 'wish')),
    reference       TEXT,                          -- e.g. 'impuls:03-lean-coffee', 'umfrage:12'
    rating          INTEGER CHECK (rating BETWEEN 1 AND 5),
    text            TEXT NOT NULL DEFAULT '',
    user_id         TEXT,
    source_event_id TEXT NOT NULL UNIQUE           -- the message or reaction event it came from
);
CREATE INDEX feedback_time ON feedback (created_at);
CREATE INDEX feedback_user ON feedback (user_id);
CREATE INDEX feedback_room_time ON feedback (room_id, created_at);
