-- Minimum group = distinct people (issue 14). A topic of the gap report (searches, wishes) is only
-- shown when at least privacy.min_group different people stand behind it in the period.
-- group_people: one row per (kind, topic, day, person); person is a keyed hash of
-- (month, kind, topic, user) under a random key of that month (kv 'insights:people_key:YYYY-MM'),
-- so one person's hashes differ between topics and months and cannot be joined.
-- Once a month is over it is aggregated into group_sizes, its rows and its key are deleted:
-- afterwards nothing in the database can be tied to a person.
CREATE TABLE group_people (
    kind   TEXT NOT NULL CHECK (kind IN ('search', 'wish')),
    topic  TEXT NOT NULL,
    day    TEXT NOT NULL,                 -- YYYY-MM-DD in bot.timezone
    person TEXT NOT NULL,
    PRIMARY KEY (kind, topic, day, person)
) WITHOUT ROWID;

CREATE TABLE group_sizes (
    kind   TEXT NOT NULL CHECK (kind IN ('search', 'wish')),
    topic  TEXT NOT NULL,
    month  TEXT NOT NULL,                 -- YYYY-MM
    people INTEGER NOT NULL,              -- distinct people in that month
    PRIMARY KEY (kind, topic, month)
) WITHOUT ROWID;
