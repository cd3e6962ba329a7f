//! Routing rules routes: read the rules in force (agents and up) and replace the
//! whole ordered list (admins), checked against the queues, the dialplans' intents
//! and the agents' skills before anything is stored.

use std::collections::BTreeSet;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::ApiError;
use super::extract::{ApiJson, Caller};
use super::state::AppState;
use crate::auth::Role;
use crate::db::DbError;
use crate::routing::rules::{Actions, Rule, RuleSet};
use crate::routing::rules_check::Known;
use crate::routing::rules_store::{RulesError, Snapshot};

impl From<RulesError> for ApiError {
    fn from(e: RulesError) -> Self {
        match e {
            RulesError::Invalid(_) => ApiError::BadRequest(e.to_string()),
            RulesError::Stale { .. } => ApiError::Conflict(e.to_string()),
            RulesError::Db(DbError::Unreachable(_))
            | RulesError::Db(DbError::Query(sqlx::Error::PoolTimedOut)) => ApiError::Unavailable,
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// The routing rules in force.
#[derive(Debug, Serialize, ToSchema)]
pub struct RulesView {
    /// Tried in order; the first rule whose conditions all hold wins.
    pub rules: Vec<Rule>,
    /// Applies when no rule matches.
    pub default: Actions,
    /// Saves so far (0: never saved); give it back with a change to refuse
    /// overwriting someone else's.
    pub version: i64,
    pub updated_by: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Things that work but are probably not meant, e.g. a skill no agent has.
    pub warnings: Vec<String>,
}

impl RulesView {
    fn of(s: &Snapshot, warnings: Vec<String>) -> RulesView {
        let set = s.rules.set().clone();
        RulesView {
            rules: set.rules,
            default: set.default,
            version: s.version,
            updated_by: s.updated_by.clone(),
            updated_at: s.updated_at,
            warnings,
        }
    }
}

/// A new rule list, replacing the one in force.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RulesUpdate {
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Default: queue `support`.
    #[serde(default)]
    pub default: Actions,
    /// The version this change is based on; a save since then makes it 409.
    #[serde(default)]
    pub version: Option<i64>,
}

/// What rules may name: the queues, the dialplans' intents, the agents' skills.
async fn known(s: &AppState) -> Result<Known, ApiError> {
    let skills: BTreeSet<String> = s
        .routing
        .store
        .agents()
        .await?
        .into_iter()
        .flat_map(|a| a.settings.skills.into_keys())
        .collect();
    Ok(Known {
        queues: s.routing.queue_names().await?.into_iter().collect(),
        intents: s.rules.intents().keys().cloned().collect(),
        skills,
    })
}

#[utoipa::path(get, path = "/api/v1/routing/rules", responses((status = 200, body = RulesView)), tag = "routing")]
pub async fn get(State(s): State<AppState>, caller: Caller) -> Result<Json<RulesView>, ApiError> {
    caller.require(Role::Agent)?;
    let current = s.rules.current();
    let warnings = crate::routing::rules_check::references(current.rules.set(), &known(&s).await?)
        .unwrap_or_else(|e| vec![e.to_string()]);
    Ok(Json(RulesView::of(&current, warnings)))
}

#[utoipa::path(put, path = "/api/v1/routing/rules", request_body = RulesUpdate,
    responses((status = 200, body = RulesView), (status = 400, description = "a rule does not pass its checks; the message names the rule and field"),
        (status = 409, description = "saved by someone else since `version`")), tag = "routing")]
pub async fn put(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(u): ApiJson<RulesUpdate>,
) -> Result<Json<RulesView>, ApiError> {
    let user = caller.require(Role::Admin)?;
    let set = RuleSet {
        rules: u.rules,
        default: u.default,
    };
    let known = known(&s).await?;
    let (saved, warnings) = s.rules.replace(set, u.version, &known, &user.name).await?;
    tracing::info!(version = saved.version, by = %user.name, rules = saved.rules.set().rules.len(), "routing rules replaced");
    Ok(Json(RulesView::of(&saved, warnings)))
}
