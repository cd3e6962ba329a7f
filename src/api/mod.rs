//! The HTTP API (axum): JSON under `/api/v1`, role-checked on every route, plus
//! health, metrics, the OpenAPI document, the live event WebSocket, and SIP over
//! WebSocket on `/sip` (handled by `telephony::websocket`).

pub mod agent_ws;
pub mod audio;
pub mod conversations;
pub mod customers;
pub mod dialplan_edit;
pub mod dialplans;
pub mod error;
pub mod events;
pub mod extract;
pub mod health;
pub mod openapi;
pub mod routing;
pub mod routing_rules;
pub mod session;
pub mod state;
pub mod supervisor_ws;
pub mod web;

use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post, put};

use crate::metrics::Metrics;
pub use error::ApiError;
pub use state::AppState;

/// Read buffer of the server's WebSockets (tungstenite's default is 128 KiB).
/// tungstenite zero-fills the whole buffer before every read attempt, even one
/// that finds nothing, and a socket that also waits on the event bus is polled
/// for reading at every event: with 1,000 chat widgets that memset was half the
/// server's CPU. Longer frames still arrive whole: the buffer grows to fit them.
pub const WS_READ_BUFFER: usize = 4 * 1024;

/// Every route of the server.
pub fn router(state: AppState) -> Router {
    let limit = state.config.http.max_body_bytes;
    let api = Router::new()
        .route("/customers", post(customers::create).get(customers::search))
        .route(
            "/customers/{id}",
            get(customers::get).patch(customers::update),
        )
        .route("/customers/{id}/identities", post(customers::add_identity))
        .route("/customers/{id}/merge", post(customers::merge))
        .route(
            "/customers/{id}/timeline",
            get(customers::timeline).post(customers::append),
        )
        .route(
            "/conversations",
            post(conversations::open).get(conversations::list),
        )
        .route("/conversations/{id}", get(conversations::get))
        .route("/conversations/{id}/status", put(conversations::set_status))
        .route(
            "/conversations/{id}/messages",
            post(conversations::reply).get(conversations::messages),
        )
        .route("/auth/login", post(session::login))
        .route("/auth/logout", post(session::logout))
        .route("/auth/me", get(session::me))
        .route("/users", post(session::add_user).get(session::users))
        .route("/events", get(events::subscribe))
        .route("/events/{id}/audio", get(audio::audio))
        .route("/queues", post(routing::upsert_queue).get(routing::queues))
        .route("/queues/{name}/stats", get(routing::queue_stats))
        .route(
            "/routing/rules",
            get(routing_rules::get).put(routing_rules::put),
        )
        .route("/agents", post(routing::create_agent).get(routing::agents))
        .route("/agents/me", get(routing::me))
        .route("/agents/directory", get(routing::directory))
        .route("/agents/{id}", get(routing::agent))
        .route("/agents/{id}/state", put(routing::set_state))
        .route("/agents/{id}/offers", get(routing::offers))
        .route("/offers/{id}/accept", post(routing::accept))
        .route("/offers/{id}/reject", post(routing::reject))
        .route("/conversations/{id}/wrap-up", post(routing::wrap_up))
        .route("/conversations/{id}/resolve", post(routing::resolve))
        .route("/agent/ws", get(agent_ws::upgrade))
        .route("/supervisor/ws", get(supervisor_ws::upgrade))
        .route("/dialplans", get(dialplans::status))
        .route("/dialplans/{name}", put(dialplan_edit::save))
        .route("/dialplans/{name}/source", get(dialplan_edit::source))
        .route("/dialplans/{name}/check", post(dialplan_edit::check))
        .route("/dialplans/{name}/versions", get(dialplan_edit::versions))
        .route(
            "/dialplans/{name}/versions/{id}",
            get(dialplan_edit::version),
        )
        .route("/dialplans/{name}/rollback", post(dialplan_edit::rollback))
        .route("/registrations", get(dialplans::registrations))
        .fallback(not_found);
    let mut app = Router::new();
    if state.config.sip.websocket {
        app = app.route("/sip", get(crate::telephony::websocket::upgrade));
    }
    app.nest("/api/v1", api)
        .route("/api/openapi.json", get(openapi::document))
        .route("/", get(web::index))
        .route("/call", get(web::call_page))
        .route("/ui/{name}", get(web::asset))
        .route("/widget.js", get(web::widget))
        .route(
            "/channels/webhook",
            post(crate::channels::webhook::inbound::receive),
        )
        .route(
            "/channels/wechat",
            get(crate::channels::wechat::inbound::verify)
                .post(crate::channels::wechat::inbound::receive),
        )
        .route("/chat/ws", get(crate::channels::webchat::upgrade))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .layer(DefaultBodyLimit::max(limit))
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".into())
}

async fn count(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    Metrics::inc(&s.metrics.http_requests);
    let status = res.status();
    if status.is_client_error() {
        s.metrics.http_errors_4xx.fetch_add(1, Ordering::Relaxed);
    } else if status.is_server_error() {
        s.metrics.http_errors_5xx.fetch_add(1, Ordering::Relaxed);
    }
    res
}
