//! Conversations: one contact on one channel, with its status, queue, agent and the
//! standard timestamps. Opening one with a first message writes both in one transaction.

use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::error::{TimelineError, invalid};
use super::messages::remember_client_id;
use super::model::{
    Conversation, ConversationStatus, Direction, EventPayload, NewConversation, TimelineEvent,
};
use super::rows;
use super::store::{MAX_PAGE, TimelineStore};
use crate::db::now_us;

const MAX_TEXT: usize = 64 * 1024;

impl TimelineStore {
    /// Opens a conversation; a queue puts it in `queued`, otherwise it starts in `bot`.
    pub async fn open_conversation(
        &self,
        new: NewConversation,
    ) -> Result<Conversation, TimelineError> {
        self.open_conversation_as(Uuid::new_v4(), new).await
    }

    /// Opens a conversation with an id chosen by the caller (a call picks its
    /// conversation id before the database has it).
    pub async fn open_conversation_as(
        &self,
        id: Uuid,
        new: NewConversation,
    ) -> Result<Conversation, TimelineError> {
        Ok(self.open_with(id, new, None, None).await?.0)
    }

    /// Opens a conversation with an event about its opening (say, why it went to
    /// its queue), committed together.
    pub async fn open_conversation_noted(
        &self,
        new: NewConversation,
        note: EventPayload,
    ) -> Result<Conversation, TimelineError> {
        Ok(self
            .open_with(Uuid::new_v4(), new, None, Some(note))
            .await?
            .0)
    }

    /// Opens a conversation and, with `new.text`, its first message (remembered
    /// under `client_id` when given), then `note` after it, all in one
    /// transaction; the message event.
    pub(super) async fn open_with(
        &self,
        id: Uuid,
        new: NewConversation,
        client_id: Option<&str>,
        note: Option<EventPayload>,
    ) -> Result<(Conversation, Option<TimelineEvent>), TimelineError> {
        let customer = self.customer(new.customer_id).await?;
        let owner = customer.merged_into.unwrap_or(customer.id);
        if let Some(text) = &new.text
            && (text.trim().is_empty() || text.len() > MAX_TEXT)
        {
            return Err(invalid("text", format!("must be 1 to {MAX_TEXT} bytes")));
        }
        let now = now_us();
        let status = if new.queue.is_some() {
            ConversationStatus::Queued
        } else {
            ConversationStatus::Bot
        };
        let mut tx = self.db.begin_write().await?;
        sqlx::query(
            "INSERT INTO conversations (id, customer_id, channel, status, queue, priority, subject, created_us, queued_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.to_string())
        .bind(owner.to_string())
        .bind(rows::channel_str(new.channel))
        .bind(rows::status_str(status))
        .bind(new.queue.clone())
        .bind(new.priority)
        .bind(new.subject.clone())
        .bind(now)
        .bind(new.queue.as_ref().map(|_| now))
        .execute(&mut *tx)
        .await?;
        let mut first = None;
        if let Some(text) = new.text {
            let payload = EventPayload::Message {
                direction: Direction::In,
                author: customer.name.clone(),
                text,
                attachments: vec![],
            };
            let event = self
                .insert_event(&mut *tx, owner, Some(id), payload)
                .await?;
            if let Some(cid) = client_id {
                remember_client_id(&mut *tx, id, cid, event.seq).await?;
            }
            first = Some(event);
        }
        let noted = match note {
            Some(payload) => Some(
                self.insert_event(&mut *tx, owner, Some(id), payload)
                    .await?,
            ),
            None => None,
        };
        tx.commit().await?;
        for e in first.iter().chain(&noted) {
            self.bus.publish(e.clone());
        }
        Ok((self.conversation(id).await?, first))
    }

    pub async fn conversation(&self, id: Uuid) -> Result<Conversation, TimelineError> {
        let row = sqlx::query("SELECT * FROM conversations WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| TimelineError::NotFound(format!("conversation {id}")))?;
        conversation_from_row(&row)
    }

    /// Conversations, newest first, optionally of one customer and/or in one status.
    pub async fn conversations(
        &self,
        customer: Option<Uuid>,
        agent: Option<Uuid>,
        status: Option<ConversationStatus>,
        limit: i64,
    ) -> Result<Vec<Conversation>, TimelineError> {
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(invalid("limit", format!("must be 1 to {MAX_PAGE}")));
        }
        let found = sqlx::query(
            "SELECT * FROM conversations WHERE ($1 IS NULL OR customer_id = $1) AND ($2 IS NULL OR status = $2) \
             AND ($3 IS NULL OR agent_id = $3) ORDER BY created_us DESC LIMIT $4",
        )
        .bind(customer.map(|c| c.to_string()))
        .bind(status.map(rows::status_str))
        .bind(agent.map(|a| a.to_string()))
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await?;
        found.iter().map(conversation_from_row).collect()
    }

    /// Moves a conversation to `status`, stamping `resolved` and recording the change.
    pub async fn set_status(
        &self,
        id: Uuid,
        status: ConversationStatus,
    ) -> Result<Conversation, TimelineError> {
        let conv = self.conversation(id).await?;
        let resolved = matches!(
            status,
            ConversationStatus::Resolved | ConversationStatus::Abandoned
        )
        .then(now_us);
        let mut tx = self.db.begin_write().await?;
        sqlx::query("UPDATE conversations SET status = $1, resolved_us = COALESCE($2, resolved_us) WHERE id = $3")
            .bind(rows::status_str(status))
            .bind(resolved)
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let event = self
            .insert_event(
                &mut *tx,
                conv.customer_id,
                Some(id),
                EventPayload::StatusChanged { status },
            )
            .await?;
        tx.commit().await?;
        self.bus.publish(event);
        self.conversation(id).await
    }
}

impl TimelineStore {
    /// Puts a conversation in a queue now (a call reaching a queue step).
    pub async fn set_queue(&self, id: Uuid, queue: &str) -> Result<(), TimelineError> {
        sqlx::query(
            "UPDATE conversations SET queue = $1, status = 'queued', queued_us = $2 WHERE id = $3",
        )
        .bind(queue.to_string())
        .bind(now_us())
        .bind(id.to_string())
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    pub async fn set_disposition(&self, id: Uuid, code: &str) -> Result<(), TimelineError> {
        sqlx::query("UPDATE conversations SET disposition = $1 WHERE id = $2")
            .bind(code.to_string())
            .bind(id.to_string())
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }
}

fn conversation_from_row(row: &AnyRow) -> Result<Conversation, TimelineError> {
    let channel: String = row.try_get("channel")?;
    let status: String = row.try_get("status")?;
    Ok(Conversation {
        id: rows::uuid(row, "id")?,
        customer_id: rows::uuid(row, "customer_id")?,
        channel: rows::parse_channel(&channel)?,
        status: rows::parse_status(&status)?,
        queue: row.try_get("queue")?,
        agent_id: rows::opt_uuid(row, "agent_id")?,
        priority: row.try_get("priority")?,
        subject: row.try_get("subject")?,
        disposition: row.try_get("disposition")?,
        csat: row.try_get("csat")?,
        created_at: rows::time(row.try_get("created_us")?),
        queued_at: rows::opt_time(row, "queued_us")?,
        first_response_at: rows::opt_time(row, "first_response_us")?,
        resolved_at: rows::opt_time(row, "resolved_us")?,
    })
}
