//! The supervisor's monitoring socket (`/api/v1/supervisor/ws`, supervisors and
//! admins only, so agents cannot monitor each other): `monitor.start {agent,
//! mode}` joins that agent's current browser call in `listen`, `whisper` or
//! `barge` mode (a second start with another mode changes it; one for another
//! agent moves there); the server answers `monitor.offer` with its SDP, the page
//! replies `monitor.answer {sdp}`; `monitor.stop` leaves. `monitor.mode` and
//! `monitor.ended {reason}` tell the page what happened. See
//! `telephony::monitor_bridge`.

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::extract::Caller;
use super::state::AppState;
use crate::auth::Role;
use crate::telephony::monitor::MonitorMode;
use crate::telephony::softphones::FromBrowser;

/// SDP answers are a few kilobytes; anything larger is not ours.
const MAX_MESSAGE: usize = 16 * 1024;
/// Bad messages tolerated before the socket is closed.
const MAX_BAD: u32 = 20;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
enum PageMessage {
    #[serde(rename = "monitor.start")]
    Start { agent: String, mode: MonitorMode },
    #[serde(rename = "monitor.answer")]
    Answer { sdp: String },
    #[serde(rename = "monitor.stop")]
    Stop {},
}

pub async fn upgrade(
    State(s): State<AppState>,
    caller: Caller,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    let name = caller.require(Role::Supervisor)?.name.clone();
    Ok(ws
        .max_message_size(MAX_MESSAGE)
        .read_buffer_size(super::WS_READ_BUFFER)
        .on_upgrade(move |socket| session(s, name, socket)))
}

async fn session(s: AppState, name: String, mut socket: WebSocket) {
    let (id, mut outgoing) = s.softphones.attach_supervisor();
    let mut bad = 0u32;
    loop {
        tokio::select! {
            msg = outgoing.recv() => match msg {
                Some(text) => if socket.send(Message::Text(text.into())).await.is_err() { break },
                None => break,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(Message::Text(text))) => {
                    if let Err(error) = handle(&s, id, &name, &text).await {
                        bad += 1;
                        if bad > MAX_BAD { break }
                        let reply = json!({ "type": "error", "error": error });
                        if socket.send(Message::Text(reply.to_string().into())).await.is_err() { break }
                    }
                }
                Some(Ok(_)) => {}
            },
        }
    }
    s.softphones.detach_supervisor(id);
}

async fn handle(s: &AppState, id: u64, name: &str, text: &str) -> Result<(), String> {
    let msg: PageMessage = serde_json::from_str(text).map_err(|e| format!("bad message: {e}"))?;
    let (agent, signal) = match msg {
        PageMessage::Start { agent, mode } => {
            let found = s
                .routing
                .agent_named(agent.trim())
                .await
                .map_err(|e| e.to_string())?;
            let agent = found.ok_or_else(|| format!("no agent named {agent:?}"))?;
            let signal = FromBrowser::Monitor {
                monitor: id,
                supervisor: name.to_string(),
                mode,
            };
            (Some(agent), signal)
        }
        PageMessage::Answer { sdp } => (None, FromBrowser::MonitorAnswer { monitor: id, sdp }),
        PageMessage::Stop {} => (None, FromBrowser::MonitorStop { monitor: id }),
    };
    s.softphones
        .monitor(id, agent, signal)
        .map_err(|e| match e {
            crate::telephony::softphones::SignalError::UnknownCall => {
                "that agent is not on a call in the workspace softphone".to_string()
            }
            other => other.to_string(),
        })
}
