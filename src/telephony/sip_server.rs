//! The SIP shell: one task owns the UDP socket and the transaction layer. It parses
//! datagrams (answering malformed requests with 400, 416, 501 or 505 at their
//! source, or dropping them, as RFC 3261 and RFC 4475 say), drops scanners,
//! refuses unsupported Require with 420, sheds load with 503, feeds the layer, runs its timers,
//! routes events to call actors by Call-ID, and transmits what the layer and the
//! calls produce. Protocol decisions live in the sans-IO layer and the calls.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::call::{self, ALLOW, CallCommand, CallContext, CallInput};
use super::guard;
use super::tcp::StreamKind;
use super::timeline_writer::TimelineWriter;
use crate::config::Config;
use crate::sip::message::reason_phrase;
use crate::sip::parse::{self, MAX_MESSAGE};
use crate::sip::transaction::{LayerError, Output, TimerConfig, TransactionLayer, TxEvent, TxKey};
use crate::sip::{Message, Method};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelephonyError {
    #[error("cannot bind SIP on {addr}: {reason}")]
    Bind { addr: SocketAddr, reason: String },
}

/// What calls use besides SIP: the timeline writer, dialplans, prompts, routing,
/// agents' browser softphones.
pub struct CallServices {
    pub timeline: TimelineWriter,
    pub softphones: super::softphones::Softphones,
    /// Transcribes finished recordings.
    pub speech: crate::speech::SpeechService,
    pub dialplans: Arc<crate::dialplan::registry::Registry>,
    pub prompts: Arc<crate::media::prompts::PromptCache>,
    pub routing: crate::routing::actor::RoutingService,
    pub db: crate::db::Db,
    pub callbacks: super::callbacks::CallbackRequests,
}

/// Counters of the SIP shell, for `/metrics`.
#[derive(Debug)]
pub struct SipStats {
    pub received: AtomicU64,
    pub malformed: AtomicU64,
    pub scanners_dropped: AtomicU64,
    pub overloaded: AtomicU64,
    pub calls_active: AtomicU64,
    /// The trunk's answers to OPTIONS: 1 up, 0 down, -1 unknown or no trunk.
    pub trunk_up: std::sync::atomic::AtomicI64,
    /// Per SIP leg at call end: packet loss (%) and mean jitter (ms).
    pub call_loss_percent: crate::metrics::Histogram,
    pub call_jitter_ms: crate::metrics::Histogram,
}

impl Default for SipStats {
    fn default() -> Self {
        SipStats {
            received: AtomicU64::new(0),
            malformed: AtomicU64::new(0),
            scanners_dropped: AtomicU64::new(0),
            overloaded: AtomicU64::new(0),
            calls_active: AtomicU64::new(0),
            trunk_up: std::sync::atomic::AtomicI64::new(super::trunk_monitor::UNKNOWN),
            call_loss_percent: crate::metrics::Histogram::new(&[0.0, 0.5, 1.0, 2.0, 5.0, 10.0]),
            call_jitter_ms: crate::metrics::Histogram::new(&[1.0, 5.0, 10.0, 20.0, 50.0, 100.0]),
        }
    }
}

impl SipStats {
    /// Prometheus text for the SIP counters.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let rows = [
            (
                "switchboard_sip_datagrams_total",
                "counter",
                "SIP datagrams received",
                self.received.load(Ordering::Relaxed),
            ),
            (
                "switchboard_sip_malformed_total",
                "counter",
                "SIP messages that failed to parse",
                self.malformed.load(Ordering::Relaxed),
            ),
            (
                "switchboard_sip_scanners_dropped_total",
                "counter",
                "Requests from scanners dropped",
                self.scanners_dropped.load(Ordering::Relaxed),
            ),
            (
                "switchboard_sip_overloaded_total",
                "counter",
                "Requests refused with 503",
                self.overloaded.load(Ordering::Relaxed),
            ),
            (
                "switchboard_calls_active",
                "gauge",
                "Calls in progress",
                self.calls_active.load(Ordering::Relaxed),
            ),
        ];
        for (name, kind, help, v) in rows {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP switchboard_trunk_up The trunk answers OPTIONS (1), does not (0), unknown (-1)\n# TYPE switchboard_trunk_up gauge\nswitchboard_trunk_up {}",
            self.trunk_up.load(Ordering::Relaxed)
        );
        self.call_loss_percent.render(
            "switchboard_call_loss_percent",
            "Packet loss of SIP call legs at call end, in percent",
            &mut out,
        );
        self.call_jitter_ms.render(
            "switchboard_call_jitter_ms",
            "Mean interarrival jitter of SIP call legs at call end, in ms",
            &mut out,
        );
        out
    }
}

