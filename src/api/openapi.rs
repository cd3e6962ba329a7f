//! The OpenAPI document, generated from the handlers' annotations.

use axum::Json;
use utoipa::OpenApi;

use super::{
    audio, conversations, customers, dialplan_edit, dialplans, routing, routing_rules, session,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "Switchboard API", description = "Contact-center server: customers, timeline, conversations."),
    paths(
        customers::create, customers::search, customers::get, customers::update, customers::add_identity,
        customers::merge, customers::timeline, customers::append, audio::audio,
        conversations::open, conversations::list, conversations::get, conversations::set_status, conversations::reply, conversations::messages,
        session::login, session::logout, session::me, session::add_user, session::users,
        routing::upsert_queue, routing::queues, routing::queue_stats, routing::create_agent, routing::agents,
        routing::me, routing::directory, routing::agent, routing::set_state, routing::offers, routing::accept, routing::reject,
        routing::wrap_up, routing::resolve, routing_rules::get, routing_rules::put, dialplans::status, dialplans::registrations,
        dialplan_edit::source, dialplan_edit::check, dialplan_edit::save, dialplan_edit::versions,
        dialplan_edit::version, dialplan_edit::rollback,
    ),
    tags((name = "customers"), (name = "timeline"), (name = "conversations"), (name = "auth"), (name = "routing"), (name = "dialplans"))
)]
pub struct ApiDoc;

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
