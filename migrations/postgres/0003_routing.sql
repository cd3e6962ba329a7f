-- Routing: queues and agents (linked to users) with their chosen presence, so a
-- restart recovers them; queued conversations are re-enqueued from `conversations`.
CREATE TABLE queues (
    name TEXT PRIMARY KEY,
    config TEXT NOT NULL
);

CREATE TABLE agents (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL UNIQUE REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    profile TEXT NOT NULL,
    presence TEXT NOT NULL,
    created_us BIGINT NOT NULL
);