/// Binds UDP and TCP on the same address. With port 0 the UDP socket picks the
/// port and TCP takes the same one; if that TCP port is taken (another
/// program's connection), it tries another port, a few times.
async fn bind_udp_and_tcp(
    addr: SocketAddr,
) -> Result<(UdpSocket, tokio::net::TcpListener, SocketAddr), TelephonyError> {
    let fail = |addr, reason: String| TelephonyError::Bind { addr, reason };
    let mut tries = if addr.port() == 0 { 20 } else { 1 };
    loop {
        tries -= 1;
        let socket = UdpSocket::bind(addr)
            .await
            .map_err(|e| fail(addr, e.to_string()))?;
        let local = socket.local_addr().map_err(|e| fail(addr, e.to_string()))?;
        match tokio::net::TcpListener::bind(local).await {
            Ok(tcp) => return Ok((socket, tcp, local)),
            Err(e) if tries > 0 && e.kind() == std::io::ErrorKind::AddrInUse => {
                tracing::debug!(port = local.port(), "TCP port taken; trying another");
            }
            Err(e) => return Err(fail(local, format!("TCP: {e}"))),
        }
    }
}

/// Pending inputs per call before the shell answers its requests with 503.
const CALL_QUEUE: usize = 32;
/// Commands from all calls to the shell.
const COMMAND_QUEUE: usize = 4096;

pub struct SipServer {
    pub local: SocketAddr,
    /// Registered contacts of agents' phones.
    pub bindings: super::registrar::Bindings,
    pub stats: Arc<SipStats>,
    pub task: JoinHandle<()>,
    /// What the HTTP server's `/sip` WebSocket route needs to join the shell.
    pub websocket: super::websocket::SipWebSocket,
    /// The calls' context and the shell's command channel, for calls we place.
    pub dialer: (Arc<CallContext>, mpsc::Sender<CallCommand>),
}

impl SipServer {
    /// Binds the SIP socket and starts the shell task; it stops when `shutdown` fires.
    pub async fn start(
        config: Arc<Config>,
        services: CallServices,
        shutdown: CancellationToken,
    ) -> Result<SipServer, TelephonyError> {
        let (socket, tcp_listener, local) = bind_udp_and_tcp(config.sip_addr()).await?;
        let timers = TimerConfig {
            t1: Duration::from_millis(config.sip.t1_ms),
            t2: Duration::from_millis(config.sip.t2_ms),
            t4: Duration::from_millis(config.sip.t4_ms),
        };
        let connections = super::tcp::Connections::default();
        // Whole messages from stream connections (TCP and WebSocket) to the shell.
        let (stream_tx, stream_rx) = mpsc::channel(COMMAND_QUEUE);
        tokio::spawn(super::tcp::serve(
            tcp_listener,
            connections.clone(),
            stream_tx.clone(),
            shutdown.clone(),
        ));
        let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_QUEUE);
        let (registrar, bindings) =
            super::registrar::start(services.db.clone(), &config.sip.realm, cmd_tx.clone())
                .await
                .map_err(|e| TelephonyError::Bind {
                    addr: local,
                    reason: format!("registrar: {e}"),
                })?;
        let stats = Arc::new(SipStats::default());
        let websocket = super::websocket::SipWebSocket {
            connections: connections.clone(),
            inbound: stream_tx,
            bindings: bindings.clone(),
            shutdown: shutdown.clone(),
        };
        let shell = Shell {
            socket,
            layer: TransactionLayer::new(timers, config.sip.max_transactions),
            calls: HashMap::new(),
            owners: HashMap::new(),
            ctx: Arc::new(CallContext {
                config: config.clone(),
                sip_local: local,
                timeline: services.timeline,
                dialplans: services.dialplans,
                prompts: services.prompts,
                routing: services.routing,
                bindings: bindings.clone(),
                softphones: services.softphones,
                speech: services.speech,
                stats: stats.clone(),
                callbacks: services.callbacks,
            }),
            cmd_tx,
            stats: stats.clone(),
            connections,
            registrar,
            aliases: HashMap::new(),
        };
        let dialer = (shell.ctx.clone(), shell.cmd_tx.clone());
        let task = tokio::spawn(shell.run(cmd_rx, stream_rx, shutdown));
        Ok(SipServer {
            local,
            stats,
            task,
            bindings,
            websocket,
            dialer,
        })
    }
}

