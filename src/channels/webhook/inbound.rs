//! `POST /channels/webhook`: a platform posts one customer message
//! `{"id", "user", "text", "name"?}`. The signature and a timestamp within 5
//! minutes are checked first (401 / 403), then the JSON (400 naming the field).
//! The customer is the one holding the `external` identity `hook:<user>`; the
//! message is stored once per `id` in their open `social` conversation or a new
//! one placed by the routing rules, and only then answered 200 with the
//! conversation and seq (`duplicate` for a message sent before).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::{SIGNATURE_HEADER, TIMESTAMP_HEADER, identity_of, verify};
use crate::api::AppState;
use crate::channels::wechat::signature::fresh;
use crate::timeline::TimelineError;
use crate::timeline::identity::IdentityKind;
use crate::timeline::messages::MAX_MESSAGE;
use crate::timeline::model::Channel;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Incoming {
    /// The platform's id of the message (a resend with the same id is stored once).
    id: String,
    /// The platform's id of the customer.
    user: String,
    text: String,
    #[serde(default)]
    name: Option<String>,
}

pub async fn receive(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let secret = &s.config.webhook.secret;
    if secret.is_empty() {
        return (StatusCode::NOT_FOUND, "the webhook channel is off").into_response();
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let timestamp = header(TIMESTAMP_HEADER);
    if !verify(secret, timestamp, &body, header(SIGNATURE_HEADER)) {
        return refuse(StatusCode::UNAUTHORIZED, "bad or missing signature");
    }
    if !fresh(timestamp, chrono::Utc::now().timestamp()) {
        return refuse(
            StatusCode::FORBIDDEN,
            "stale timestamp (a replayed request?)",
        );
    }
    let incoming = match parse(&body) {
        Ok(m) => m,
        Err(why) => return refuse(StatusCode::BAD_REQUEST, &why),
    };
    match store(&s, &incoming).await {
        Ok(placed) => Json(json!({
            "conversation": placed.conversation,
            "seq": placed.seq,
            "duplicate": placed.duplicate,
        }))
        .into_response(),
        Err(TimelineError::Identity(e)) => refuse(StatusCode::BAD_REQUEST, &e.to_string()),
        Err(TimelineError::Invalid { field, message }) => {
            refuse(StatusCode::BAD_REQUEST, &format!("{field}: {message}"))
        }
        Err(e) => {
            tracing::error!(error = %e, "webhook message not stored; the sender should retry");
            (StatusCode::SERVICE_UNAVAILABLE, "not stored; retry").into_response()
        }
    }
}

fn refuse(status: StatusCode, why: &str) -> Response {
    tracing::info!(%status, reason = why, "webhook request refused");
    (status, Json(json!({ "error": why }))).into_response()
}

/// The message, checked field by field.
fn parse(body: &[u8]) -> Result<Incoming, String> {
    let m: Incoming = serde_json::from_slice(body).map_err(|e| format!("body: {e}"))?;
    if m.id.is_empty() || m.id.len() > 64 {
        return Err("id: 1 to 64 characters".into());
    }
    if m.user.trim().is_empty() || m.user.len() > 200 {
        return Err("user: 1 to 200 characters".into());
    }
    if m.text.trim().is_empty() || m.text.len() > MAX_MESSAGE {
        return Err(format!("text: 1 to {MAX_MESSAGE} bytes"));
    }
    Ok(m)
}

async fn store(s: &AppState, m: &Incoming) -> Result<crate::channels::open::Placed, TimelineError> {
    let name = m
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(&m.user);
    let customer = s
        .timeline
        .customer_of_identity(IdentityKind::External, &identity_of(&m.user), name)
        .await?;
    let client_id = format!("{}{}", super::CLIENT_ID_PREFIX, m.id);
    crate::channels::open::place_posted(
        s,
        customer,
        Channel::Social,
        &client_id,
        m.text.clone(),
        "Webhook",
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_messages_name_their_field() {
        assert!(parse(br#"{"id":"1","user":"u","text":"hi"}"#).is_ok());
        assert!(
            parse(br#"{"id":"","user":"u","text":"hi"}"#)
                .unwrap_err()
                .starts_with("id")
        );
        assert!(
            parse(br#"{"id":"1","user":" ","text":"hi"}"#)
                .unwrap_err()
                .starts_with("user")
        );
        assert!(
            parse(br#"{"id":"1","user":"u","text":""}"#)
                .unwrap_err()
                .starts_with("text")
        );
        assert!(
            parse(br#"{"id":"1","user":"u","text":"x","extra":1}"#)
                .unwrap_err()
                .starts_with("body")
        );
        assert!(parse(b"not json").unwrap_err().starts_with("body"));
    }
}
