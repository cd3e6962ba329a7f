//! Customer routes: create, search, read, update, link identities, merge, and the
//! customer's timeline (read pages, append events).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, Caller};
use super::state::AppState;
use crate::auth::Role;
use crate::metrics::Metrics;
use crate::timeline::Cursor;
use crate::timeline::identity::IdentityKind;
use crate::timeline::model::{
    Customer, CustomerPatch, Identity, NewCustomer, NewEvent, TimelineEvent,
};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    pub phone: Option<String>,
    pub email: Option<String>,
    pub q: Option<String>,
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TimelineQuery {
    /// Events older than this seq, newest first.
    pub before: Option<i64>,
    /// Events newer than this seq, oldest first.
    pub after: Option<i64>,
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelinePage {
    pub items: Vec<TimelineEvent>,
    /// Pass as `before` for the next older page; absent at the end.
    pub next_before: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeRequest {
    /// The customer to merge into the one in the path.
    pub merge: Uuid,
}

#[utoipa::path(post, path = "/api/v1/customers", request_body = NewCustomer,
    responses((status = 201, body = Customer), (status = 400), (status = 409)), tag = "customers")]
pub async fn create(
    State(s): State<AppState>,
    caller: Caller,
    ApiJson(new): ApiJson<NewCustomer>,
) -> Result<(StatusCode, Json<Customer>), ApiError> {
    caller.require(Role::Agent)?;
    Ok((
        StatusCode::CREATED,
        Json(s.timeline.create_customer(new).await?),
    ))
}

#[utoipa::path(get, path = "/api/v1/customers", params(SearchQuery), responses((status = 200, body = Items<Customer>)), tag = "customers")]
pub async fn search(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<SearchQuery>,
) -> Result<Json<Items<Customer>>, ApiError> {
    caller.require(Role::Agent)?;
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let by_identity = [
        (IdentityKind::Phone, &q.phone),
        (IdentityKind::Email, &q.email),
    ];
    for (kind, value) in by_identity {
        if let Some(v) = value {
            let found = s.timeline.find_by_identity(kind, v).await?;
            return Ok(Json(Items {
                items: found.into_iter().collect(),
            }));
        }
    }
    let items = s
        .timeline
        .search(q.q.as_deref().unwrap_or(""), limit)
        .await?;
    Ok(Json(Items { items }))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}", responses((status = 200, body = Customer), (status = 404)), tag = "customers")]
pub async fn get(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Json<Customer>, ApiError> {
    caller.require(Role::Agent)?;
    Ok(Json(s.timeline.customer(id).await?))
}

#[utoipa::path(patch, path = "/api/v1/customers/{id}", request_body = CustomerPatch, responses((status = 200, body = Customer)), tag = "customers")]
pub async fn update(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(p): ApiJson<CustomerPatch>,
) -> Result<Json<Customer>, ApiError> {
    caller.require(Role::Agent)?;
    Ok(Json(s.timeline.update_customer(id, p).await?))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/identities", request_body = Identity, responses((status = 200, body = Customer), (status = 409)), tag = "customers")]
pub async fn add_identity(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(i): ApiJson<Identity>,
) -> Result<Json<Customer>, ApiError> {
    caller.require(Role::Agent)?;
    Ok(Json(s.timeline.add_identity(id, i).await?))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/merge", request_body = MergeRequest,
    responses((status = 200, body = Customer), (status = 409)), tag = "customers")]
pub async fn merge(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(m): ApiJson<MergeRequest>,
) -> Result<Json<Customer>, ApiError> {
    caller.require(Role::Supervisor)?;
    Ok(Json(s.timeline.merge(id, m.merge).await?))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/timeline", params(TimelineQuery), responses((status = 200, body = TimelinePage)), tag = "timeline")]
pub async fn timeline(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(q): ApiQuery<TimelineQuery>,
) -> Result<Json<TimelinePage>, ApiError> {
    caller.require(Role::Agent)?;
    let limit = q.limit.unwrap_or(50);
    let cursor = match (q.before, q.after) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest(
                "give either before or after, not both".into(),
            ));
        }
        (Some(b), None) => Cursor::Before(b),
        (None, Some(a)) => Cursor::After(a),
        (None, None) => Cursor::Latest,
    };
    let items = s.timeline.timeline(id, cursor, limit).await?;
    let newest_first = !matches!(cursor, Cursor::After(_));
    let next_before = (newest_first && items.len() as i64 == limit)
        .then(|| items.last().map(|e| e.seq))
        .flatten();
    Ok(Json(TimelinePage { items, next_before }))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/timeline", request_body = NewEvent,
    responses((status = 201, body = TimelineEvent)), tag = "timeline")]
pub async fn append(
    State(s): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(e): ApiJson<NewEvent>,
) -> Result<(StatusCode, Json<TimelineEvent>), ApiError> {
    caller.require(Role::Agent)?;
    let event = s.timeline.append(id, e).await?;
    Metrics::inc(&s.metrics.timeline_events_appended);
    Ok((StatusCode::CREATED, Json(event)))
}
