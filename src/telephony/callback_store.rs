//! Callbacks in the database: the number to call, the queue, the tries made and
//! where each callback stands (`waiting` in its queue, `dialing`, `retry` after
//! a try that did not reach the customer, `done`, `failed`). A restart reads
//! the unfinished ones back.

use sqlx::Row;
use uuid::Uuid;

use crate::db::{Db, DbError, now_us};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackStoreError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("stored callback is invalid: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for CallbackStoreError {
    fn from(e: sqlx::Error) -> Self {
        CallbackStoreError::Db(DbError::Query(e))
    }
}

/// Where a callback stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallbackStatus {
    Waiting,
    Dialing,
    Retry,
    Done,
    Failed,
}

impl CallbackStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackStatus::Waiting => "waiting",
            CallbackStatus::Dialing => "dialing",
            CallbackStatus::Retry => "retry",
            CallbackStatus::Done => "done",
            CallbackStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<CallbackStatus> {
        Some(match s {
            "waiting" => CallbackStatus::Waiting,
            "dialing" => CallbackStatus::Dialing,
            "retry" => CallbackStatus::Retry,
            "done" => CallbackStatus::Done,
            "failed" => CallbackStatus::Failed,
            _ => return None,
        })
    }
}

/// One callback, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct CallbackRecord {
    /// The callback's own conversation (its routing item).
    pub conversation: Uuid,
    pub customer: Uuid,
    pub number: String,
    pub queue: String,
    pub priority: i32,
    pub attempts: u32,
    pub status: CallbackStatus,
    /// For `retry`: when it goes back to its queue (µs since the epoch).
    pub next_us: Option<i64>,
    /// When the caller first queued (µs): a callback keeps that place.
    pub queued_us: i64,
}

#[derive(Clone)]
pub struct CallbackStore {
    db: Db,
}

fn corrupt(e: impl std::fmt::Display) -> CallbackStoreError {
    CallbackStoreError::Corrupt(e.to_string())
}

impl CallbackStore {
    pub fn new(db: Db) -> CallbackStore {
        CallbackStore { db }
    }

    pub async fn insert(&self, r: &CallbackRecord) -> Result<(), CallbackStoreError> {
        let now = now_us();
        sqlx::query(
            "INSERT INTO callbacks (conversation_id, customer_id, number, queue, priority, attempts, \
             status, next_us, created_us, updated_us) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)",
        )
        .bind(r.conversation.to_string())
        .bind(r.customer.to_string())
        .bind(r.number.clone())
        .bind(r.queue.clone())
        .bind(r.priority)
        .bind(r.attempts as i32)
        .bind(r.status.as_str())
        .bind(r.next_us)
        .bind(now)
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    /// Moves a callback on: its status, tries so far and next try time.
    pub async fn update(
        &self,
        conversation: Uuid,
        status: CallbackStatus,
        attempts: u32,
        next_us: Option<i64>,
    ) -> Result<(), CallbackStoreError> {
        sqlx::query(
            "UPDATE callbacks SET status = $1, attempts = $2, next_us = $3, updated_us = $4 \
             WHERE conversation_id = $5",
        )
        .bind(status.as_str())
        .bind(attempts as i32)
        .bind(next_us)
        .bind(now_us())
        .bind(conversation.to_string())
        .execute(&self.db.pool)
        .await?;
        Ok(())
    }

    /// Callbacks not yet done or given up, oldest first, with their queue time.
    pub async fn unfinished(&self) -> Result<Vec<CallbackRecord>, CallbackStoreError> {
        let rows = sqlx::query(
            "SELECT b.conversation_id, b.customer_id, b.number, b.queue, b.priority, b.attempts, \
             b.status, b.next_us, COALESCE(c.queued_us, b.created_us) AS queued_us \
             FROM callbacks b JOIN conversations c ON c.id = b.conversation_id \
             WHERE b.status IN ('waiting', 'dialing', 'retry') ORDER BY b.created_us",
        )
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(record).collect()
    }
}

fn record(r: &sqlx::any::AnyRow) -> Result<CallbackRecord, CallbackStoreError> {
    let id = |col: &str| -> Result<Uuid, CallbackStoreError> {
        Uuid::parse_str(&r.try_get::<String, _>(col)?).map_err(corrupt)
    };
    let status: String = r.try_get("status")?;
    Ok(CallbackRecord {
        conversation: id("conversation_id")?,
        customer: id("customer_id")?,
        number: r.try_get("number")?,
        queue: r.try_get("queue")?,
        priority: r.try_get("priority")?,
        attempts: r.try_get::<i32, _>("attempts")?.max(0) as u32,
        status: CallbackStatus::parse(&status).ok_or_else(|| corrupt(&status))?,
        next_us: r.try_get("next_us")?,
        queued_us: r.try_get("queued_us")?,
    })
}
