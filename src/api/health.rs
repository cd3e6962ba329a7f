//! Liveness, readiness and Prometheus metrics.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use super::state::AppState;

pub async fn healthz() -> &'static str {
    "ok"
}

pub async fn readyz(State(s): State<AppState>) -> (StatusCode, &'static str) {
    if s.timeline.db.ping().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
    }
}

pub async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let mut text = s.metrics.render();
    text.push_str(&s.sip_stats.render());
    text.push_str(&s.speech.render_metrics());
    text.push_str(&queue_metrics(&s).await);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

/// The routing actor's per-queue figures; empty (and logged) if it has stopped.
async fn queue_metrics(s: &AppState) -> String {
    let mut stats = Vec::new();
    let names = match s.routing.queue_names().await {
        Ok(n) => n,
        Err(e) => {
            tracing::error!(error = %e, "queue metrics left out");
            return String::new();
        }
    };
    for q in names {
        match s.routing.stats(&q).await {
            Ok(Some(st)) => stats.push(st),
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "queue metrics left out");
                return String::new();
            }
        }
    }
    crate::routing::stats::render_prometheus(&stats)
}
