//! Conversions between database rows and timeline types (ids as text, times as
//! microseconds, JSON as text), shared by the store's files.

use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use uuid::Uuid;

use super::error::TimelineError;
use super::model::{Channel, ConversationStatus};

pub fn uuid(row: &AnyRow, col: &str) -> Result<Uuid, TimelineError> {
    let s: String = row.try_get(col)?;
    Uuid::parse_str(&s)
        .map_err(|e| TimelineError::Conflict(format!("stored {col} is not a uuid: {e}")))
}

pub fn opt_uuid(row: &AnyRow, col: &str) -> Result<Option<Uuid>, TimelineError> {
    let s: Option<String> = row.try_get(col)?;
    s.map(|s| {
        Uuid::parse_str(&s).map_err(|e| TimelineError::Conflict(format!("stored {col}: {e}")))
    })
    .transpose()
}

pub fn time(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

pub fn opt_time(row: &AnyRow, col: &str) -> Result<Option<DateTime<Utc>>, TimelineError> {
    let v: Option<i64> = row.try_get(col)?;
    Ok(v.map(time))
}

pub fn json<T: serde::de::DeserializeOwned>(row: &AnyRow, col: &str) -> Result<T, TimelineError> {
    let s: String = row.try_get(col)?;
    serde_json::from_str(&s)
        .map_err(|e| TimelineError::Conflict(format!("stored {col} is not valid: {e}")))
}

pub fn channel_str(c: Channel) -> &'static str {
    match c {
        Channel::Voice => "voice",
        Channel::Chat => "chat",
        Channel::Email => "email",
        Channel::Social => "social",
    }
}

pub fn parse_channel(s: &str) -> Result<Channel, TimelineError> {
    serde_json::from_value(serde_json::Value::String(s.into()))
        .map_err(|_| TimelineError::Conflict(format!("stored channel `{s}` is unknown")))
}

pub fn status_str(s: ConversationStatus) -> &'static str {
    match s {
        ConversationStatus::Bot => "bot",
        ConversationStatus::Queued => "queued",
        ConversationStatus::Assigned => "assigned",
        ConversationStatus::WrapUp => "wrap_up",
        ConversationStatus::Resolved => "resolved",
        ConversationStatus::Abandoned => "abandoned",
    }
}

pub fn parse_status(s: &str) -> Result<ConversationStatus, TimelineError> {
    serde_json::from_value(serde_json::Value::String(s.into()))
        .map_err(|_| TimelineError::Conflict(format!("stored status `{s}` is unknown")))
}
