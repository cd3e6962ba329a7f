-- Client-side message ids already committed per conversation, so a message resent
-- after a reconnect is acknowledged again instead of being stored twice.
CREATE TABLE message_dedup (
    conversation_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, client_id)
);
