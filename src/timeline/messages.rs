//! Messages inside a conversation: inbound messages carrying a client id (stored
//! once however often they are resent) and the conversation's message history.

use sqlx::Row;
use uuid::Uuid;

use super::error::{TimelineError, invalid};
use super::model::{Direction, EventPayload, TimelineEvent};
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
    /// the id are committed together before this returns.
    pub async fn append_message(
        &self,
        conversation_id: Uuid,
        client_id: Option<&str>,
        payload: EventPayload,
    ) -> Result<Stored, TimelineError> {
        if let EventPayload::Message { text, .. } = &payload
            && (text.trim().is_empty() || text.len() > MAX_MESSAGE)
        {
            return Err(invalid("text", format!("must be 1 to {MAX_MESSAGE} bytes")));
        }
        let conv = self.conversation(conversation_id).await?;
        let owner = self.owner_of(conv.customer_id).await?;
        let mut tx = self.db.pool.begin().await?;
        if let Some(cid) = client_id {
            if cid.is_empty() || cid.len() > 64 {
                return Err(invalid("client_id", "must be 1 to 64 characters"));
            }
            let seen = sqlx::query(
                "SELECT seq FROM message_dedup WHERE conversation_id = $1 AND client_id = $2",
            )
            .bind(conversation_id.to_string())
            .bind(cid.to_string())
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = seen {
                return Ok(Stored::Duplicate(row.try_get("seq")?));
            }
        }
        let outbound = matches!(
            payload,
            EventPayload::Message {
                direction: Direction::Out,
                ..
            }
        );
        let event = self
            .insert_event(&mut *tx, owner, Some(conversation_id), payload)
            .await?;
        if outbound {
            sqlx::query("UPDATE conversations SET first_response_us = $1 WHERE id = $2 AND first_response_us IS NULL")
                .bind(crate::db::now_us())
                .bind(conversation_id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        if let Some(cid) = client_id {
            sqlx::query(
                "INSERT INTO message_dedup (conversation_id, client_id, seq) VALUES ($1, $2, $3)",
            )
            .bind(conversation_id.to_string())
            .bind(cid.to_string())
            .bind(event.seq)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.bus.publish(event.clone());
        Ok(Stored::New(event))
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