struct Shell {
    socket: UdpSocket,
    layer: TransactionLayer,
    /// Live calls by Call-ID.
    calls: HashMap<String, mpsc::Sender<CallInput>>,
    /// Transactions that belong to a call (its INVITE, its BYE), by key.
    owners: HashMap<TxKey, String>,
    ctx: Arc<CallContext>,
    cmd_tx: mpsc::Sender<CallCommand>,
    stats: Arc<SipStats>,
    /// SIP over TCP and WebSocket: messages to these peers go over their connection.
    connections: super::tcp::Connections,
    registrar: mpsc::Sender<super::registrar::RegisterRequest>,
    /// Other Call-IDs (agent legs) that belong to a call, by alias.
    aliases: HashMap<String, String>,
}

impl Shell {
    async fn run(
        mut self,
        mut cmd_rx: mpsc::Receiver<CallCommand>,
        mut stream_rx: mpsc::Receiver<(Bytes, SocketAddr)>,
        shutdown: CancellationToken,
    ) {
        let mut buf = vec![0u8; MAX_MESSAGE + 1];
        let mut draining: Option<tokio::time::Instant> = None;
        loop {
            let timer = self
                .layer
                .poll_timeout()
                .map(tokio::time::Instant::from_std);
            tokio::select! {
                _ = shutdown.cancelled(), if draining.is_none() => {
                    for call in self.calls.values() {
                        let _ = call.try_send(CallInput::Shutdown);
                    }
                    draining = Some(tokio::time::Instant::now() + Duration::from_secs(2));
                }
                _ = tokio::time::sleep_until(draining.unwrap_or_else(tokio::time::Instant::now)), if draining.is_some() => break,
                r = self.socket.recv_from(&mut buf) => match r {
                    Ok((n, from)) => self.datagram(Bytes::copy_from_slice(&buf[..n]), from, false),
                    Err(e) => tracing::debug!(error = %e, "SIP socket receive error"),
                },
                Some(cmd) = cmd_rx.recv() => self.command(cmd),
                Some((data, from)) = stream_rx.recv() => self.datagram(data, from, true),
                _ = tokio::time::sleep_until(timer.unwrap_or_else(tokio::time::Instant::now)), if timer.is_some() => {
                    self.layer.handle_timeout(Instant::now());
                }
            }
            self.flush().await;
            if draining.is_some() && self.calls.is_empty() {
                break;
            }
        }
        tracing::info!("SIP stopped");
    }

