-- Austauschformate: Lean Coffee sessions, Kaffee-Tandem, Working Out Loud circles.

-- One running Lean Coffee per room; the whole session is a JSON snapshot (bot.leancoffee).
-- deadline_ms mirrors session.next_deadline() so the timer job finds due sessions cheaply.
CREATE TABLE lc_sessions (
    room_id    TEXT PRIMARY KEY,
    state      TEXT NOT NULL,            -- LeanCoffeeSession.to_dict() as JSON
    deadline_ms INTEGER,                 -- unix milliseconds, NULL: no timer
    updated_at INTEGER NOT NULL          -- unix seconds
);
CREATE INDEX lc_sessions_deadline ON lc_sessions (deadline_ms);

-- Summaries of finished sessions: totals and notes only, no user ids.
CREATE TABLE lc_summaries (
    id              INTEGER PRIMARY KEY,
    room_id         TEXT NOT NULL,
    started_at      TEXT NOT NULL,
    ended_at        TEXT,
    summary         TEXT NOT NULL,       -- LeanCoffeeSummary.to_dict() as JSON
    source_event_id TEXT NOT NULL UNIQUE -- the !lc ende command
);

-- Commands that changed exchange state, with the messages they produced: a handler re-run after
-- a crash re-sends exactly these (same transaction ids) instead of applying the change twice.
CREATE TABLE exchange_applied (
    event_id   TEXT PRIMARY KEY,
    room_id    TEXT NOT NULL,
    posts      TEXT NOT NULL,            -- JSON list of {plain, html, where}
    applied_at INTEGER NOT NULL          -- unix seconds
);
CREATE INDEX exchange_applied_time ON exchange_applied (applied_at);

-- Kaffee-Tandem: opt-in only, stored minimally (id, chosen topics, optional pause end).
CREATE TABLE tandem_members (
    user_id      TEXT PRIMARY KEY,
    topics       TEXT NOT NULL DEFAULT '[]',  -- JSON list
    paused_until TEXT                         -- ISO datetime, NULL: active
);

CREATE TABLE tandem_rounds (
    id        INTEGER PRIMARY KEY,
    round_key TEXT NOT NULL UNIQUE,      -- e.g. 'slot:2026-11-30' or the !tandem runde event id
    held_at   TEXT NOT NULL              -- ISO UTC
);

-- Who met whom in a round (kept for the last few rounds to avoid repeats) and their room.
CREATE TABLE tandem_groups (
    round_id INTEGER NOT NULL REFERENCES tandem_rounds (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    members  TEXT NOT NULL,              -- JSON list of user ids
    room_id  TEXT,                       -- NULL until the room exists
    introduced INTEGER NOT NULL DEFAULT 0, -- 1 once the introduction is posted
    PRIMARY KEY (round_id, position)
);

-- Working Out Loud: people looking for a circle, and the circles (members and schedule only).
CREATE TABLE wol_seekers (
    user_id    TEXT PRIMARY KEY,
    department TEXT,
    joined_at  TEXT NOT NULL
);

CREATE TABLE wol_circles (
    circle_id       TEXT PRIMARY KEY,
    room_id         TEXT UNIQUE,          -- NULL until the room exists
    state           TEXT NOT NULL,        -- Circle.to_dict() as JSON
    source_event_id TEXT NOT NULL,        -- the !wol bilden command that formed it
    welcomed        INTEGER NOT NULL DEFAULT 0, -- 1 once the room exists and got its welcome
    ended           INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX wol_circles_source ON wol_circles (source_event_id);
