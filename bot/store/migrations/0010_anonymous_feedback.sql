-- Anonymous means anonymous (issue 14). An anonymous row (user_id NULL) keeps no event ID, no room
-- and no time of day: the event ID would lead to the sender on the homeserver, a DM's room ID to
-- the person through 'dm:<user>', and a second-exact time to the message in the room's timeline.
-- dedupe: keyed hash of the command's event ID (secret in kv 'privacy:anonymous_key'), only so
-- that a re-run after a crash does not store the entry twice; cleared after a day.
CREATE TABLE feedback_new (
    id              INTEGER PRIMARY KEY,
    created_at      INTEGER NOT NULL,              -- unix ms; anonymous: local midnight of the day
    room_id         TEXT,
    kind            TEXT NOT NULL CHECK (kind IN ('feedback', 'reaction', 'reply', 'wish')),
    reference       TEXT,
    rating          INTEGER CHECK (rating BETWEEN 1 AND 5),
    text            TEXT NOT NULL DEFAULT '',
    user_id         TEXT,
    source_event_id TEXT UNIQUE,
    dedupe          TEXT UNIQUE,
    CHECK (user_id IS NOT NULL OR (room_id IS NULL AND source_event_id IS NULL))
);
INSERT INTO feedback_new (id, created_at, room_id, kind, reference, rating, text, user_id,
                          source_event_id)
-- Existing anonymous rows get a random negative id, like new ones (bot/store/feedback.py): a
-- sequential id between two named rows would date them to the minute.
SELECT CASE WHEN user_id IS NULL THEN -1 - (abs(random()) % 4611686018427387904) ELSE id END,
       CASE WHEN user_id IS NULL THEN (created_at / 86400000) * 86400000 ELSE created_at END,
       CASE WHEN user_id IS NULL THEN NULL ELSE room_id END,
       kind,
       CASE WHEN user_id IS NULL AND reference LIKE 'event:%' THEN NULL ELSE reference END,
       rating, text, user_id,
       CASE WHEN user_id IS NULL THEN NULL ELSE source_event_id END
FROM feedback;
DROP TABLE feedback;
ALTER TABLE feedback_new RENAME TO feedback;
CREATE INDEX feedback_time ON feedback (created_at);
CREATE INDEX feedback_user ON feedback (user_id);
CREATE INDEX feedback_room_time ON feedback (room_id, created_at);
