-- Invites the bot accepted but could not join yet (across federation the inviting server may
-- not be ready). A restart with a stored sync token does not show them again, so they live here
-- until the join succeeds, fails for good, or they are a week old. The inviter is personal data
-- (see personal_data_invites / forget_user_invites).
CREATE TABLE pending_invites (
    room_id    TEXT PRIMARY KEY,
    inviter    TEXT NOT NULL,
    invited_at INTEGER NOT NULL  -- unix seconds
);
CREATE INDEX pending_invites_inviter ON pending_invites (inviter);
