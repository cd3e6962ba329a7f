//! The audio of a timeline event: a call recording or a voicemail message, as
//! WAV, for agents to play in the workspace. Only files under the data folder's
//! `recordings/` are served.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{ApiPath, Caller};
use super::state::AppState;
use crate::auth::Role;
use crate::timeline::model::EventPayload;

#[utoipa::path(get, path = "/api/v1/events/{id}/audio",
    responses((status = 200, content_type = "audio/wav"), (status = 404)), tag = "timeline")]
pub async fn audio(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    caller.require(Role::Agent)?;
    let event = s.timeline.event(id).await?;
    let path = match &event.payload {
        EventPayload::Recording { path, .. } | EventPayload::Voicemail { path, .. } => path,
        _ => return Err(ApiError::NotFound(format!("event {id} has no audio"))),
    };
    let root = s.config.data_dir.join("recordings");
    let gone = || ApiError::NotFound(format!("the audio of event {id} is gone"));
    let file = std::fs::canonicalize(path).map_err(|_| gone())?;
    let inside = std::fs::canonicalize(&root).is_ok_and(|r| file.starts_with(r));
    if !inside {
        return Err(ApiError::NotFound(format!("event {id} has no audio here")));
    }
    let bytes = tokio::fs::read(&file).await.map_err(|_| gone())?;
    Ok(([(header::CONTENT_TYPE, "audio/wav")], bytes).into_response())
}
