-- Daily knowledge impulses: one subscription per room and the posting log.
-- No user IDs are stored here (feedback on impulses lives in the shared feedback table).
CREATE TABLE impulse_subscriptions (
    room_id      TEXT PRIMARY KEY,
    schedule     TEXT NOT NULL,             -- canonical spec, e.g. 'Mo-Fr 09:00' (Schedule.spec)
    topics       TEXT NOT NULL DEFAULT '[]', -- JSON list; empty = all topics
    pause_until  TEXT,                      -- ISO date, inclusive; '9999-12-31' = until resumed
    watermark_ms INTEGER NOT NULL,          -- last slot handled (or moment of subscribing), UTC ms
    next_due_ms  INTEGER,                   -- next slot instant, UTC ms; NULL = nothing planned
    created_at   INTEGER NOT NULL           -- UTC ms
);
-- The scheduler tick only reads rows that are due.
CREATE INDEX impulse_subscriptions_due ON impulse_subscriptions (next_due_ms);

-- Exactly-once protocol: a row is written ('claimed', with the chosen impulse) BEFORE sending and
-- completed ('posted', event_id) after. A claim found on start-up is re-sent with the same
-- transaction ID, so the homeserver deduplicates a send that had gone through before a crash.
CREATE TABLE impulse_posts (
    id          INTEGER PRIMARY KEY,        -- insertion order = rotation history order
    room_id     TEXT NOT NULL,
    slot_key    TEXT NOT NULL,              -- 'slot:2026-11-26T09:00', 'now:<event>', 'repeat:<event>'
    kind        TEXT NOT NULL CHECK (kind IN ('slot', 'now', 'repeat')),
    impulse_id  TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('claimed', 'posted', 'abandoned')),
    claimed_at  INTEGER NOT NULL,           -- UTC ms
    due_at      INTEGER NOT NULL,           -- UTC ms of the slot (claimed_at for 'now'/'repeat')
    posted_at   INTEGER,                    -- UTC ms
    event_id    TEXT,                       -- the Matrix event of the post
    UNIQUE (room_id, slot_key)
);
CREATE INDEX impulse_posts_event ON impulse_posts (event_id);
CREATE INDEX impulse_posts_open ON impulse_posts (status) WHERE status = 'claimed';
