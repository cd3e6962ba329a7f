-- Users, sessions and API tokens; customers with their identities; conversations;
-- the append-only customer timeline. Times are microseconds since the Unix epoch.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_us BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_us BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    created_us BIGINT NOT NULL
);

CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    language TEXT,
    tier TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    attributes TEXT NOT NULL DEFAULT '{}',
    merged_into TEXT,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE INDEX customers_name ON customers (name);

CREATE TABLE identities (
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    verified INTEGER NOT NULL DEFAULT 0,
    created_us BIGINT NOT NULL,
    PRIMARY KEY (kind, value)
);
CREATE INDEX identities_customer ON identities (customer_id);

CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    queue TEXT,
    agent_id TEXT,
    priority INTEGER NOT NULL DEFAULT 0,
    subject TEXT,
    disposition TEXT,
    csat INTEGER,
    created_us BIGINT NOT NULL,
    queued_us BIGINT,
    first_response_us BIGINT,
    resolved_us BIGINT
);
CREATE INDEX conversations_customer ON conversations (customer_id, created_us);
CREATE INDEX conversations_status ON conversations (status, created_us);

CREATE TABLE timeline_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    conversation_id TEXT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    occurred_us BIGINT NOT NULL
);
CREATE INDEX timeline_customer_seq ON timeline_events (customer_id, seq);
CREATE INDEX timeline_conversation_seq ON timeline_events (conversation_id, seq);
