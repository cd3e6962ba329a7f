//! Errors of the timeline store, mapped once to HTTP responses by the API.

use super::identity::IdentityError;
use crate::db::DbError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TimelineError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<sqlx::Error> for TimelineError {
    fn from(e: sqlx::Error) -> Self {
        TimelineError::Db(DbError::Query(e))
    }
}

pub fn invalid(field: &str, message: impl Into<String>) -> TimelineError {
    TimelineError::Invalid {
        field: field.into(),
        message: message.into(),
    }
}
