//! Conversation routes: open, list, read, and change status.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::customers::Items;
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery, Caller};
use super::state::AppState;
use crate::auth::Role;
use crate::timeline::model::{Conversation, ConversationStatus, NewConversation};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub customer_id: Option<Uuid>,
    pub status: Option<ConversationStatus>,
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    pub status: ConversationStatus,
}

#[utoipa::path(post, path = "/api/v1/conversations", request_body = NewConversation,
    responses((status = 201, body = Conversation)), tag = "conversations")]
pub async fn open(State(s): State<AppState>, caller: Caller, ApiJson(n): ApiJson<NewConversation>) -> Result<(StatusCode, Json<Conversation>), ApiError> {
    caller.require(Role::Agent)?;
    Ok((StatusCode::CREATED, Json(s.timeline.open_conversation(n).await?)))
}

#[utoipa::path(get, path = "/api/v1/conversations", params(ListQuery), responses((status = 200, body = Items<Conversation>)), tag = "conversations")]
pub async fn list(State(s): State<AppState>, caller: Caller, ApiQuery(q): ApiQuery<ListQuery>) -> Result<Json<Items<Conversation>>, ApiError> {
    caller.require(Role::Agent)?;
    let items = s.timeline.conversations(q.customer_id, q.status, q.limit.unwrap_or(50)).await?;
    Ok(Json(Items { items }))
}

#[utoipa::path(get, path = "/api/v1/conversations/{id}", responses((status = 200, body = Conversation), (status = 404)), tag = "conversations")]
pub async fn get(State(s): State<AppState>, caller: Caller, Path(id): Path<Uuid>) -> Result<Json<Conversation>, ApiError> {
    caller.require(Role::Agent)?;
    Ok(Json(s.timeline.conversation(id).await?))
}

#[utoipa::path(put, path = "/api/v1/conversations/{id}/status", request_body = StatusChange,
    responses((status = 200, body = Conversation)), tag = "conversations")]
pub async fn set_status(State(s): State<AppState>, caller: Caller, Path(id): Path<Uuid>, ApiJson(c): ApiJson<StatusChange>) -> Result<Json<Conversation>, ApiError> {
    caller.require(Role::Agent)?;
    Ok(Json(s.timeline.set_status(id, c.status).await?))
}