    /// Takes one message from UDP or a stream (`reliable`: no retransmissions).
    fn datagram(&mut self, data: Bytes, from: SocketAddr, reliable: bool) {
        self.stats.received.fetch_add(1, Ordering::Relaxed);
        if data.iter().all(|b| matches!(b, b'\r' | b'\n')) {
            return; // keep-alive
        }
        let msg = match parse::parse(&data) {
            Ok(m) => m,
            Err(e) => {
                self.stats.malformed.fetch_add(1, Ordering::Relaxed);
                if let Some((resp, to)) = answer_malformed(&data, &e, from, reliable) {
                    self.layer.send_stateless(&resp, to);
                }
                return;
            }
        };
        if msg.is_request() && guard::is_scanner(&msg) {
            self.stats.scanners_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let msg = if msg.is_request() {
            stamp_via(msg, from)
        } else {
            msg
        };
        if msg.is_request() && guard::hop_limit_reached(&msg) {
            return self.stateless(&msg, 483, from, reliable);
        }
        match self
            .layer
            .handle_incoming(Instant::now(), msg.clone(), from, reliable)
        {
            Ok(()) => {}
            Err(LayerError::Overloaded) => {
                self.stats.overloaded.fetch_add(1, Ordering::Relaxed);
                self.stateless(&msg, 503, from, reliable);
            }
            Err(e) => tracing::debug!(error = %e, %from, "message dropped"),
        }
    }

    /// Answers statelessly (overload, hop limit); never to an ACK.
    fn stateless(&mut self, req: &Message, code: u16, from: SocketAddr, reliable: bool) {
        if req.method() == Some(Method::Ack) {
            return;
        }
        let mut r = req.response(code, reason_phrase(code), None);
        if code == 503 {
            r.headers.push("Retry-After", "5");
        }
        self.layer
            .send_stateless(&r, reply_target(req, from, reliable));
    }

    fn command(&mut self, cmd: CallCommand) {
        let now = Instant::now();
        match cmd {
            CallCommand::Respond { key, msg } => {
                if let Err(e) = self.layer.send_response(now, &key, &msg) {
                    tracing::debug!(error = %e, "response for a finished transaction");
                }
            }
            CallCommand::Request { call_id, msg, dest } => {
                // A WebSocket peer is reached only over its connection: reliable,
                // so no retransmissions (RFC 7118 §5).
                let reliable = self.connections.kind(dest) == Some(StreamKind::WebSocket);
                match self.layer.send_request(now, msg, dest, reliable) {
                    Ok(key) => {
                        self.owners.insert(key, call_id);
                    }
                    Err(e) => tracing::warn!(error = %e, "request not sent"),
                }
            }
            CallCommand::Join { call_id, input } => {
                self.calls.insert(call_id, input);
                self.stats
                    .calls_active
                    .store(self.calls.len() as u64, Ordering::Relaxed);
            }
            CallCommand::Alias { call_id, alias } => {
                self.aliases.insert(alias, call_id);
            }
            CallCommand::Stateless { msg, dest } => self.layer.send_stateless(&msg, dest),
            CallCommand::Ended { call_id } => {
                self.calls.remove(&call_id);
                self.owners.retain(|_, c| *c != call_id);
                self.aliases.retain(|_, c| *c != call_id);
                self.stats
                    .calls_active
                    .store(self.calls.len() as u64, Ordering::Relaxed);
            }
        }
    }

    async fn flush(&mut self) {
        while let Some(out) = self.layer.poll_output() {
            match out {
                Output::Transmit { to, data } => match self.connections.send(to, data.clone()) {
                    Some(true) => {}
                    Some(false) => {
                        tracing::warn!(%to, "SIP stream connection is full; message dropped")
                    }
                    None => {
                        if let Err(e) = self.socket.send_to(&data, to).await {
                            tracing::debug!(error = %e, %to, "SIP send failed");
                        }
                    }
                },
                Output::Event(ev) => self.event(ev),
            }
        }
    }

    fn event(&mut self, ev: TxEvent) {
        match ev {
            TxEvent::Request { key, msg, source } => self.request(key, msg, source),
            TxEvent::AckFor2xx { msg, .. } => {
                let raw = msg.call_id().unwrap_or_default().to_string();
                let id = self.aliases.get(&raw).cloned().unwrap_or(raw);
                self.forward_to_call(&id, CallInput::Ack)
            }
            TxEvent::Cancelled { invite } => {
                if let Some(id) = self.owners.get(&invite).cloned() {
                    self.forward_to_call(&id, CallInput::Cancelled);
                }
            }
            TxEvent::Response { key, msg } => {
                if let Some(id) = self.owners.get(&key).cloned() {
                    self.forward_to_call(&id, CallInput::Response { key, msg });
                }
            }
            TxEvent::Timeout { key } => {
                if let Some(id) = self.owners.get(&key).cloned() {
                    self.forward_to_call(&id, CallInput::TxTimeout { key });
                }
            }
            TxEvent::Stray { msg, source } => {
                tracing::debug!(%source, status = ?msg.status(), "stray message")
            }
        }
    }

    fn request(&mut self, key: TxKey, msg: Message, source: SocketAddr) {
        let raw_id = msg.call_id().unwrap_or_default().to_string();
        let call_id = self.aliases.get(&raw_id).cloned().unwrap_or(raw_id);
        let has_to_tag = msg.to().is_some_and(|t| t.tag().is_some());
        let now = Instant::now();
        if self.refuse_requirements(&key, &msg) {
            return;
        }
        match msg.method() {
            Some(Method::Invite) if !has_to_tag => self.new_call(key, msg, source, call_id),
            Some(Method::Options) if !has_to_tag => {
                let mut ok = msg.response(200, "OK", Some(&crate::sip::dialog::random_token()));
                ok.headers.push("Allow", ALLOW);
                ok.headers.push("Accept", "application/sdp");
                ok.headers.push("Supported", guard::SUPPORTED.join(", "));
                ok.headers
                    .push("Server", self.ctx.config.sip.user_agent.clone());
                let _ = self.layer.send_response(now, &key, &ok);
            }
            Some(Method::Register) => {
                let req = super::registrar::RegisterRequest {
                    key: key.clone(),
                    msg: msg.clone(),
                    source,
                    websocket: self.connections.kind(source) == Some(StreamKind::WebSocket),
                };
                if self.registrar.try_send(req).is_err() {
                    let mut r = msg.response(503, reason_phrase(503), None);
                    r.headers.push("Retry-After", "5");
                    let _ = self.layer.send_response(now, &key, &r);
                }
            }
            Some(Method::Other(_)) => {
                let mut r = msg.response(501, "Not Implemented", None);
                r.headers.push("Allow", ALLOW);
                let _ = self.layer.send_response(now, &key, &r);
            }
            _ if self.calls.contains_key(&call_id) => {
                self.owners.insert(key.clone(), call_id.clone());
                self.forward_to_call_or_reply(&call_id, key, msg, source);
            }
            Some(
                Method::Bye | Method::Info | Method::Update | Method::Invite | Method::Options,
            ) => {
                let _ = self.layer.send_response(
                    now,
                    &key,
                    &msg.response(481, reason_phrase(481), None),
                );
            }
            _ => {
                let mut r = msg.response(405, reason_phrase(405), None);
                r.headers.push("Allow", ALLOW);
                let _ = self.layer.send_response(now, &key, &r);
            }
        }
    }

    /// Answers 420 to a request that requires what we do not support (RFC 3261
    /// §8.2.2.3, RFC 4475 §3.3.5); ACK and CANCEL are exempt, and an INVITE is
    /// refused by its call, which records it. True when refused.
    fn refuse_requirements(&mut self, key: &TxKey, msg: &Message) -> bool {
        if matches!(
            msg.method(),
            Some(Method::Invite | Method::Ack | Method::Cancel)
        ) {
            return false;
        }
        let unsupported = guard::unsupported_requirements(msg);
        if unsupported.is_empty() {
            return false;
        }
        let mut r = msg.response(420, reason_phrase(420), None);
        r.headers.push("Unsupported", unsupported.join(", "));
        let _ = self.layer.send_response(Instant::now(), key, &r);
        true
    }

    fn new_call(&mut self, key: TxKey, msg: Message, source: SocketAddr, call_id: String) {
        let now = Instant::now();
        if self.calls.contains_key(&call_id) {
            // Same Call-ID on a new transaction: a merged or looped request (§8.2.2.2).
            let _ =
                self.layer
                    .send_response(now, &key, &msg.response(482, reason_phrase(482), None));
            return;
        }
        if self.calls.len() >= self.ctx.config.sip.max_calls {
            self.stats.overloaded.fetch_add(1, Ordering::Relaxed);
            let mut r = msg.response(503, reason_phrase(503), None);
            r.headers.push("Retry-After", "5");
            let _ = self.layer.send_response(now, &key, &r);
            return;
        }
        let (tx, rx) = mpsc::channel(CALL_QUEUE);
        let me = tx.downgrade();
        self.calls.insert(call_id.clone(), tx);
        self.owners.insert(key.clone(), call_id);
        self.stats
            .calls_active
            .store(self.calls.len() as u64, Ordering::Relaxed);
        tokio::spawn(call::run(
            self.ctx.clone(),
            key,
            msg,
            source,
            (me, rx),
            self.cmd_tx.clone(),
        ));
    }

    fn forward_to_call(&mut self, call_id: &str, input: CallInput) {
        if let Some(tx) = self.calls.get(call_id)
            && tx.try_send(input).is_err()
        {
            tracing::warn!(call_id, "call is not keeping up; input dropped");
        }
    }

    fn forward_to_call_or_reply(
        &mut self,
        call_id: &str,
        key: TxKey,
        msg: Message,
        source: SocketAddr,
    ) {
        let Some(tx) = self.calls.get(call_id) else {
            return;
        };
        if let Err(e) = tx.try_send(CallInput::Request {
            key: key.clone(),
            msg: msg.clone(),
            source,
        }) {
            let code = if matches!(e, mpsc::error::TrySendError::Closed(_)) {
                481
            } else {
                503
            };
            let _ = self.layer.send_response(
                Instant::now(),
                &key,
                &msg.response(code, reason_phrase(code), None),
            );
        }
    }
}

/// Where a response goes: back over the connection on a stream, else as the top
/// Via says (RFC 3261 §18.2.2, RFC 3581).
fn reply_target(msg: &Message, from: SocketAddr, reliable: bool) -> SocketAddr {
    if reliable {
        return from;
    }
    msg.top_via()
        .map(|v| v.response_target(from))
        .unwrap_or(from)
}

/// The error response to a message that failed to parse, and where it goes: its
/// top Via carries the real source as a request's would (RFC 3261 §18.2.1), so
/// it goes back where the request came from, not to the sent-by the request
/// claims. None when the message gets no answer.
fn answer_malformed(
    data: &Bytes,
    error: &parse::ParseError,
    from: SocketAddr,
    reliable: bool,
) -> Option<(Message, SocketAddr)> {
    let resp = stamp_via(parse::bad_request(data, error)?, from);
    let to = reply_target(&resp, from, reliable);
    Some((resp, to))
}

/// Records the real source in the top Via of a request, or of the response
/// built for it (RFC 3261 §18.2.1, RFC 3581).
fn stamp_via(mut msg: Message, from: SocketAddr) -> Message {
    if let Some(mut via) = msg.top_via() {
        via.stamp_source(from);
        msg.headers.replace_first_element("Via", via.to_string());
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_requests_are_answered_at_their_source() {
        let from: SocketAddr = "127.0.0.9:5070".parse().unwrap();
        let data = Bytes::from_static(
            b"INVITE <sip:user@example.com> SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.5:5060;branch=z9hG4bK1\r\n\
From: <sip:a@example.net>;tag=1\r\nTo: <sip:user@example.com>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\n\
Content-Length: 0\r\n\r\n",
        );
        let err = parse::parse(&data).unwrap_err();
        let (resp, to) = answer_malformed(&data, &err, from, false).unwrap();
        assert_eq!(resp.status(), Some(400));
        assert_eq!(to, "127.0.0.9:5060".parse::<SocketAddr>().unwrap());
        assert!(
            resp.headers
                .get("Via")
                .unwrap()
                .contains("received=127.0.0.9")
        );
        // A Via that does not parse (SIP/7.0): back to the source itself.
        let v7 = Bytes::from(
            String::from_utf8_lossy(&data)
                .replace(
                    "<sip:user@example.com> SIP/2.0",
                    "sip:user@example.com SIP/7.0",
                )
                .replace("SIP/2.0/UDP", "SIP/7.0/UDP"),
        );
        let err = parse::parse(&v7).unwrap_err();
        let (resp, to) = answer_malformed(&v7, &err, from, false).unwrap();
        assert_eq!((resp.status(), to), (Some(505), from));
    }
}
