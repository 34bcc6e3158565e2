-- Polls people start themselves (Element's poll button) and the WOL retro poll are recorded too;
-- `origin` says who posted the start event, which decides whether the bot's own end event is
-- valid in Element (MSC3381: only the poll's sender or someone with redact power may end it).
ALTER TABLE polls ADD COLUMN origin TEXT NOT NULL DEFAULT 'command'
    CHECK (origin IN ('command', 'element', 'wol'));
-- The end event's own server timestamp is stored in ended_at; responses up to it count.
-- Typed votes (!abstimmen) are frozen apart from Element's count, so the two are never mixed.
ALTER TABLE polls ADD COLUMN final_typed_counts TEXT;   -- JSON {answer id: count}
ALTER TABLE polls ADD COLUMN final_typed_voters INTEGER;
