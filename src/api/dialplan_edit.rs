//! Editing dialplans over the API (admins only): a plan's source, checking a
//! candidate text, saving it (validated with the whole folder, never replacing a
//! good plan with a bad one), its history with diffs, and rollback. The work is
//! done by `dialplan::edit`; this maps it to JSON and status codes.

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, Caller};
use super::state::AppState;
use crate::auth::Role;
use crate::db::DbError;
use crate::dialplan::Diagnostic;
use crate::dialplan::edit::{self, EditError, Save, Saved};
use crate::dialplan::flow::{self, Flow};
use crate::dialplan::history::{History, HistoryError, VersionInfo};

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanSource {
    pub name: String,
    pub file: String,
    pub text: String,
    /// sha256 (hex) of `text`: send it back as `base_sha256` when saving.
    pub sha256: String,
    /// Steps and their ways out, for drawing.
    pub flow: Option<Flow>,
}

/// One finding of the checks, at a line and column of `file`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    pub file: String,
    pub line: u64,
    pub col: u64,
    pub message: String,
    /// Warnings do not stop a save.
    pub warning: bool,
}

impl From<&Diagnostic> for Problem {
    fn from(d: &Diagnostic) -> Self {
        Problem {
            file: d.file.clone(),
            line: d.line,
            col: d.col,
            message: d.message.clone(),
            warning: d.warning,
        }
    }
}

