-- Replies waiting to leave through an external channel (e-mail today). A row is
-- written in the same transaction as the agent's message event, so a reply is
-- never lost between the timeline and the wire. status: pending (due at
-- next_attempt_us; a sender holding it pushes next_attempt_us ahead as its
-- lease), sent, failed (given up; last_error says why).
CREATE TABLE outbox (
    seq BIGINT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_us BIGINT NOT NULL,
    last_error TEXT,
    created_us BIGINT NOT NULL
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_us);
-- Where each message of an e-mail thread came from (NULL for our own replies)
-- and when, so a reply goes to the last sender with the whole References chain.
ALTER TABLE email_threads ADD COLUMN from_addr TEXT;
ALTER TABLE email_threads ADD COLUMN seen_us BIGINT;
