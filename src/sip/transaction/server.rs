//! Server transactions (RFC 3261 §17.2, RFC 6026): the INVITE machine
//! (Proceeding → Completed → Confirmed, or Accepted after a 2xx) and the
//! non-INVITE machine (Trying → Proceeding → Completed). Retransmitted requests
//! get the last response again; timers G/H/I/J/L run only as the state needs.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::timers::TimerConfig;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    Trying,
    Proceeding,
    Completed,
    Confirmed,
    Accepted,
    Terminated,
}

/// What a server transaction asks the layer to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerAction {
    Transmit(Bytes),
    /// No ACK came for a final response (Timer H or L): the dialog should end.
    Timeout,
    Terminated,
}

#[derive(Debug)]
pub struct ServerTx {
    pub invite: bool,
    pub reliable: bool,
    pub state: ServerState,
    pub target: SocketAddr,
    pub config: TimerConfig,
    last_response: Option<Bytes>,
    retransmit_at: Option<Instant>,
    interval: Duration,
    timeout_at: Option<Instant>,
    /// Call-ID and CSeq number, to match the ACK of a 2xx (it has its own branch).
    pub dialog_match: (String, u32),
}

impl ServerTx {
    pub fn new(
        invite: bool,
        reliable: bool,
        target: SocketAddr,
        config: TimerConfig,
        dialog_match: (String, u32),
    ) -> ServerTx {
        ServerTx {
            invite,
            reliable,
            state: if invite {
                ServerState::Proceeding
            } else {
                ServerState::Trying
            },
            target,
            config,
            last_response: None,
            retransmit_at: None,
            interval: config.t1,
            timeout_at: None,
            dialog_match,
        }
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        match (self.retransmit_at, self.timeout_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A retransmission of the request arrived: answer with the last response.
    pub fn on_request_again(&mut self) -> Option<ServerAction> {
        match self.state {
            ServerState::Proceeding | ServerState::Completed | ServerState::Accepted => {
                self.last_response.clone().map(ServerAction::Transmit)
            }
            _ => None,
        }
    }

    /// An ACK arrived for this transaction (non-2xx by branch, or 2xx by dialog).
    pub fn on_ack(&mut self, now: Instant) -> Vec<ServerAction> {
        match self.state {
            ServerState::Completed => {
                self.state = ServerState::Confirmed;
                self.retransmit_at = None;
                if self.reliable {
                    return self.terminate();
                }
                self.timeout_at = Some(now + self.config.t4);
                vec![]
            }
            ServerState::Accepted => {
                // The 2xx is acknowledged: stop retransmitting it, keep absorbing.
                self.retransmit_at = None;
                vec![]
            }
            _ => vec![],
        }
    }

    /// The transaction user sends a response with status `code`.
    pub fn send(&mut self, now: Instant, code: u16, bytes: Bytes) -> Vec<ServerAction> {
        if matches!(
            self.state,
            ServerState::Completed | ServerState::Confirmed | ServerState::Terminated
        ) {
            return vec![];
        }
        if self.state == ServerState::Accepted && !(200..300).contains(&code) {
            return vec![];
        }
        self.last_response = Some(bytes.clone());
        let mut out = vec![ServerAction::Transmit(bytes)];
        match (self.invite, code) {
            (_, 100..=199) => {
                if self.state == ServerState::Trying {
                    self.state = ServerState::Proceeding;
                }
            }
            (true, 200..=299) => {
                self.state = ServerState::Accepted;
                self.timeout_at = Some(now + self.config.timeout());
                if !self.reliable {
                    self.interval = self.config.t1;
                    self.retransmit_at = Some(now + self.interval);
                }
            }
            (true, _) => {
                self.state = ServerState::Completed;
                self.timeout_at = Some(now + self.config.timeout());
                if !self.reliable {
                    self.interval = self.config.t1;
                    self.retransmit_at = Some(now + self.interval);
                }
            }
            (false, _) => {
                self.state = ServerState::Completed;
                if self.reliable {
                    out.extend(self.terminate());
                } else {
                    self.timeout_at = Some(now + self.config.timeout());
                }
            }
        }
        out
    }

    pub fn on_timer(&mut self, now: Instant) -> Vec<ServerAction> {
        let mut out = Vec::new();
        if self.timeout_at.is_some_and(|t| t <= now) {
            self.timeout_at = None;
            let no_ack = self.invite && self.state == ServerState::Completed
                || self.state == ServerState::Accepted && self.retransmit_at.is_some();
            if no_ack {
                out.push(ServerAction::Timeout);
            }
            out.extend(self.terminate());
            return out;
        }
        if self.retransmit_at.is_some_and(|t| t <= now) {
            if let Some(bytes) = self.last_response.clone() {
                out.push(ServerAction::Transmit(bytes));
            }
            self.interval = self.config.backoff(self.interval, true);
            self.retransmit_at = Some(now + self.interval);
        }
        out
    }

    fn terminate(&mut self) -> Vec<ServerAction> {
        self.state = ServerState::Terminated;
        self.retransmit_at = None;
        self.timeout_at = None;
        vec![ServerAction::Terminated]
    }
}
