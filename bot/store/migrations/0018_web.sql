-- Team dashboard (bot/web): one-time login links, sessions and the login audit log.
-- Tokens and session IDs are stored only as SHA-256 hashes: a copy of the database opens nothing.
CREATE TABLE web_login_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    created_at INTEGER NOT NULL,   -- unix milliseconds
    expires_at INTEGER NOT NULL,   -- unix milliseconds
    used_at    INTEGER             -- set once: the link works a single time
);
CREATE INDEX web_login_tokens_user ON web_login_tokens (user_id);

CREATE TABLE web_sessions (
    session_hash TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions (user_id);

-- Who logged in or out, or saved content, and when; never what they saw or wrote.
CREATE TABLE web_audit (
    id      INTEGER PRIMARY KEY,
    at      INTEGER NOT NULL,      -- unix milliseconds
    user_id TEXT,                  -- NULL for failed logins with an unknown token
    action  TEXT NOT NULL          -- login | login_failed | logout | catalogue_saved | impulse_saved
);
CREATE INDEX web_audit_user ON web_audit (user_id);
