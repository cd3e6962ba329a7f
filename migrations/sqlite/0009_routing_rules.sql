-- Routing rules: one JSON document (the ordered rules and the default) that
-- chooses the queue of a new text conversation. PUT /api/v1/routing/rules
-- replaces it whole; `version` counts the saves. At most one row (id 1).
CREATE TABLE routing_rules (
    id INTEGER PRIMARY KEY,
    document TEXT NOT NULL,
    version BIGINT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_us BIGINT NOT NULL
);
