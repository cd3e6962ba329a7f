//! The OpenAPI document, generated from the handlers' annotations.

use axum::Json;
use utoipa::OpenApi;

use super::{conversations, customers, session};

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard API", description = "Contact-center server: customers, timeline, conversations."),
    paths(
        customers::create, customers::search, customers::get, customers::update, customers::add_identity,
        customers::merge, customers::timeline, customers::append,
        conversations::open, conversations::list, conversations::get, conversations::set_status, conversations::reply,
        session::login, session::logout, session::me, session::add_user, session::users,
    ),
    tags((name = "customers"), (name = "timeline"), (name = "conversations"), (name = "auth"))
)]
pub struct ApiDoc;

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
