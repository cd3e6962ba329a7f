//! The timeline store: appends events (committed, then published on the bus) and
//! reads a customer's timeline in pages, newest first or forward from a cursor.

use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::bus::EventBus;
use super::error::{TimelineError, invalid};
use super::group_commit::GroupCommit;
use super::model::{EventPayload, NewEvent, TimelineEvent};
use super::rows;
use crate::db::{Db, now_us};

/// Largest page a caller may ask for.
pub const MAX_PAGE: i64 = 500;

/// Where to read from in a timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// The newest events, newest first.
    Latest,
    /// Events older than `seq`, newest first.
    Before(i64),
    /// Events newer than `seq`, oldest first (for catching up).
    After(i64),
}

/// Customers, identities, conversations and timeline events in the database.
#[derive(Clone, Debug)]
pub struct TimelineStore {
    pub db: Db,
    pub bus: EventBus,
    /// Writes messages (`append_message`) in batches.
    pub(super) messages: GroupCommit,
}

impl TimelineStore {
    pub fn new(db: Db, bus: EventBus) -> TimelineStore {
        let messages = GroupCommit::new(db.clone(), bus.clone());
        TimelineStore { db, bus, messages }
    }

    /// Appends an event to a customer's timeline. A customer merged into another has
    /// its new events written to the survivor. Returns once the event is committed.
    pub async fn append(
        &self,
        customer_id: Uuid,
        new: NewEvent,
    ) -> Result<TimelineEvent, TimelineError> {
        let owner = self.owner_of(customer_id).await?;
        if let Some(conv) = new.conversation_id {
            self.conversation(conv).await?;
        }
        let event = self
            .insert_event(&self.db.pool, owner, new.conversation_id, new.payload)
            .await?;
        self.bus.publish(event.clone());
        Ok(event)
    }

    /// One event by id.
    pub async fn event(&self, id: Uuid) -> Result<TimelineEvent, TimelineError> {
        let row = sqlx::query("SELECT * FROM timeline_events WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| TimelineError::NotFound(format!("event {id}")))?;
        event_from_row(&row)
    }

    /// The customer that holds `customer_id`'s timeline now: itself, or the survivor
    /// it was merged into. One indexed read.
    pub async fn owner_of(&self, customer_id: Uuid) -> Result<Uuid, TimelineError> {
        let row = sqlx::query("SELECT merged_into FROM customers WHERE id = $1")
            .bind(customer_id.to_string())
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| TimelineError::NotFound(format!("customer {customer_id}")))?;
        Ok(rows::opt_uuid(&row, "merged_into")?.unwrap_or(customer_id))
    }

    /// Inserts one event with any executor (a pool or an open transaction).
    pub(super) async fn insert_event<'e, E>(
        &self,
        executor: E,
        customer_id: Uuid,
        conversation_id: Option<Uuid>,
        payload: EventPayload,
    ) -> Result<TimelineEvent, TimelineError>
    where
        E: sqlx::Executor<'e, Database = sqlx::Any>,
    {
        let id = Uuid::new_v4();
        let occurred = now_us();
        let body =
            serde_json::to_string(&payload).map_err(|e| invalid("payload", e.to_string()))?;
        let row = sqlx::query(
            "INSERT INTO timeline_events (id, customer_id, conversation_id, kind, payload, occurred_us) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq",
        )
        .bind(id.to_string())
        .bind(customer_id.to_string())
        .bind(conversation_id.map(|c| c.to_string()))
        .bind(payload.kind())
        .bind(body)
        .bind(occurred)
        .fetch_one(executor)
        .await?;
        Ok(TimelineEvent {
            seq: row.try_get("seq")?,
            id,
            customer_id,
            conversation_id,
            occurred_at: rows::time(occurred),
            payload,
        })
    }

    /// A page of a customer's timeline.
    pub async fn timeline(
        &self,
        customer_id: Uuid,
        cursor: Cursor,
        limit: i64,
    ) -> Result<Vec<TimelineEvent>, TimelineError> {
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(invalid("limit", format!("must be 1 to {MAX_PAGE}")));
        }
        self.owner_of(customer_id).await?;
        let (sql, bound) = match cursor {
            Cursor::Latest => (
                "SELECT * FROM timeline_events WHERE customer_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
                i64::MAX,
            ),
            Cursor::Before(s) => (
                "SELECT * FROM timeline_events WHERE customer_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
                s,
            ),
            Cursor::After(s) => (
                "SELECT * FROM timeline_events WHERE customer_id = $1 AND seq > $2 ORDER BY seq ASC LIMIT $3",
                s,
            ),
        };
        let found = sqlx::query(sql)
            .bind(customer_id.to_string())
            .bind(bound)
            .bind(limit)
            .fetch_all(&self.db.pool)
            .await?;
        found.iter().map(event_from_row).collect()
    }
}

pub(super) fn event_from_row(row: &AnyRow) -> Result<TimelineEvent, TimelineError> {
    Ok(TimelineEvent {
        seq: row.try_get("seq")?,
        id: rows::uuid(row, "id")?,
        customer_id: rows::uuid(row, "customer_id")?,
        conversation_id: rows::opt_uuid(row, "conversation_id")?,
        occurred_at: rows::time(row.try_get("occurred_us")?),
        payload: rows::json(row, "payload")?,
    })
}
