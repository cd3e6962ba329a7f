//! Messages inside a conversation: inbound messages carrying a client id (stored
//! once however often they are resent, the first one possibly opening the
//! conversation) and the conversation's message history.

use sqlx::Row;
use uuid::Uuid;

use super::error::{TimelineError, invalid};
use super::group_commit::Job;
use super::model::{Conversation, EventPayload, NewConversation, TimelineEvent};
use super::store::TimelineStore;

/// Longest message text accepted, in bytes.
pub const MAX_MESSAGE: usize = 16 * 1024;

/// The outcome of storing a message with a client id.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    New(TimelineEvent),
    /// Already stored earlier under the same client id; its seq.
    Duplicate(i64),
}

impl TimelineStore {
    /// Stores a message event of a conversation once per `client_id`; the event and
    /// the id are committed together (with other messages of the moment, see
    /// `group_commit`) and published before this returns.
    pub async fn append_message(
        &self,
        conversation_id: Uuid,
        client_id: Option<&str>,
        payload: EventPayload,
    ) -> Result<Stored, TimelineError> {
        let conv = self.conversation(conversation_id).await?;
        self.append_message_to(&conv, client_id, payload).await
    }

    /// `append_message` into a conversation the caller has just read. The event
    /// goes to the timeline of the customer that holds the conversation when it
    /// is committed (the survivor, should a merge come in between).
    pub async fn append_message_to(
        &self,
        conv: &Conversation,
        client_id: Option<&str>,
        payload: EventPayload,
    ) -> Result<Stored, TimelineError> {
        if let EventPayload::Message { text, .. } = &payload {
            check_text(text)?;
        }
        if let Some(cid) = client_id {
            check_client_id(cid)?;
        }
        let job = Job {
            conversation: conv.id,
            channel: conv.channel,
            client_id: client_id.map(String::from),
            payload,
        };
        self.messages.write(job).await
    }

    /// Opens a conversation with the customer's first message (`new.text`), stored
    /// under `client_id` as `append_message` stores later ones, and `note` after it
    /// (say, why it went to its queue); the conversation, the events and the id are
    /// committed together, so no conversation is ever left without the message
    /// that opened it.
    pub async fn open_with_message(
        &self,
        new: NewConversation,
        client_id: &str,
        note: Option<EventPayload>,
    ) -> Result<(Conversation, TimelineEvent), TimelineError> {
        check_client_id(client_id)?;
        let Some(text) = &new.text else {
            return Err(invalid("text", "the first message is missing"));
        };
        check_text(text)?;
        match self
            .open_with(Uuid::new_v4(), new, Some(client_id), note)
            .await?
        {
            (conv, Some(event)) => Ok((conv, event)),
            (conv, None) => Err(TimelineError::NotFound(format!(
                "first message of conversation {}",
                conv.id
            ))),
        }
    }

    /// The seq of a message stored under `client_id` in any conversation of `customer`
    /// (a resend after that conversation was closed).
    pub async fn client_message_of(
        &self,
        customer: Uuid,
        client_id: &str,
    ) -> Result<Option<i64>, TimelineError> {
        let row = sqlx::query(
            "SELECT d.seq FROM message_dedup d JOIN conversations c ON c.id = d.conversation_id \
             WHERE c.customer_id = $1 AND d.client_id = $2 LIMIT 1",
        )
        .bind(customer.to_string())
        .bind(client_id.to_string())
        .fetch_optional(&self.db.pool)
        .await?;
        row.map(|r| r.try_get("seq"))
            .transpose()
            .map_err(Into::into)
    }

    /// The newest client id in a conversation that starts with one of `prefixes`
    /// (the platform a customer last wrote from).
    pub async fn last_client_id(
        &self,
        conversation_id: Uuid,
        prefixes: &[&str],
    ) -> Result<Option<String>, TimelineError> {
        let found = sqlx::query(
            "SELECT client_id FROM message_dedup WHERE conversation_id = $1 ORDER BY seq DESC LIMIT 50",
        )
        .bind(conversation_id.to_string())
        .fetch_all(&self.db.pool)
        .await?;
        for row in found {
            let id: String = row.try_get("client_id")?;
            if prefixes.iter().any(|p| id.starts_with(p)) {
                return Ok(Some(id));
            }
        }
        Ok(None)
    }

    /// The message events of a conversation, oldest first (at most `limit`, newest kept).
    pub async fn conversation_messages(
        &self,
        conversation_id: Uuid,
        limit: i64,
    ) -> Result<Vec<TimelineEvent>, TimelineError> {
        let found = sqlx::query(
            "SELECT * FROM timeline_events WHERE conversation_id = $1 AND kind = 'message' ORDER BY seq DESC LIMIT $2",
        )
        .bind(conversation_id.to_string())
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await?;
        let mut events = found
            .iter()
            .map(super::store::event_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        events.reverse();
        Ok(events)
    }

    /// The newest conversation of a customer on `channel` that is still open.
    pub async fn open_conversation_of(
        &self,
        customer: Uuid,
        channel: &str,
    ) -> Result<Option<Uuid>, TimelineError> {
        let row = sqlx::query(
            "SELECT id FROM conversations WHERE customer_id = $1 AND channel = $2 \
             AND status NOT IN ('resolved', 'abandoned') ORDER BY created_us DESC LIMIT 1",
        )
        .bind(customer.to_string())
        .bind(channel.to_string())
        .fetch_optional(&self.db.pool)
        .await?;
        row.map(|r| super::rows::uuid(&r, "id")).transpose()
    }
}

fn check_text(text: &str) -> Result<(), TimelineError> {
    if text.trim().is_empty() || text.len() > MAX_MESSAGE {
        return Err(invalid("text", format!("must be 1 to {MAX_MESSAGE} bytes")));
    }
    Ok(())
}

fn check_client_id(cid: &str) -> Result<(), TimelineError> {
    if cid.is_empty() || cid.len() > 64 {
        return Err(invalid("client_id", "must be 1 to 64 characters"));
    }
    Ok(())
}

/// Records that the message `seq` of a conversation came with `client_id`.
pub(super) async fn remember_client_id<'e, E>(
    executor: E,
    conversation_id: Uuid,
    client_id: &str,
    seq: i64,
) -> Result<(), TimelineError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query("INSERT INTO message_dedup (conversation_id, client_id, seq) VALUES ($1, $2, $3)")
        .bind(conversation_id.to_string())
        .bind(client_id.to_string())
        .bind(seq)
        .execute(executor)
        .await?;
    Ok(())
}
