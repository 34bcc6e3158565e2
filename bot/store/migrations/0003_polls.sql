-- Quick polls (!umfrage). A poll's id is the number people type (!abstimmen 4 2); it is unique
-- across rooms because anonymous votes arrive by direct message, away from the poll's room.
CREATE TABLE polls (
    id              INTEGER PRIMARY KEY,
    room_id         TEXT NOT NULL,
    creator         TEXT,                   -- who asked; NULL after !vergessen
    source_event_id TEXT NOT NULL UNIQUE,   -- the !umfrage command: creating is idempotent
    start_event_id  TEXT UNIQUE,            -- poll start (native) or announcement (anonymous)
    question        TEXT NOT NULL,
    answers         TEXT NOT NULL,          -- JSON [[id, text], ...] in display order
    max_selections  INTEGER NOT NULL,
    disclosed       INTEGER NOT NULL,
    anonymous       INTEGER NOT NULL,
    lang            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,       -- unix milliseconds
    closes_at       INTEGER,                -- unix milliseconds (--dauer); survives restarts
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'open', 'ending', 'ended')),
    ended_at        INTEGER,                -- responses after this (ms) are not counted
    end_event_id    TEXT,
    final_counts    TEXT,                   -- JSON {answer id: count}, frozen at the end
    final_voters    INTEGER
);
CREATE INDEX polls_room ON polls (room_id, id);
CREATE INDEX polls_due ON polls (status, closes_at);

-- Identified votes: native MSC3381 responses and !abstimmen in the room. Every response is kept
-- (not only the latest) so that counting by the MSC rules is exact and survives restarts.
CREATE TABLE poll_responses (
    event_id  TEXT PRIMARY KEY,
    poll_id   INTEGER NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    sender    TEXT NOT NULL,
    ts        INTEGER NOT NULL,             -- origin_server_ts (ms)
    answers   TEXT NOT NULL,                -- JSON list of answer ids
    spoiled   INTEGER NOT NULL DEFAULT 0,
    redacted  INTEGER NOT NULL DEFAULT 0,
    source    TEXT NOT NULL CHECK (source IN ('native', 'text'))
);
CREATE INDEX poll_responses_poll ON poll_responses (poll_id);
CREATE INDEX poll_responses_sender ON poll_responses (sender);

-- Anonymous polls keep no user ID: sums per answer, and separately a keyed hash per voter
-- (bot.privacy.vote_key) that only says "has voted", never for what.
CREATE TABLE poll_anonymous_counts (
    poll_id   INTEGER NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    answer_id TEXT NOT NULL,
    votes     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (poll_id, answer_id)
);
CREATE TABLE poll_anonymous_voters (
    poll_id  INTEGER NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
    vote_key TEXT NOT NULL,
    PRIMARY KEY (poll_id, vote_key)
);
