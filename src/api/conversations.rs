//! Conversation routes: open, list, read, and change status.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::customers::Items;
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use super::state::AppState;
use crate::auth::Role;
use crate::routing::engine::Input;
use crate::routing::placement::{Opening, customer_of};
use crate::timeline::messages::Stored;
use crate::timeline::model::{
    Channel, Conversation, ConversationStatus, Direction, EventPayload, NewConversation,
    TimelineEvent,
};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub customer_id: Option<Uuid>,
    pub agent_id: Option<Uuid>,
    pub status: Option<ConversationStatus>,
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    pub status: ConversationStatus,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reply {
    pub text: String,
    /// The sender's own id for the message; a resend with the same id is stored once.
    #[serde(default)]
    pub client_id: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/messages", request_body = Reply,
    responses((status = 201, body = TimelineEvent)), tag = "conversations")]
pub async fn reply(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(r): ApiJson<Reply>,
) -> Result<(StatusCode, Json<TimelineEvent>), ApiError> {
    let user = caller.require(Role::Agent)?;
    let payload = EventPayload::Message {
        direction: Direction::Out,
        author: user.name.clone(),
        text: r.text,
        attachments: vec![],
    };
    match s
        .timeline
        .append_message(id, r.client_id.as_deref(), payload)
        .await?
    {
        Stored::New(e) => Ok((StatusCode::CREATED, Json(e))),
        Stored::Duplicate(seq) => Err(ApiError::Conflict(format!("already stored as event {seq}"))),
    }
}

/// Opens a conversation. A text conversation without a `queue` goes where the
/// routing rules say (queue, priority unless one is given, skills; the decision is
/// in its timeline as `routed`); an explicit queue wins; a voice conversation
/// without one waits for nobody (`bot`).
#[utoipa::path(post, path = "/api/v1/conversations", request_body = NewConversation,
    responses((status = 201, body = Conversation)), tag = "conversations")]
pub async fn open(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(n): ApiJson<NewConversation>,
) -> Result<(StatusCode, Json<Conversation>), ApiError> {
    caller.require(Role::Agent)?;
    if let Some(q) = &n.queue
        && !s.routing.queue_names().await?.contains(q)
    {
        return Err(ApiError::BadRequest(format!("queue: unknown queue `{q}`")));
    }
    if n.queue.is_none() && n.channel != Channel::Voice {
        return open_routed(&s, n).await;
    }
    let conv = s.timeline.open_conversation(n).await?;
    if let Some(q) = &conv.queue {
        s.routing
            .enqueue(conv.id, conv.customer_id, conv.channel, q, conv.priority)
            .await?;
    }
    Ok((StatusCode::CREATED, Json(conv)))
}

/// Opens a text conversation where the routing rules put it, and enqueues it.
async fn open_routed(
    s: &AppState,
    mut n: NewConversation,
) -> Result<(StatusCode, Json<Conversation>), ApiError> {
    let who = customer_of(&s.timeline, n.customer_id).await?;
    let text = [n.subject.as_deref(), n.text.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n");
    let opening = Opening {
        customer: &who,
        channel: n.channel,
        text: &text,
        to: &[],
    };
    let mut placement = s.rules.place(&opening, chrono::Utc::now());
    if n.priority != 0 {
        placement.decision.actions.priority = n.priority;
    }
    n.queue = Some(placement.queue().to_string());
    n.priority = placement.priority();
    let conv = s
        .timeline
        .open_conversation_noted(n, placement.event())
        .await?;
    s.routing
        .apply(Input::Enqueue(placement.work_item(&conv)))
        .await?;
    Ok((StatusCode::CREATED, Json(conv)))
}

#[utoipa::path(get, path = "/api/v1/conversations", params(ListQuery), responses((status = 200, body = Items<Conversation>)), tag = "conversations")]
pub async fn list(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Items<Conversation>>, ApiError> {
    caller.require(Role::Agent)?;
    let items = s
        .timeline
        .conversations(q.customer_id, q.agent_id, q.status, q.limit.unwrap_or(50))
        .await?;
    Ok(Json(Items { items }))
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}/messages", responses((status = 200, body = Items<TimelineEvent>)), tag = "conversations")]
pub async fn messages(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Items<TimelineEvent>>, ApiError> {
    caller.require(Role::Agent)?;
    Ok(Json(Items {
        items: s.timeline.conversation_messages(id, 500).await?,
    }))
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}", responses((status = 200, body = Conversation), (status = 404)), tag = "conversations")]
pub async fn get(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Conversation>, ApiError> {
    caller.require(Role::Agent)?;
    Ok(Json(s.timeline.conversation(id).await?))
}

#[utoipa::path(put, path = "/api/v1/conversations/{id}/status", request_body = StatusChange,
    responses((status = 200, body = Conversation)), tag = "conversations")]
pub async fn set_status(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(c): ApiJson<StatusChange>,
) -> Result<Json<Conversation>, ApiError> {
    caller.require(Role::Agent)?;
    let conv = s.timeline.set_status(id, c.status).await?;
    if matches!(
        c.status,
        ConversationStatus::Resolved | ConversationStatus::Abandoned
    ) {
        leave_routing(&s, id).await?;
    }
    Ok(Json(conv))
}

/// A conversation closed by hand leaves routing: its agent starts wrap-up, or
/// it stops waiting in its queue (and its offer is withdrawn).
async fn leave_routing(s: &AppState, id: Uuid) -> Result<(), ApiError> {
    use crate::routing::actor::ServiceError;
    use crate::routing::engine::{Input, RoutingError};
    let gone = |r: Result<(), ServiceError>| match r {
        Ok(()) => Ok(true),
        Err(ServiceError::Routing(RoutingError::UnknownItem(_))) => Ok(false),
        Err(e) => Err(ApiError::from(e)),
    };
    if !gone(s.routing.apply(Input::Finish { item: id }).await)? {
        gone(s.routing.apply(Input::Cancel { item: id }).await)?;
    }
    Ok(())
}
