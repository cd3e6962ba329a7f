//! The agent's live socket (`/api/v1/agent/ws`): a snapshot of the agent's state
//! and pending offers, then every routing event that concerns them. Two tabs may
//! be open; when the last socket closes and none returns within a grace period,
//! the router is told the agent is gone so their work is recovered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use uuid::Uuid;

use super::error::ApiError;
use super::extract::Caller;
use super::routing::own_agent;
use super::state::AppState;
use crate::auth::Role;
use crate::routing::actor::RoutingEvent;
use crate::routing::engine::Input;

/// How long an agent may be without a socket (a reload, a blip) before their
/// offers and items are recovered.
pub const GRACE: Duration = Duration::from_secs(15);

/// Open sockets per agent. A std mutex: held only to bump a counter, never across an await.
#[derive(Clone, Default)]
pub struct AgentSockets(Arc<Mutex<HashMap<Uuid, usize>>>);

impl AgentSockets {
    fn change(&self, agent: Uuid, delta: isize) -> usize {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(agent).or_insert(0);
        *n = n.saturating_add_signed(delta);
        let now = *n;
        if now == 0 {
            map.remove(&agent);
        }
        now
    }

    fn count(&self, agent: Uuid) -> usize {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&agent)
            .copied()
            .unwrap_or(0)
    }
}

pub async fn upgrade(
    State(s): State<AppState>,
    caller: Caller,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let agent = own_agent(&s, caller.require(Role::Agent)?).await?;
    Ok(ws
        .max_message_size(4096)
        .on_upgrade(move |socket| session(s, agent.id, socket)))
}

fn concerns(e: &RoutingEvent, me: Uuid) -> bool {
    match e {
        RoutingEvent::Offer { agent, .. }
        | RoutingEvent::Withdrawn { agent, .. }
        | RoutingEvent::Assigned { agent, .. }
        | RoutingEvent::AgentStatus { agent, .. } => *agent == me,
        RoutingEvent::Requeued { .. } | RoutingEvent::Abandoned { .. } => false,
    }
}

async fn session(s: AppState, me: Uuid, mut socket: WebSocket) {
    s.agent_sockets.change(me, 1);
    let mut events = s.routing.events.subscribe();
    let status = s.routing.status(me).await.ok().flatten();
    let offers = s.routing.offers(me).await.unwrap_or_default();
    let hello = json!({ "type": "hello", "agent": me, "status": status, "offers": offers });
    if socket
        .send(Message::Text(hello.to_string().into()))
        .await
        .is_ok()
    {
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Ok(e) if concerns(&e, me) => {
                        let text = serde_json::to_string(&*e).unwrap_or_default();
                        if socket.send(Message::Text(text.into())).await.is_err() { break; }
                    }
                    Ok(_) => {}
                    Err(RecvError::Lagged(_)) => {
                        let offers = s.routing.offers(me).await.unwrap_or_default();
                        let resync = json!({ "type": "resync", "offers": offers });
                        if socket.send(Message::Text(resync.to_string().into())).await.is_err() { break; }
                    }
                    Err(RecvError::Closed) => break,
                },
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(_)) => {}
                },
            }
        }
    }
    if s.agent_sockets.change(me, -1) == 0 {
        let (s2, sockets) = (s.clone(), s.agent_sockets.clone());
        tokio::spawn(async move {
            tokio::time::sleep(GRACE).await;
            if sockets.count(me) == 0
                && let Err(e) = s2
                    .routing
                    .apply(Input::AgentDisconnected { agent: me })
                    .await
            {
                tracing::warn!(agent = %me, error = %e, "agent disconnect not applied");
            }
        });
    }
}
