-- Anonymous search log for gap insight ("Leerstellen"). Deliberately without user or room IDs and
-- without a time of day: a row says only on which day a topic was searched, in which (configured,
-- coarse) room category, with how many results and whether the person paged on or opened details.
-- topic: the sorted, de-duplicated stems of the query (grouping key); words: the query's folded
-- words (the normalised form shown as label), never the raw text.
-- dedupe: keyed hash of (person, day, topic) so that a re-run after a crash, or the same person
-- repeating a search on the same day, is counted once; cleared once the day is over so no lasting
-- link to a person remains.
CREATE TABLE search_log (
    id            INTEGER PRIMARY KEY,
    day           TEXT NOT NULL,                 -- YYYY-MM-DD in bot.timezone
    room_category TEXT,                          -- insights.room_categories, NULL if none
    topic         TEXT NOT NULL DEFAULT '',
    words         TEXT NOT NULL DEFAULT '',
    filters       TEXT NOT NULL DEFAULT '',      -- canonical "key:value" pairs, sorted
    result_count  INTEGER NOT NULL,
    relaxed       INTEGER NOT NULL DEFAULT 0,    -- only partial matches were found
    paged         INTEGER NOT NULL DEFAULT 0,    -- !mehr was used on this search
    opened        INTEGER NOT NULL DEFAULT 0,    -- details of an entry were opened after it
    dedupe        TEXT UNIQUE
);
CREATE INDEX search_log_day_topic ON search_log (day, topic);
-- Covering index for the report: grouping a million searches reads only this index, in order.
CREATE INDEX search_log_report ON search_log (topic, words, day, result_count, relaxed, opened, paged);

-- How often each catalogue entry was shown in results, per day (for "never found" entries).
CREATE TABLE search_hits (
    offering_id TEXT NOT NULL,
    day         TEXT NOT NULL,
    shown       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (offering_id, day)
) WITHOUT ROWID;
