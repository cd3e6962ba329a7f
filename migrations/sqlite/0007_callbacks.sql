-- Callbacks callers asked for (in the IVR or with a voicemail): the callback's
-- own voice conversation waits in a queue; when an agent takes it, the server
-- dials `number` through the trunk. status: waiting (queued), dialing, retry
-- (until next_us, after a try that did not reach the customer), done, failed.
CREATE TABLE callbacks (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations(id),
    customer_id TEXT NOT NULL,
    number TEXT NOT NULL,
    queue TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    next_us BIGINT,
    created_us BIGINT NOT NULL,
    updated_us BIGINT NOT NULL
);
CREATE INDEX callbacks_status ON callbacks (status);
