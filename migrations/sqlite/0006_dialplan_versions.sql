-- Dialplan history: every text saved through the API (and the text that was on
-- disk before the first save), newest last, for diffs and rollback.
CREATE TABLE dialplan_versions (
    id TEXT PRIMARY KEY,
    plan TEXT NOT NULL,
    text TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    author TEXT NOT NULL,
    comment TEXT NOT NULL,
    created_us BIGINT NOT NULL
);
CREATE INDEX dialplan_versions_plan ON dialplan_versions (plan, created_us);
