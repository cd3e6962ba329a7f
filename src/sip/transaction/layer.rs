//! The transaction layer: owns every live transaction, routes incoming messages
//! to them (or up to the transaction user as new requests), runs their timers from
//! one ordered deadline set, and queues packets and events for `poll_output`.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;

use super::client::{ClientAction, ClientTx};
use super::key::TxKey;
use super::server::{ServerAction, ServerState, ServerTx};
use super::timers::TimerConfig;
use crate::sip::message::{Message, reason_phrase};
use crate::sip::method::Method;

/// Something for the shell to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Transmit { to: SocketAddr, data: Bytes },
    Event(TxEvent),
}

/// What the transaction user (the call layer) hears.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxEvent {
    /// A new request opened a server transaction; answer it with `send_response`.
    Request {
        key: TxKey,
        msg: Message,
        source: SocketAddr,
    },
    /// An ACK for a 2xx (it is outside any transaction; the dialog takes it).
    AckFor2xx { msg: Message, source: SocketAddr },
    /// A CANCEL matched this INVITE transaction; the layer already answered the
    /// CANCEL with 200. Send 487 to the INVITE unless it is already answered.
    Cancelled { invite: TxKey },
    /// A response for a client transaction.
    Response { key: TxKey, msg: Message },
    /// A client transaction got no final response, or a server INVITE
    /// transaction's final response was never acknowledged.
    Timeout { key: TxKey },
    /// A stray response or out-of-dialog message not matching anything.
    Stray { msg: Message, source: SocketAddr },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LayerError {
    #[error("too many pending transactions")]
    Overloaded,
    #[error("no such transaction")]
    UnknownTransaction,
    #[error("message lacks the headers to identify its transaction")]
    Unidentifiable,
}

enum Tx {
    Server(ServerTx),
    Client(ClientTx),
}

impl Tx {
    fn deadline(&self) -> Option<Instant> {
        match self {
            Tx::Server(s) => s.next_deadline(),
            Tx::Client(c) => c.next_deadline(),
        }
    }
}

pub struct TransactionLayer {
    config: TimerConfig,
    max: usize,
    txs: HashMap<TxKey, Tx>,
    /// (Call-ID, CSeq) → INVITE server transaction, to take the ACK of a 2xx.
    accepted: HashMap<(String, u32), TxKey>,
    deadlines: BTreeSet<(Instant, TxKey)>,
    registered: HashMap<TxKey, Instant>,
    out: VecDeque<Output>,
}

