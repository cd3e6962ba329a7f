//! Dialplan administration: what is in force, and the problems of the last reload.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::Caller;
use super::state::AppState;
use crate::auth::Role;

#[derive(Debug, Serialize, ToSchema)]
pub struct DialplanStatus {
    /// Increases each time a reload is activated.
    pub version: u64,
    pub plans: Vec<PlanSummary>,
    /// `file:line:col: message` lines from the last reload; errors kept the previous version.
    pub problems: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanSummary {
    pub name: String,
    pub file: String,
    pub dids: Vec<String>,
    pub default: bool,
}

#[utoipa::path(get, path = "/api/v1/dialplans", responses((status = 200, body = DialplanStatus)), tag = "dialplans")]
pub async fn status(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<DialplanStatus>, ApiError> {
    caller.require(Role::Admin)?;
    let set = s.dialplans.current();
    let plans = set
        .plans
        .iter()
        .map(|p| PlanSummary {
            name: p.name().to_string(),
            file: p.path.display().to_string(),
            dids: p
                .file
                .matching
                .dids
                .iter()
                .map(|d| d.value.clone())
                .collect(),
            default: p.file.matching.default,
        })
        .collect();
    let problems = s
        .dialplans
        .problems()
        .iter()
        .map(ToString::to_string)
        .collect();
    Ok(Json(DialplanStatus {
        version: set.version,
        plans,
        problems,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Registration {
    pub user: String,
    pub contact: String,
    pub source: String,
    /// Registered over WebSocket: reached only over that connection, and gone
    /// when it closes.
    pub websocket: bool,
}

/// Registered phones (admin): who can be reached on a SIP phone now.
#[utoipa::path(get, path = "/api/v1/registrations", params(("user" = String, Query, description = "SIP user")), responses((status = 200, body = [Registration])), tag = "dialplans")]
pub async fn registrations(
    State(s): State<AppState>,
    caller: Caller,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Json<Vec<Registration>>, ApiError> {
    caller.require(Role::Admin)?;
    let user = q.get("user").cloned().unwrap_or_default();
    let list = s
        .bindings
        .lookup(&user)
        .into_iter()
        .map(|b| Registration {
            user: user.clone(),
            contact: b.contact,
            source: b.source.to_string(),
            websocket: b.websocket,
        })
        .collect();
    Ok(Json(list))
}
