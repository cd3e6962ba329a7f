//! Routing routes: queues and their live figures, agents and their state, offers
//! (accept, reject), wrap-up and resolve. Agents act only for themselves;
//! supervisors may act for anyone.

use std::path::Path;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::customers::Items;
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, Caller};
use super::state::AppState;
use crate::auth::{Role, User};
use crate::routing::actor::{RoutingEvent, ServiceError};
use crate::routing::agent::AgentStatus;
use crate::routing::engine::{Input, RoutingError};
use crate::routing::model::{Overflow, Presence, QueueConfig};
use crate::routing::stats::QueueStats;
use crate::routing::store::{AgentRecord, AgentSettings, StoreError};
use crate::timeline::model::{Conversation, ConversationStatus, EventPayload, NewEvent};

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Routing(r) => match r {
                RoutingError::OfferGone => ApiError::Conflict(r.to_string()),
                RoutingError::NotYourOffer => ApiError::Forbidden("offer owner"),
                RoutingError::UnknownAgent(_) | RoutingError::UnknownItem(_) => {
                    ApiError::NotFound(r.to_string())
                }
                other => ApiError::BadRequest(other.to_string()),
            },
            ServiceError::Stopped => ApiError::Unavailable,
            ServiceError::Store(s) => s.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgent {
    pub name: String,
    /// Password for the agent's new user account (role agent).
    pub password: String,
    #[serde(flatten)]
    pub settings: AgentSettings,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentView {
    #[serde(flatten)]
    pub record: AgentRecord,
    pub status: Option<AgentStatus>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WrapUp {
    pub disposition: String,
    #[serde(default)]
    pub notes: String,
    /// Resolve the conversation (default) or leave it open for follow-up.
    #[serde(default = "yes")]
    pub resolve: bool,
}

fn yes() -> bool {
    true
}

#[utoipa::path(post, path = "/api/v1/queues", request_body = QueueConfig, responses((status = 201, body = QueueConfig)), tag = "routing")]
pub async fn upsert_queue(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(q): ApiJson<QueueConfig>,
) -> Result<(StatusCode, Json<QueueConfig>), ApiError> {
    caller.require(Role::Admin)?;
    let known = s.routing.queue_names().await?;
    q.validate(&known)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    overflow_prompts_present(&s.config.sounds.dir, &q).await?;
    s.routing.store.save_queue(&q).await?;
    s.routing.apply(Input::UpsertQueue(q.clone())).await?;
    Ok((StatusCode::CREATED, Json(q)))
}

/// A voicemail or callback overflow plays prompts to the caller it takes out
/// of the line: they must be in every language of the sound set (each folder
/// of the sounds dir), or the queue is refused.
async fn overflow_prompts_present(sounds: &Path, q: &QueueConfig) -> Result<(), ApiError> {
    use crate::dialplan::schema::DEFAULT_BEEP;
    use crate::dialplan::vm::{OVERFLOW_CALLBACK, OVERFLOW_GREETING, OVERFLOW_THANKS};
    let needed: &[&str] = match q.overflow {
        Some(Overflow::Voicemail) => &[OVERFLOW_GREETING, DEFAULT_BEEP, OVERFLOW_THANKS],
        Some(Overflow::Callback) => &[OVERFLOW_CALLBACK],
        Some(Overflow::Queue { .. }) | None => return Ok(()),
    };
    let mut missing = Vec::new();
    let mut dirs = tokio::fs::read_dir(sounds)
        .await
        .map_err(|e| ApiError::Internal(format!("sounds dir {}: {e}", sounds.display())))?;
    while let Ok(Some(entry)) = dirs.next_entry().await {
        if !entry.file_type().await.is_ok_and(|t| t.is_dir()) {
            continue;
        }
        for name in needed {
            let file = entry.path().join(format!("{name}.wav"));
            if !tokio::fs::try_exists(&file).await.unwrap_or(false) {
                missing.push(file.display().to_string());
            }
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(ApiError::BadRequest(format!(
        "overflow: the prompts it plays are missing: {}",
        missing.join(", ")
    )))
}

#[utoipa::path(get, path = "/api/v1/queues", responses((status = 200, body = Items<QueueStats>)), tag = "routing")]
pub async fn queues(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Items<QueueStats>>, ApiError> {
    caller.require(Role::Agent)?;
    let mut items = Vec::new();
    for name in s.routing.queue_names().await? {
        items.extend(s.routing.stats(&name).await?);
    }
    Ok(Json(Items { items }))
}

#[utoipa::path(get, path = "/api/v1/queues/{name}/stats", responses((status = 200, body = QueueStats), (status = 404)), tag = "routing")]
pub async fn queue_stats(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<QueueStats>, ApiError> {
    caller.require(Role::Agent)?;
    s.routing
        .stats(&name)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("queue {name}")))
}

#[utoipa::path(post, path = "/api/v1/agents", request_body = NewAgent, responses((status = 201, body = AgentView)), tag = "routing")]
pub async fn create_agent(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(n): ApiJson<NewAgent>,
) -> Result<(StatusCode, Json<AgentView>), ApiError> {
    caller.require(Role::Admin)?;
    let known = s.routing.queue_names().await?;
    if let Some(q) = n.settings.queues.iter().find(|q| !known.contains(q)) {
        return Err(ApiError::BadRequest(format!("queues: unknown queue `{q}`")));
    }
    if let Some((k, _)) = n
        .settings
        .skills
        .iter()
        .find(|(_, v)| !(1..=5).contains(*v))
    {
        return Err(ApiError::BadRequest(format!(
            "skills.{k}: proficiency must be 1 to 5"
        )));
    }
    let user = s.auth.add_user(&n.name, Role::Agent, &n.password).await?;
    let record = s
        .routing
        .store
        .create_agent(user.id, &n.name, &n.settings)
        .await?;
    s.routing
        .apply(Input::UpsertAgent(record.profile()))
        .await?;
    let status = s.routing.status(record.id).await?;
    Ok((StatusCode::CREATED, Json(AgentView { record, status })))
}

/// An agent as colleagues see them: whom to transfer a call to.
#[derive(Debug, Serialize, ToSchema)]
pub struct Colleague {
    pub name: String,
    pub status: Option<AgentStatus>,
}

/// Every agent's name and state, for any agent (the workspace's transfer list).
#[utoipa::path(get, path = "/api/v1/agents/directory", responses((status = 200, body = Items<Colleague>)), tag = "routing")]
pub async fn directory(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Items<Colleague>>, ApiError> {
    caller.require(Role::Agent)?;
    let mut items = Vec::new();
    for record in s.routing.store.agents().await? {
        let status = s.routing.status(record.id).await?;
        items.push(Colleague {
            name: record.name,
            status,
        });
    }
    Ok(Json(Items { items }))
}

#[utoipa::path(get, path = "/api/v1/agents", responses((status = 200, body = Items<AgentView>)), tag = "routing")]
pub async fn agents(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Items<AgentView>>, ApiError> {
    caller.require(Role::Supervisor)?;
    let mut items = Vec::new();
    for record in s.routing.store.agents().await? {
        let status = s.routing.status(record.id).await?;
        items.push(AgentView { record, status });
    }
    Ok(Json(Items { items }))
}

/// The agent record the caller may act as: their own, or any for a supervisor.
async fn agent_for(s: &AppState, user: &User, id: Uuid) -> Result<AgentRecord, ApiError> {
    let record = s
        .routing
        .store
        .agent(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("agent {id}")))?;
    if record.user_id != user.id && !user.role.allows(Role::Supervisor) {
        return Err(ApiError::Forbidden("supervisor"));
    }
    Ok(record)
}

/// The caller's own agent record.
pub async fn own_agent(s: &AppState, user: &User) -> Result<AgentRecord, ApiError> {
    s.routing
        .store
        .agent_of_user(user.id)
        .await?
        .ok_or(ApiError::Forbidden("agent"))
}

#[utoipa::path(get, path = "/api/v1/agents/me", responses((status = 200, body = AgentView)), tag = "routing")]
pub async fn me(State(s): State<AppState>, caller: Caller) -> Result<Json<AgentView>, ApiError> {
    let record = own_agent(&s, caller.require(Role::Agent)?).await?;
    let status = s.routing.status(record.id).await?;
    Ok(Json(AgentView { record, status }))
}

#[utoipa::path(get, path = "/api/v1/agents/{id}", responses((status = 200, body = AgentView)), tag = "routing")]
pub async fn agent(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<AgentView>, ApiError> {
    let record = agent_for(&s, caller.require(Role::Agent)?, id).await?;
    let status = s.routing.status(record.id).await?;
    Ok(Json(AgentView { record, status }))
}

#[utoipa::path(put, path = "/api/v1/agents/{id}/state", request_body = Presence, responses((status = 200, body = AgentView)), tag = "routing")]
pub async fn set_state(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(p): ApiJson<Presence>,
) -> Result<Json<AgentView>, ApiError> {
    let mut record = agent_for(&s, caller.require(Role::Agent)?, id).await?;
    s.routing.store.save_presence(id, &p).await?;
    s.routing
        .apply(Input::SetPresence {
            agent: id,
            presence: p.clone(),
        })
        .await?;
    record.presence = p;
    let status = s.routing.status(id).await?;
    Ok(Json(AgentView { record, status }))
}

#[utoipa::path(get, path = "/api/v1/agents/{id}/offers", responses((status = 200, body = Items<RoutingEvent>)), tag = "routing")]
pub async fn offers(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Items<RoutingEvent>>, ApiError> {
    let record = agent_for(&s, caller.require(Role::Agent)?, id).await?;
    Ok(Json(Items {
        items: s.routing.offers(record.id).await?,
    }))
}

#[utoipa::path(post, path = "/api/v1/offers/{id}/accept", responses((status = 204), (status = 409)), tag = "routing")]
pub async fn accept(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let agent = own_agent(&s, caller.require(Role::Agent)?).await?;
    s.routing
        .apply(Input::Accept {
            offer: id,
            agent: agent.id,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/offers/{id}/reject", responses((status = 204), (status = 409)), tag = "routing")]
pub async fn reject(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<StatusCode, ApiError> {
    let agent = own_agent(&s, caller.require(Role::Agent)?).await?;
    s.routing
        .apply(Input::Reject {
            offer: id,
            agent: agent.id,
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/wrap-up", request_body = WrapUp, responses((status = 200, body = Conversation)), tag = "routing")]
pub async fn wrap_up(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(w): ApiJson<WrapUp>,
) -> Result<Json<Conversation>, ApiError> {
    let user = caller.require(Role::Agent)?;
    let conv = s.timeline.conversation(id).await?;
    assigned_to_caller(&s, user, &conv).await?;
    if w.disposition.trim().is_empty() || w.disposition.len() > 64 {
        return Err(ApiError::BadRequest(
            "disposition: must be 1 to 64 characters".into(),
        ));
    }
    s.timeline
        .append(
            conv.customer_id,
            NewEvent {
                conversation_id: Some(id),
                payload: EventPayload::Disposition {
                    code: w.disposition.clone(),
                    notes: w.notes.clone(),
                },
            },
        )
        .await?;
    s.timeline.set_disposition(id, &w.disposition).await?;
    finish(&s, id).await?;
    let status = if w.resolve {
        ConversationStatus::Resolved
    } else {
        ConversationStatus::WrapUp
    };
    Ok(Json(s.timeline.set_status(id, status).await?))
}

#[utoipa::path(post, path = "/api/v1/conversations/{id}/resolve", responses((status = 200, body = Conversation)), tag = "routing")]
pub async fn resolve(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Conversation>, ApiError> {
    let user = caller.require(Role::Agent)?;
    let conv = s.timeline.conversation(id).await?;
    assigned_to_caller(&s, user, &conv).await?;
    finish(&s, id).await?;
    Ok(Json(
        s.timeline
            .set_status(id, ConversationStatus::Resolved)
            .await?,
    ))
}

/// Ends the agent's hold on a conversation (unknown to routing is fine: already done).
async fn finish(s: &AppState, id: Uuid) -> Result<(), ApiError> {
    match s.routing.apply(Input::Finish { item: id }).await {
        Ok(()) | Err(ServiceError::Routing(RoutingError::UnknownItem(_))) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

async fn assigned_to_caller(
    s: &AppState,
    user: &User,
    conv: &Conversation,
) -> Result<(), ApiError> {
    if user.role.allows(Role::Supervisor) {
        return Ok(());
    }
    let agent = own_agent(s, user).await?;
    if conv.agent_id != Some(agent.id) {
        return Err(ApiError::Forbidden("the assigned agent"));
    }
    Ok(())
}
