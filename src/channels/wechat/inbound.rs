//! The WeChat callback, `/channels/wechat`: `GET` answers the account's URL
//! verification, `POST` takes a follower's message. Both must carry a valid,
//! fresh signature. A message is resolved to the customer holding the openid,
//! stored once (WeChat redelivers a callback it got no quick answer to; the
//! MsgId is the message's client id) in the follower's open `social`
//! conversation or a new one where the routing rules place it, and only then answered
//! `success`. A failure to store is answered 503 so WeChat delivers it again.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use super::signature;
use super::xml::{self, Inbound, Kind};
use crate::api::AppState;
use crate::metrics::Metrics;
use crate::timeline::TimelineError;
use crate::timeline::identity::IdentityKind;
use crate::timeline::model::{Channel, EventPayload, NewEvent};

#[derive(Debug, Deserialize)]
pub struct Signed {
    signature: String,
    timestamp: String,
    nonce: String,
    echostr: Option<String>,
    encrypt_type: Option<String>,
}

/// `GET /channels/wechat`: the URL check when the account's server is set.
pub async fn verify(State(s): State<AppState>, Query(q): Query<Signed>) -> Response {
    if let Some(refused) = refusal(&s, &q) {
        return refused;
    }
    q.echostr.unwrap_or_default().into_response()
}

/// `POST /channels/wechat`: one message or event from a follower.
pub async fn receive(State(s): State<AppState>, Query(q): Query<Signed>, body: String) -> Response {
    if let Some(refused) = refusal(&s, &q) {
        return refused;
    }
    if q.encrypt_type.as_deref().is_some_and(|e| e != "raw") {
        return reject(
            &s,
            StatusCode::BAD_REQUEST,
            "encrypted mode is not supported; use plaintext mode",
        );
    }
    let message = match xml::parse(&body) {
        Ok(m) => m,
        Err(e) => return reject(&s, StatusCode::BAD_REQUEST, &e.to_string()),
    };
    match store(&s, &message).await {
        Ok(()) => "success".into_response(),
        Err(TimelineError::Identity(e)) => reject(&s, StatusCode::BAD_REQUEST, &e.to_string()),
        Err(e) => {
            tracing::error!(error = %e, openid = %message.from, "WeChat message not stored; WeChat will deliver it again");
            (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response()
        }
    }
}

/// The answer to a request that may not pass: the channel is off, or the
/// request is not signed with our token, recently.
fn refusal(s: &AppState, q: &Signed) -> Option<Response> {
    let token = &s.config.wechat.token;
    if token.is_empty() {
        return Some((StatusCode::NOT_FOUND, "the WeChat channel is off").into_response());
    }
    if !signature::verify(token, &q.timestamp, &q.nonce, &q.signature) {
        return Some(reject(s, StatusCode::FORBIDDEN, "bad signature"));
    }
    let now = chrono::Utc::now().timestamp();
    if !signature::fresh(&q.timestamp, now) {
        let why = "stale timestamp (a replayed request?)";
        return Some(reject(s, StatusCode::FORBIDDEN, why));
    }
    None
}

fn reject(s: &AppState, status: StatusCode, why: &str) -> Response {
    Metrics::inc(&s.metrics.wechat_rejected);
    tracing::info!(%status, reason = why, "WeChat callback refused");
    (status, why.to_string()).into_response()
}

async fn store(s: &AppState, m: &Inbound) -> Result<(), TimelineError> {
    let tail: String = m
        .from
        .chars()
        .skip(m.from.chars().count().saturating_sub(6))
        .collect();
    let name = format!("WeChat {tail}");
    let customer = s
        .timeline
        .customer_of_identity(IdentityKind::Wechat, &m.from, &name)
        .await?;
    if let Kind::Event { event, .. } = &m.kind
        && !event.eq_ignore_ascii_case("CLICK")
    {
        // Following, unfollowing, scanning: the customer's timeline notes it, no
        // conversation waits for an agent.
        let note = EventPayload::Note {
            author: "wechat".into(),
            text: m.text(),
        };
        s.timeline
            .append(
                customer,
                NewEvent {
                    conversation_id: None,
                    payload: note,
                },
            )
            .await?;
        return Ok(());
    }
    place(s, customer, m).await
}

/// Stores the message in the follower's open conversation, or opens one.
async fn place(s: &AppState, customer: Uuid, m: &Inbound) -> Result<(), TimelineError> {
    let client_id = m.dedup_id();
    crate::channels::open::place_posted(
        s,
        customer,
        Channel::Social,
        &client_id,
        m.text(),
        "WeChat",
    )
    .await?;
    Ok(())
}
