//! The live event WebSocket (`/api/v1/events?customer_id=…&conversation_id=…`):
//! streams committed timeline events as JSON, filtered per subscriber. A subscriber
//! that falls behind gets `{"type":"lagged","missed":N}` and re-reads from the store.

use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::{ApiQuery, Caller};
use super::state::AppState;
use crate::auth::Role;
use crate::metrics::Metrics;
use crate::timeline::model::TimelineEvent;

#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub customer_id: Option<Uuid>,
    pub conversation_id: Option<Uuid>,
}

impl Filter {
    fn wants(&self, e: &TimelineEvent) -> bool {
        self.customer_id.is_none_or(|c| c == e.customer_id)
            && self
                .conversation_id
                .is_none_or(|c| Some(c) == e.conversation_id)
    }
}

pub async fn subscribe(
    State(s): State<AppState>,
    caller: Caller,
    ApiQuery(filter): ApiQuery<Filter>,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    caller.require(Role::Agent)?;
    Ok(ws
        .read_buffer_size(super::WS_READ_BUFFER)
        .on_upgrade(move |socket| stream(s, filter, socket)))
}

async fn stream(s: AppState, filter: Filter, mut socket: WebSocket) {
    let mut rx = s.timeline.bus.subscribe();
    s.metrics.event_subscribers.fetch_add(1, Ordering::Relaxed);
    loop {
        tokio::select! {
            got = rx.recv() => {
                let text = match got {
                    Ok(e) if filter.wants(&e) => match serde_json::to_string(&*e) {
                        Ok(t) => t,
                        Err(_) => continue,
                    },
                    Ok(_) => continue,
                    Err(RecvError::Lagged(n)) => {
                        Metrics::inc(&s.metrics.event_subscriber_lagged);
                        format!(r#"{{"type":"lagged","missed":{n}}}"#)
                    }
                    Err(RecvError::Closed) => break,
                };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    s.metrics.event_subscribers.fetch_sub(1, Ordering::Relaxed);
}