fn problems(diags: &[Diagnostic]) -> Vec<Problem> {
    diags.iter().map(Problem::from).collect()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckRequest {
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckReport {
    /// True when the text could be saved (no errors; warnings allowed).
    pub ok: bool,
    pub problems: Vec<Problem>,
    /// The candidate's steps and ways out, when it parses (even with problems).
    pub flow: Option<Flow>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaveRequest {
    pub text: String,
    /// sha256 of the text the edit started from; a different file on disk is a 409.
    #[serde(default)]
    pub base_sha256: Option<String>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SaveReport {
    /// The registry version now in force.
    pub version: u64,
    /// The history entry of the saved text.
    pub version_id: Uuid,
    pub sha256: String,
    pub warnings: Vec<Problem>,
}

impl From<Saved> for SaveReport {
    fn from(s: Saved) -> Self {
        SaveReport {
            version: s.version,
            version_id: s.id,
            sha256: s.sha256,
            warnings: problems(&s.warnings),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionSummary {
    pub id: Uuid,
    pub sha256: String,
    pub author: String,
    pub comment: String,
    pub created_at: DateTime<Utc>,
}

impl From<&VersionInfo> for VersionSummary {
    fn from(v: &VersionInfo) -> Self {
        VersionSummary {
            id: v.id,
            sha256: v.sha256.clone(),
            author: v.author.clone(),
            comment: v.comment.clone(),
            created_at: v.created_at(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionDetail {
    pub id: Uuid,
    pub text: String,
    pub sha256: String,
    pub author: String,
    pub comment: String,
    pub created_at: DateTime<Utc>,
    /// Unified diff from this version to the text on disk now; empty when equal.
    pub diff: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackRequest {
    /// The id of the version to save again.
    pub version: Uuid,
}

impl From<EditError> for ApiError {
    fn from(e: EditError) -> Self {
        match e {
            EditError::BadName(_) | EditError::TooLarge(_) => ApiError::BadRequest(e.to_string()),
            EditError::UnknownPlan(_) | EditError::UnknownVersion { .. } => {
                ApiError::NotFound(e.to_string())
            }
            EditError::Stale(_) | EditError::FileTaken(_) | EditError::NotActivated(_) => {
                ApiError::Conflict(e.to_string())
            }
            EditError::Invalid(ref diags) => ApiError::InvalidDialplan {
                message: e.to_string(),
                problems: serde_json::to_value(problems(diags)).unwrap_or_default(),
            },
            EditError::History(h) => h.into(),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<HistoryError> for ApiError {
    fn from(e: HistoryError) -> Self {
        match e {
            HistoryError::Db(DbError::Unreachable(_))
            | HistoryError::Db(DbError::Query(sqlx::Error::PoolTimedOut)) => ApiError::Unavailable,
            other => ApiError::Internal(other.to_string()),
        }
    }
}

fn history(s: &AppState) -> History {
    History::new(s.timeline.db.clone())
}

/// A plan's file as it is on disk, with the sha256 to save against.
#[utoipa::path(get, path = "/api/v1/dialplans/{name}/source", params(("name" = String, Path, description = "plan name")),
    responses((status = 200, body = PlanSource), (status = 403), (status = 404)), tag = "dialplans")]
pub async fn source(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<PlanSource>, ApiError> {
    caller.require(Role::Admin)?;
    let src = edit::source(&s.dialplans, &name)?;
    Ok(Json(PlanSource {
        name: src.name,
        file: src.path.display().to_string(),
        flow: flow::of_text(&src.text),
        text: src.text,
        sha256: src.sha256,
    }))
}

/// Checks a candidate text with the rest of the folder; writes nothing.
#[utoipa::path(post, path = "/api/v1/dialplans/{name}/check", params(("name" = String, Path, description = "plan name")),
    request_body = CheckRequest, responses((status = 200, body = CheckReport), (status = 400), (status = 403)), tag = "dialplans")]
pub async fn check(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    ApiJson(req): ApiJson<CheckRequest>,
) -> Result<Json<CheckReport>, ApiError> {
    caller.require(Role::Admin)?;
    let diags = edit::check(&s.dialplans, &name, &req.text)?;
    Ok(Json(CheckReport {
        ok: diags.iter().all(|d| d.warning),
        problems: problems(&diags),
        flow: flow::of_text(&req.text),
    }))
}

/// Saves a plan (a new name creates `<name>.yaml`) and activates it; an invalid
/// plan is a 400 `invalid_dialplan` with its problems, a stale base a 409.
#[utoipa::path(put, path = "/api/v1/dialplans/{name}", params(("name" = String, Path, description = "plan name")),
    request_body = SaveRequest, responses((status = 200, body = SaveReport), (status = 400), (status = 403), (status = 409)), tag = "dialplans")]
pub async fn save(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    ApiJson(req): ApiJson<SaveRequest>,
) -> Result<Json<SaveReport>, ApiError> {
    let user = caller.require(Role::Admin)?;
    let save = Save {
        text: &req.text,
        base_sha256: req.base_sha256.as_deref(),
        author: &user.name,
        comment: req.comment.as_deref().unwrap_or(""),
    };
    let saved = edit::save(&s.dialplans, &history(&s), &name, save).await?;
    Ok(Json(saved.into()))
}

/// The plan's saved versions, newest first.
#[utoipa::path(get, path = "/api/v1/dialplans/{name}/versions", params(("name" = String, Path, description = "plan name")),
    responses((status = 200, body = [VersionSummary]), (status = 403)), tag = "dialplans")]
pub async fn versions(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
) -> Result<Json<Vec<VersionSummary>>, ApiError> {
    caller.require(Role::Admin)?;
    edit::check_name(&name)?;
    let list = history(&s).list(&name).await?;
    Ok(Json(list.iter().map(VersionSummary::from).collect()))
}

/// One version with its text and a diff to the text on disk now.
#[utoipa::path(get, path = "/api/v1/dialplans/{name}/versions/{id}",
    params(("name" = String, Path, description = "plan name"), ("id" = Uuid, Path, description = "version id")),
    responses((status = 200, body = VersionDetail), (status = 403), (status = 404)), tag = "dialplans")]
pub async fn version(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath((name, id)): ApiPath<(String, Uuid)>,
) -> Result<Json<VersionDetail>, ApiError> {
    caller.require(Role::Admin)?;
    edit::check_name(&name)?;
    let v = history(&s)
        .get(&name, id)
        .await?
        .ok_or(EditError::UnknownVersion {
            plan: name.clone(),
            id,
        })?;
    let diff = edit::diff_to_disk(&s.dialplans, &name, &v.text, &format!("version {id}"));
    let summary = VersionSummary::from(&v.info);
    Ok(Json(VersionDetail {
        id,
        text: v.text,
        sha256: summary.sha256,
        author: summary.author,
        comment: summary.comment,
        created_at: summary.created_at,
        diff,
    }))
}

/// Saves an old version again (checked again), as a new version.
#[utoipa::path(post, path = "/api/v1/dialplans/{name}/rollback", params(("name" = String, Path, description = "plan name")),
    request_body = RollbackRequest, responses((status = 200, body = SaveReport), (status = 400), (status = 403), (status = 404)), tag = "dialplans")]
pub async fn rollback(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(name): ApiPath<String>,
    ApiJson(req): ApiJson<RollbackRequest>,
) -> Result<Json<SaveReport>, ApiError> {
    let user = caller.require(Role::Admin)?;
    let saved = edit::rollback(&s.dialplans, &history(&s), &name, req.version, &user.name).await?;
    Ok(Json(saved.into()))
}
