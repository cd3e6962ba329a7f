//! Client transactions (RFC 3261 §17.1, RFC 6026): the INVITE machine (Calling →
//! Proceeding → Completed/Accepted, Timer A retransmits, Timer B gives up, the ACK
//! for a non-2xx built here, Timer D absorbs retransmitted finals) and the
//! non-INVITE machine (Trying → Proceeding → Completed, Timers E, F, K).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::timers::TimerConfig;
use crate::sip::message::{Message, StartLine};
use crate::sip::method::Method;
use crate::sip::uri::Uri;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    Calling,
    Proceeding,
    Completed,
    Accepted,
    Terminated,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientAction {
    Transmit(Bytes),
    /// Hand this response to the transaction user.
    Deliver(Message),
    /// Timer B or F: no final response came.
    Timeout,
    Terminated,
}

#[derive(Debug)]
pub struct ClientTx {
    pub invite: bool,
    pub reliable: bool,
    pub state: ClientState,
    pub dest: SocketAddr,
    request: Message,
    uri: Uri,
    bytes: Bytes,
    config: TimerConfig,
    retransmit_at: Option<Instant>,
    interval: Duration,
    timeout_at: Option<Instant>,
}

impl ClientTx {
    /// Starts the transaction; the caller transmits `bytes` once now.
    /// None when `request` is a response.
    pub fn new(
        now: Instant,
        request: Message,
        dest: SocketAddr,
        reliable: bool,
        config: TimerConfig,
    ) -> Option<ClientTx> {
        let uri = match &request.start {
            StartLine::Request { uri, .. } => uri.clone(),
            StartLine::Response { .. } => return None,
        };
        let invite = request.method() == Some(Method::Invite);
        let bytes = request.to_bytes();
        Some(ClientTx {
            invite,
            reliable,
            state: ClientState::Calling,
            dest,
            request,
            uri,
            bytes,
            config,
            retransmit_at: (!reliable).then(|| now + config.t1),
            interval: config.t1,
            timeout_at: Some(now + config.timeout()),
        })
    }

    pub fn bytes(&self) -> Bytes {
        self.bytes.clone()
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        match (self.retransmit_at, self.timeout_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    pub fn on_response(&mut self, now: Instant, resp: Message) -> Vec<ClientAction> {
        let Some(code) = resp.status() else {
            return vec![];
        };
        match (self.state, code) {
            (ClientState::Calling | ClientState::Proceeding, 100..=199) => {
                self.state = ClientState::Proceeding;
                if self.invite {
                    self.retransmit_at = None;
                } else if !self.reliable {
                    self.interval = self.config.t2;
                }
                vec![ClientAction::Deliver(resp)]
            }
            (ClientState::Calling | ClientState::Proceeding, 200..=299) if self.invite => {
                self.state = ClientState::Accepted;
                self.retransmit_at = None;
                self.timeout_at = Some(now + self.config.timeout());
                vec![ClientAction::Deliver(resp)]
            }
            (ClientState::Accepted, 200..=299) => vec![ClientAction::Deliver(resp)],
            (ClientState::Calling | ClientState::Proceeding, _) => self.complete(now, resp),
            (ClientState::Completed, 300..) if self.invite => {
                vec![ClientAction::Transmit(self.ack_for(&resp).to_bytes())]
            }
            _ => vec![],
        }
    }

    fn complete(&mut self, now: Instant, resp: Message) -> Vec<ClientAction> {
        self.state = ClientState::Completed;
        self.retransmit_at = None;
        let mut out = Vec::new();
        if self.invite {
            out.push(ClientAction::Transmit(self.ack_for(&resp).to_bytes()));
        }
        out.push(ClientAction::Deliver(resp));
        let linger = match (self.invite, self.reliable) {
            (_, true) => Duration::ZERO,
            (true, false) => self.config.timer_d(),
            (false, false) => self.config.t4,
        };
        if linger.is_zero() {
            out.extend(self.terminate());
        } else {
            self.timeout_at = Some(now + linger);
        }
        out
    }

    /// The ACK for a non-2xx final response (RFC 3261 §17.1.1.3).
    pub fn ack_for(&self, resp: &Message) -> Message {
        let mut ack = Message::request(Method::Ack, self.uri.clone());
        if let Some(via) = self.request.headers.get_all("Via").first() {
            ack.headers.push("Via", *via);
        }
        for name in ["Max-Forwards", "From"] {
            if let Some(v) = self.request.headers.get(name) {
                ack.headers.push(name, v);
            }
        }
        if let Some(to) = resp.headers.get("To") {
            ack.headers.push("To", to);
        }
        if let Some(id) = self.request.call_id() {
            ack.headers.push("Call-ID", id);
        }
        let seq = self.request.cseq().map(|c| c.seq).unwrap_or(1);
        ack.headers.push("CSeq", format!("{seq} ACK"));
        for route in self.request.headers.lines("Route") {
            ack.headers.push("Route", route.value.clone());
        }
        ack
    }

    pub fn on_timer(&mut self, now: Instant) -> Vec<ClientAction> {
        if self.timeout_at.is_some_and(|t| t <= now) {
            self.timeout_at = None;
            let mut out = Vec::new();
            if matches!(self.state, ClientState::Calling | ClientState::Proceeding) {
                out.push(ClientAction::Timeout);
            }
            out.extend(self.terminate());
            return out;
        }
        if self.retransmit_at.is_some_and(|t| t <= now) {
            self.interval = self.config.backoff(self.interval, !self.invite);
            self.retransmit_at = Some(now + self.interval);
            return vec![ClientAction::Transmit(self.bytes.clone())];
        }
        vec![]
    }

    fn terminate(&mut self) -> Vec<ClientAction> {
        self.state = ClientState::Terminated;
        self.retransmit_at = None;
        self.timeout_at = None;
        vec![ClientAction::Terminated]
    }
}
