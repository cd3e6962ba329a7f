-- E-mail threading: every Message-ID we have seen, and its conversation, so a
-- reply (In-Reply-To / References) joins the same conversation.
CREATE TABLE email_threads (
    message_id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL
);
