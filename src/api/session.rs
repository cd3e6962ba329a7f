//! Sign-in routes for the browser (session cookie) and user management for admins.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::ToSchema;

use super::customers::Items;
use super::error::ApiError;
use super::extract::{ApiJson, Caller, SESSION_COOKIE, session_cookie};
use super::state::AppState;
use crate::auth::{Role, User};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Login {
    pub name: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub name: String,
    pub role: Role,
    pub password: String,
}

#[utoipa::path(post, path = "/api/v1/auth/login", request_body = Login, responses((status = 200, body = User), (status = 401)), tag = "auth")]
pub async fn login(
    State(s): State<AppState>,
    ApiJson(l): ApiJson<Login>,
) -> Result<impl IntoResponse, ApiError> {
    let (user, secret) = s
        .auth
        .login(&l.name, &l.password, s.config.auth.session_hours)
        .await?;
    let max_age = u64::from(s.config.auth.session_hours) * 3600;
    let cookie =
        format!("{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}");
    let mut headers = HeaderMap::new();
    headers.insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    Ok((headers, Json(user)))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", responses((status = 204)), tag = "auth")]
pub async fn logout(
    State(s): State<AppState>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, ApiError> {
    if let Some(secret) = session_cookie(&headers) {
        s.auth.logout(&secret).await?;
    }
    let clear =
        HeaderValue::from_static("sb_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]))
}

#[utoipa::path(get, path = "/api/v1/auth/me", responses((status = 200, body = User), (status = 401)), tag = "auth")]
pub async fn me(caller: Caller) -> Json<User> {
    Json(caller.0)
}

#[utoipa::path(post, path = "/api/v1/users", request_body = NewUser, responses((status = 201, body = User), (status = 403)), tag = "auth")]
pub async fn add_user(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(n): ApiJson<NewUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    caller.require(Role::Admin)?;
    Ok((
        StatusCode::CREATED,
        Json(s.auth.add_user(&n.name, n.role, &n.password).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/users", responses((status = 200, body = Items<User>)), tag = "auth")]
pub async fn users(
    State(s): State<AppState>,
    caller: Caller,
) -> Result<Json<Items<User>>, ApiError> {
    caller.require(Role::Admin)?;
    Ok(Json(Items {
        items: s.auth.users().await?,
    }))
}
