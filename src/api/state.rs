//! What every handler can reach: the stores, the metrics and the configuration.

use std::sync::Arc;

use super::agent_ws::AgentSockets;
use crate::auth::AuthStore;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::routing::actor::RoutingService;
use crate::timeline::TimelineStore;

#[derive(Clone)]
pub struct AppState {
    pub timeline: TimelineStore,
    pub auth: AuthStore,
    pub metrics: Arc<Metrics>,
    pub config: Arc<Config>,
    pub routing: RoutingService,
    /// Routing rules: the queue of a new text conversation.
    pub rules: crate::routing::rules_store::RoutingRules,
    pub dialplans: Arc<crate::dialplan::registry::Registry>,
    pub sip_stats: Arc<crate::telephony::sip_server::SipStats>,
    pub bindings: crate::telephony::registrar::Bindings,
    pub agent_sockets: AgentSockets,
    /// Workspace pages that take calls (WebRTC signalling).
    pub softphones: crate::telephony::softphones::Softphones,
    /// Transcription (for its metrics).
    pub speech: crate::speech::SpeechService,
    /// SIP over WebSocket: the route `/sip` hands connections to the SIP shell.
    pub sip_websocket: crate::telephony::websocket::SipWebSocket,
    /// Web chat: one visitor's chat is opened by one message at a time.
    pub chat_opening: crate::channels::webchat_open::OpenLocks,
}

impl axum::extract::FromRef<AppState> for crate::telephony::websocket::SipWebSocket {
    fn from_ref(s: &AppState) -> Self {
        s.sip_websocket.clone()
    }
}
