//! The live event WebSocket (`/api/v1/events?customer_id=…&conversation_id=…`):
//! streams committed timeline events as JSON, filtered per subscriber. A subscriber
//! that falls behind gets `{"type":"lagged","missed":N}` and re-reads from the store.
//! A filtered socket (an agent's chat pane, a customer's timeline) follows its
//! conversation or customer on the bus rather than hearing every event.

use std::sync::Arc;
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
use crate::timeline::follow::{Follower, Key, Missed};
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

/// Where a socket's events come from: every event, or those of the one
/// conversation or customer its filter names.
enum Source {
    Everything(tokio::sync::broadcast::Receiver<Arc<TimelineEvent>>),
    Followed(Follower),
}

impl Source {
    fn new(s: &AppState, filter: &Filter) -> Source {
        let key = match (filter.conversation_id, filter.customer_id) {
            (Some(c), _) => Key::Conversation(c),
            (None, Some(c)) => Key::Customer(c),
            (None, None) => return Source::Everything(s.timeline.bus.subscribe()),
        };
        let mut follower = s.timeline.bus.follower();
        follower.follow(&[key]);
        Source::Followed(follower)
    }

    async fn recv(&mut self) -> Result<Arc<TimelineEvent>, RecvError> {
        match self {
            Source::Everything(rx) => rx.recv().await,
            Source::Followed(f) => f.recv().await.map_err(|Missed(n)| RecvError::Lagged(n)),
        }
    }
}

async fn stream(s: AppState, filter: Filter, mut socket: WebSocket) {
    let mut rx = Source::new(&s, &filter);
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
