//! The agent's live socket (`/api/v1/agent/ws`): a snapshot of the agent's state
//! and pending offers, then every routing event that concerns them. Two tabs may
//! be open; when the last socket closes and none returns within a grace period,
//! the router is told the agent is gone so their work is recovered.
//!
//! The same socket carries the browser softphone's signalling: a page turns its
//! softphone on (`softphone`), is offered calls (`call.offer`, SDP) and answers or
//! hangs up (`call.answer`, `call.hangup`), and while bridged sends keys, holds
//! and resumes, or transfers (`call.dtmf`, `call.hold`, `call.transfer`); see
//! `telephony::softphones`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde::Deserialize;
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
use crate::telephony::softphones::FromBrowser;
use crate::telephony::transfer::TransferTo;

/// How long an agent may be without a socket (a reload, a blip) before their
/// offers and items are recovered.
pub const GRACE: Duration = Duration::from_secs(15);

/// Largest message a page may send (an SDP answer is a few kilobytes).
const MAX_MESSAGE: usize = 16 * 1024;
/// Messages a page may get wrong before its socket is closed.
const MAX_BAD: u32 = 20;

/// What a page may send.
#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
enum PageMessage {
    #[serde(rename = "softphone")]
    Softphone { enabled: bool },
    #[serde(rename = "call.answer")]
    CallAnswer { leg: String, sdp: String },
    #[serde(rename = "call.hangup")]
    CallHangup { leg: String },
    #[serde(rename = "call.dtmf")]
    CallDtmf { leg: String, digit: char },
    /// To a queue, an agent (by name) or (`number`) through the trunk.
    #[serde(rename = "call.transfer")]
    CallTransfer {
        leg: String,
        queue: Option<String>,
        agent: Option<String>,
        number: Option<String>,
    },
    #[serde(rename = "call.hold")]
    CallHold { leg: String, on: bool },
}

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
        .max_message_size(MAX_MESSAGE)
        .read_buffer_size(super::WS_READ_BUFFER)
        .on_upgrade(move |socket| session(s, agent.id, socket)))
}

fn concerns(e: &RoutingEvent, me: Uuid) -> bool {
    match e {
        RoutingEvent::Offer { agent, .. }
        | RoutingEvent::Withdrawn { agent, .. }
        | RoutingEvent::Assigned { agent, .. }
        | RoutingEvent::AgentStatus { agent, .. } => *agent == me,
        RoutingEvent::Requeued { .. }
        | RoutingEvent::Overflowed { .. }
        | RoutingEvent::Abandoned { .. } => false,
    }
}

/// The page's softphone, once turned on.
struct Phone {
    page: u64,
    rx: tokio::sync::mpsc::Receiver<String>,
}

async fn next_for_page(phone: &mut Option<Phone>) -> Option<String> {
    match phone {
        Some(p) => p.rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Handles one text message from the page; `Ok` may carry a reply, `Err` is the
/// error to send back.
async fn page_message(
    s: &AppState,
    me: Uuid,
    phone: &mut Option<Phone>,
    text: &str,
) -> Result<Option<serde_json::Value>, String> {
    let msg: PageMessage = serde_json::from_str(text).map_err(|e| format!("bad message: {e}"))?;
    let signal = |leg: &str, m: FromBrowser| {
        s.softphones
            .from_browser(me, leg, m)
            .map(|()| None)
            .map_err(|e| format!("{leg}: {e}"))
    };
    match msg {
        PageMessage::Softphone { enabled: true } => {
            let page = match phone {
                Some(p) => p.page,
                None => {
                    let (page, rx) = s.softphones.attach(me);
                    *phone = Some(Phone { page, rx });
                    page
                }
            };
            Ok(Some(json!({ "type": "softphone.ready", "page": page })))
        }
        PageMessage::Softphone { enabled: false } => {
            if let Some(p) = phone.take() {
                s.softphones.detach(me, p.page);
            }
            Ok(None)
        }
        PageMessage::CallAnswer { leg, sdp } => {
            let page = phone.as_ref().ok_or("softphone is off")?.page;
            signal(&leg, FromBrowser::Answer { page, sdp })
        }
        PageMessage::CallHangup { leg } => signal(&leg, FromBrowser::Hangup),
        PageMessage::CallDtmf { leg, digit } => signal(&leg, FromBrowser::Dtmf(digit)),
        PageMessage::CallHold { leg, on } => signal(&leg, FromBrowser::Hold(on)),
        PageMessage::CallTransfer {
            leg,
            queue,
            agent,
            number,
        } => {
            let to = transfer_target(s, me, queue, agent, number).await?;
            signal(&leg, FromBrowser::Transfer(to))
        }
    }
}

/// Checks where a `call.transfer` goes: exactly one existing queue, another
/// agent by name, or a number that can be dialled.
async fn transfer_target(
    s: &AppState,
    me: Uuid,
    queue: Option<String>,
    agent: Option<String>,
    number: Option<String>,
) -> Result<TransferTo, String> {
    match (queue, agent, number) {
        (Some(queue), None, None) => {
            let queues = s.routing.queue_names().await.map_err(|e| e.to_string())?;
            if !queues.contains(&queue) {
                return Err(format!("no queue named {queue:?}"));
            }
            Ok(TransferTo::Queue(queue))
        }
        (None, Some(name), None) => {
            let name = name.trim().to_string();
            match s
                .routing
                .agent_named(&name)
                .await
                .map_err(|e| e.to_string())?
            {
                None => Err(format!("no agent named {name:?}")),
                Some(id) if id == me => Err("that is you: transfer to another agent".into()),
                Some(id) => Ok(TransferTo::Agent { id, name }),
            }
        }
        (None, None, Some(number)) => {
            let number = number.trim().replace([' ', '-'], "");
            if !crate::dialplan::schema::is_dialable(&number) || number.len() > 32 {
                return Err(format!("{number:?} is not a number to dial"));
            }
            Ok(TransferTo::Number(number))
        }
        _ => Err("call.transfer takes one of a queue, an agent or a number".into()),
    }
}

async fn session(s: AppState, me: Uuid, mut socket: WebSocket) {
    s.agent_sockets.change(me, 1);
    let mut phone: Option<Phone> = None;
    let mut bad = 0u32;
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
                for_page = next_for_page(&mut phone) => match for_page {
                    Some(text) => if socket.send(Message::Text(text.into())).await.is_err() { break },
                    None => phone = None,
                },
                incoming = socket.recv() => match incoming {
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                    Some(Ok(Message::Text(text))) => {
                        let reply = match page_message(&s, me, &mut phone, &text).await {
                            Ok(reply) => reply,
                            Err(error) => {
                                bad += 1;
                                if bad > MAX_BAD { break }
                                Some(json!({ "type": "error", "error": error }))
                            }
                        };
                        if let Some(r) = reply && socket.send(Message::Text(r.to_string().into())).await.is_err() { break }
                    }
                    Some(Ok(_)) => {}
                },
            }
        }
    }
    if let Some(p) = phone.take() {
        s.softphones.detach(me, p.page);
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
