//! API errors: one enum, mapped once to a status code and the JSON body
//! `{"error": {"code", "message"}}` (an invalid dialplan adds `problems`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::AuthError;
use crate::timeline::TimelineError;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("not signed in")]
    Unauthenticated,
    #[error("this needs the {0} role")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// A dialplan that does not pass its checks; `problems` is a JSON list.
    #[error("{message}")]
    InvalidDialplan {
        message: String,
        problems: serde_json::Value,
    },
    #[error("request body too large")]
    TooLarge,
    #[error("the database is unavailable")]
    Unavailable,
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::InvalidDialplan { .. } => (StatusCode::BAD_REQUEST, "invalid_dialplan"),
            ApiError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "request failed");
        }
        let mut body = json!({ "error": { "code": code, "message": self.to_string() } });
        if let ApiError::InvalidDialplan { problems, .. } = self {
            body["error"]["problems"] = problems;
        }
        (status, Json(body)).into_response()
    }
}

impl From<TimelineError> for ApiError {
    fn from(e: TimelineError) -> Self {
        match e {
            TimelineError::NotFound(m) => ApiError::NotFound(m),
            TimelineError::Conflict(m) => ApiError::Conflict(m),
            TimelineError::Invalid { .. } | TimelineError::Identity(_) => {
                ApiError::BadRequest(e.to_string())
            }
            TimelineError::Db(crate::db::DbError::Unreachable(_)) => ApiError::Unavailable,
            TimelineError::Db(crate::db::DbError::Query(sqlx::Error::PoolTimedOut)) => {
                ApiError::Unavailable
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::BadCredentials | AuthError::Unauthenticated => ApiError::Unauthenticated,
            AuthError::Exists(_) => ApiError::Conflict(e.to_string()),
            AuthError::UnknownUser(_) => ApiError::NotFound(e.to_string()),
            AuthError::Invalid(m) => ApiError::BadRequest(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}
