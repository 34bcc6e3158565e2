-- Team dashboard: the per-impulse engagement groups by reference and kind, and the gap pages read
-- only wishes; both stay index lookups with 100,000 feedback rows.
CREATE INDEX feedback_reference_kind ON feedback (reference, kind, rating);
CREATE INDEX feedback_kind_time ON feedback (kind, created_at);