impl TransactionLayer {
    pub fn new(config: TimerConfig, max_transactions: usize) -> TransactionLayer {
        TransactionLayer {
            config,
            max: max_transactions,
            txs: HashMap::new(),
            accepted: HashMap::new(),
            deadlines: BTreeSet::new(),
            registered: HashMap::new(),
            out: VecDeque::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.txs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.txs.is_empty()
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.first().map(|(t, _)| *t)
    }

    /// Takes a parsed message from the network. A new request over the limit is
    /// refused with `Overloaded` (the caller answers 503 statelessly).
    pub fn handle_incoming(
        &mut self,
        now: Instant,
        msg: Message,
        source: SocketAddr,
        reliable: bool,
    ) -> Result<(), LayerError> {
        if msg.is_request() {
            self.incoming_request(now, msg, source, reliable)
        } else {
            self.incoming_response(now, msg, source);
            Ok(())
        }
    }

    fn incoming_request(
        &mut self,
        now: Instant,
        msg: Message,
        source: SocketAddr,
        reliable: bool,
    ) -> Result<(), LayerError> {
        let key = TxKey::server(&msg).ok_or(LayerError::Unidentifiable)?;
        let method = msg.method().ok_or(LayerError::Unidentifiable)?;
        if method == Method::Ack {
            self.incoming_ack(now, key, msg, source);
            return Ok(());
        }
        if let Some(Tx::Server(tx)) = self.txs.get_mut(&key) {
            if let Some(ServerAction::Transmit(data)) = tx.on_request_again() {
                self.out.push_back(Output::Transmit {
                    to: tx.target,
                    data,
                });
            }
            return Ok(());
        }
        if self.txs.len() >= self.max {
            return Err(LayerError::Overloaded);
        }
        // On a stream the response goes back over the connection (§18.2.2).
        let target = if reliable {
            source
        } else {
            msg.top_via()
                .map(|v| v.response_target(source))
                .unwrap_or(source)
        };
        let dialog_match = (
            msg.call_id().unwrap_or_default().to_string(),
            msg.cseq().map(|c| c.seq).unwrap_or(0),
        );
        let tx = ServerTx::new(
            method == Method::Invite,
            reliable,
            target,
            self.config,
            dialog_match,
        );
        self.txs.insert(key.clone(), Tx::Server(tx));
        if method == Method::Cancel {
            self.incoming_cancel(now, key, msg, source);
            return Ok(());
        }
        self.out
            .push_back(Output::Event(TxEvent::Request { key, msg, source }));
        Ok(())
    }

    fn incoming_ack(&mut self, now: Instant, key: TxKey, msg: Message, source: SocketAddr) {
        let by_dialog = (
            msg.call_id().unwrap_or_default().to_string(),
            msg.cseq().map(|c| c.seq).unwrap_or(0),
        );
        let target = match self.txs.get(&key) {
            Some(Tx::Server(tx))
                if tx.state == ServerState::Completed || tx.state == ServerState::Confirmed =>
            {
                Some(key)
            }
            _ => self.accepted.get(&by_dialog).cloned(),
        };
        let is_2xx_ack = target.as_ref().is_none_or(
            |k| matches!(self.txs.get(k), Some(Tx::Server(t)) if t.state == ServerState::Accepted),
        );
        if let Some(k) = target
            && let Some(Tx::Server(tx)) = self.txs.get_mut(&k)
        {
            let actions = tx.on_ack(now);
            self.apply_server(&k, actions);
            self.reschedule(&k);
        }
        if is_2xx_ack {
            self.out
                .push_back(Output::Event(TxEvent::AckFor2xx { msg, source }));
        }
    }

    fn incoming_cancel(&mut self, now: Instant, key: TxKey, msg: Message, source: SocketAddr) {
        let invite = TxKey::cancelled_invite(&msg);
        let pending = invite.as_ref().and_then(|k| match self.txs.get(k) {
            Some(Tx::Server(t)) if t.state == ServerState::Proceeding => Some(k.clone()),
            _ => None,
        });
        let code = if pending.is_some() { 200 } else { 481 };
        let resp = msg.response(code, reason_phrase(code), None);
        // The CANCEL's own transaction answers at once.
        let _ = self.send_response(now, &key, &resp);
        match pending {
            Some(k) => self
                .out
                .push_back(Output::Event(TxEvent::Cancelled { invite: k })),
            None => tracing::debug!(%source, "CANCEL for no pending INVITE"),
        }
    }

    fn incoming_response(&mut self, now: Instant, msg: Message, source: SocketAddr) {
        let Some(key) = TxKey::client(&msg) else {
            return;
        };
        let Some(Tx::Client(tx)) = self.txs.get_mut(&key) else {
            self.out
                .push_back(Output::Event(TxEvent::Stray { msg, source }));
            return;
        };
        let (dest, actions) = (tx.dest, tx.on_response(now, msg));
        self.apply_client(&key, dest, actions);
        self.reschedule(&key);
    }

    /// Sends a response on a server transaction.
    pub fn send_response(
        &mut self,
        now: Instant,
        key: &TxKey,
        resp: &Message,
    ) -> Result<(), LayerError> {
        let Some(Tx::Server(tx)) = self.txs.get_mut(key) else {
            return Err(LayerError::UnknownTransaction);
        };
        let code = resp.status().unwrap_or(500);
        let actions = tx.send(now, code, resp.to_bytes());
        if tx.invite && (200..300).contains(&code) {
            self.accepted.insert(tx.dialog_match.clone(), key.clone());
        }
        self.apply_server(key, actions);
        self.reschedule(key);
        Ok(())
    }

    /// Sends a request on a new client transaction (ACK for a 2xx goes out with
    /// `send_stateless` instead). The request's top Via must carry a fresh branch.
    pub fn send_request(
        &mut self,
        now: Instant,
        req: Message,
        dest: SocketAddr,
        reliable: bool,
    ) -> Result<TxKey, LayerError> {
        let key = TxKey::for_sent_request(&req).ok_or(LayerError::Unidentifiable)?;
        if self.txs.len() >= self.max {
            return Err(LayerError::Overloaded);
        }
        let tx = ClientTx::new(now, req, dest, reliable, self.config)
            .ok_or(LayerError::Unidentifiable)?;
        self.out.push_back(Output::Transmit {
            to: dest,
            data: tx.bytes(),
        });
        self.txs.insert(key.clone(), Tx::Client(tx));
        self.reschedule(&key);
        Ok(key)
    }

    /// Sends a message outside any transaction (an ACK for a 2xx, a stateless 503).
    pub fn send_stateless(&mut self, msg: &Message, to: SocketAddr) {
        self.out.push_back(Output::Transmit {
            to,
            data: msg.to_bytes(),
        });
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some((at, key)) = self.deadlines.first().cloned() {
            if at > now {
                break;
            }
            self.deadlines.remove(&(at, key.clone()));
            self.registered.remove(&key);
            match self.txs.get_mut(&key) {
                Some(Tx::Server(tx)) => {
                    let actions = tx.on_timer(now);
                    self.apply_server(&key, actions);
                }
                Some(Tx::Client(tx)) => {
                    let (dest, actions) = (tx.dest, tx.on_timer(now));
                    self.apply_client(&key, dest, actions);
                }
                None => {}
            }
            self.reschedule(&key);
        }
    }

    fn apply_server(&mut self, key: &TxKey, actions: Vec<ServerAction>) {
        let target = match self.txs.get(key) {
            Some(Tx::Server(tx)) => tx.target,
            _ => return,
        };
        for a in actions {
            match a {
                ServerAction::Transmit(data) => {
                    self.out.push_back(Output::Transmit { to: target, data })
                }
                ServerAction::Timeout => self
                    .out
                    .push_back(Output::Event(TxEvent::Timeout { key: key.clone() })),
                ServerAction::Terminated => self.remove(key),
            }
        }
    }

    fn apply_client(&mut self, key: &TxKey, dest: SocketAddr, actions: Vec<ClientAction>) {
        for a in actions {
            match a {
                ClientAction::Transmit(data) => {
                    self.out.push_back(Output::Transmit { to: dest, data })
                }
                ClientAction::Deliver(msg) => {
                    self.out.push_back(Output::Event(TxEvent::Response {
                        key: key.clone(),
                        msg,
                    }))
                }
                ClientAction::Timeout => self
                    .out
                    .push_back(Output::Event(TxEvent::Timeout { key: key.clone() })),
                ClientAction::Terminated => self.remove(key),
            }
        }
    }

    fn remove(&mut self, key: &TxKey) {
        if let Some(Tx::Server(tx)) = self.txs.remove(key)
            && self.accepted.get(&tx.dialog_match) == Some(key)
        {
            self.accepted.remove(&tx.dialog_match);
        }
        if let Some(at) = self.registered.remove(key) {
            self.deadlines.remove(&(at, key.clone()));
        }
    }

    fn reschedule(&mut self, key: &TxKey) {
        if let Some(at) = self.registered.remove(key) {
            self.deadlines.remove(&(at, key.clone()));
        }
        if let Some(at) = self.txs.get(key).and_then(Tx::deadline) {
            self.deadlines.insert((at, key.clone()));
            self.registered.insert(key.clone(), at);
        }
    }
}

#[cfg(test)]
#[path = "layer_tests.rs"]
mod tests;
