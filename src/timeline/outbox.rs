//! The outbox: agents' replies that must leave through an external channel
//! (e-mail today). A row is written in the same transaction as the reply's
//! timeline event, so nothing an agent wrote is lost between the timeline and the
//! wire. Senders claim due rows with a compare-and-set lease, so several senders
//! (or nodes) never send one reply twice at once, and a sender that dies leaves
//! its rows due again when the lease runs out.

use sqlx::Row;
use uuid::Uuid;

use super::error::TimelineError;
use super::model::Channel;
use super::rows;
use super::store::TimelineStore;
use crate::db::now_us;

/// Whether outbound messages of this channel leave through the outbox (e-mail,
/// and WeChat or webhook platforms for `social`). Chat replies reach the
/// visitor live over the widget's socket instead.
pub fn delivers(channel: Channel) -> bool {
    matches!(channel, Channel::Email | Channel::Social)
}

/// A reply waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The seq of the reply's message event.
    pub seq: i64,
    pub conversation_id: Uuid,
    /// Tries made before this one.
    pub attempts: u32,
}

/// Writes the outbox row of a reply inside the transaction that stores it.
pub(super) async fn enqueue<'e, E>(
    executor: E,
    seq: i64,
    conversation: Uuid,
    channel: Channel,
) -> Result<(), TimelineError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let now = now_us();
    sqlx::query(
        "INSERT INTO outbox (seq, conversation_id, channel, status, attempts, next_attempt_us, created_us) \
         VALUES ($1, $2, $3, 'pending', 0, $4, $4)",
    )
    .bind(seq)
    .bind(conversation.to_string())
    .bind(rows::channel_str(channel))
    .bind(now)
    .execute(executor)
    .await?;
    Ok(())
}

impl TimelineStore {
    /// The event a pending reply stands for.
    pub async fn outbox_event(
        &self,
        seq: i64,
    ) -> Result<super::model::TimelineEvent, TimelineError> {
        let row = sqlx::query("SELECT * FROM timeline_events WHERE seq = $1")
            .bind(seq)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| TimelineError::NotFound(format!("event {seq}")))?;
        super::store::event_from_row(&row)
    }

    /// Pending replies of `channel` that are due now, oldest first.
    pub async fn outbox_due(
        &self,
        channel: Channel,
        limit: i64,
    ) -> Result<Vec<Pending>, TimelineError> {
        let found = sqlx::query(
            "SELECT seq, conversation_id, attempts FROM outbox \
             WHERE status = 'pending' AND channel = $1 AND next_attempt_us <= $2 ORDER BY seq LIMIT $3",
        )
        .bind(rows::channel_str(channel))
        .bind(now_us())
        .bind(limit)
        .fetch_all(&self.db.pool)
        .await?;
        found
            .iter()
            .map(|r| {
                let attempts: i64 = r.try_get("attempts")?;
                Ok(Pending {
                    seq: r.try_get("seq")?,
                    conversation_id: rows::uuid(r, "conversation_id")?,
                    attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
                })
            })
            .collect()
    }

    /// Takes a due row for `lease_us`; false if another sender has it.
    pub async fn outbox_claim(&self, seq: i64, lease_us: i64) -> Result<bool, TimelineError> {
        let now = now_us();
        let done = sqlx::query(
            "UPDATE outbox SET next_attempt_us = $1, attempts = attempts + 1 \
             WHERE seq = $2 AND status = 'pending' AND next_attempt_us <= $3",
        )
        .bind(now + lease_us)
        .bind(seq)
        .bind(now)
        .execute(&self.db.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The reply left; it is never sent again.
    pub async fn outbox_sent(&self, seq: i64) -> Result<(), TimelineError> {
        self.outbox_finish(seq, "sent", None).await
    }

    /// The reply cannot be sent (a permanent refusal, or out of tries).
    pub async fn outbox_failed(&self, seq: i64, error: &str) -> Result<(), TimelineError> {
        self.outbox_finish(seq, "failed", Some(error)).await
    }

    /// The try failed for now; the reply is due again at `at_us`.
    pub async fn outbox_retry(
        &self,
        seq: i64,
        at_us: i64,
        error: &str,
    ) -> Result<(), TimelineError> {
        sqlx::query("UPDATE outbox SET next_attempt_us = $1, last_error = $2 WHERE seq = $3")
            .bind(at_us)
            .bind(error.to_string())
            .bind(seq)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    async fn outbox_finish(
        &self,
        seq: i64,
        status: &str,
        error: Option<&str>,
    ) -> Result<(), TimelineError> {
        sqlx::query("UPDATE outbox SET status = $1, last_error = $2 WHERE seq = $3")
            .bind(status.to_string())
            .bind(error.map(str::to_string))
            .bind(seq)
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    /// The delivery state of a reply: `pending`, `sent` or `failed`, with the last
    /// error; None for a message that does not go through the outbox.
    pub async fn outbox_status(
        &self,
        seq: i64,
    ) -> Result<Option<(String, Option<String>)>, TimelineError> {
        let row = sqlx::query("SELECT status, last_error FROM outbox WHERE seq = $1")
            .bind(seq)
            .fetch_optional(&self.db.pool)
            .await?;
        row.map(|r| Ok((r.try_get("status")?, r.try_get("last_error")?)))
            .transpose()
    }
}
