//! One actor per call (UAS side): it owns the dialog and the media task, answers
//! the INVITE, handles BYE, re-INVITE, INFO, CANCEL and OPTIONS in the dialog, and
//! reports to the timeline writer. It talks to the SIP shell only through bounded
//! channels: inputs in, `CallCommand`s out.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::echo::{self, EchoParams, MediaEvent};
use super::guard;
use super::rtcp_leg::{self, LegRtcp, LegSetup};
use super::rtp_port;
use super::timeline_writer::{CallRecord, TimelineWriter};
use super::webrtc_caller;
use crate::config::Config;
use crate::dialplan::registry::Registry;
use crate::media::prompts::PromptCache;
use crate::routing::actor::RoutingService;
use crate::sdp::{self, Capabilities, SessionDescription};
use crate::sip::dialog::{Dialog, new_branch, random_token};
use crate::sip::message::reason_phrase;
use crate::sip::transaction::TxKey;
use crate::sip::{Message, Method};
use uuid::Uuid;

/// The echo test extension.
pub const ECHO_EXTENSION: &str = "9999";
pub const ALLOW: &str = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE";

/// What the shell passes to a call.
#[derive(Debug)]
pub enum CallInput {
    Request {
        key: TxKey,
        msg: Message,
        source: SocketAddr,
    },
    Ack,
    Cancelled,
    /// A transaction of this call timed out (no ACK for our 2xx, or no answer to our BYE).
    TxTimeout {
        key: TxKey,
    },
    Response {
        key: TxKey,
        msg: Message,
    },
    Shutdown,
    /// The caller's media is gone (a browser caller's WebRTC connection failed):
    /// hang up with this cause.
    MediaLost(String),
}

/// What a call asks the shell to do.
#[derive(Debug)]
pub enum CallCommand {
    Respond {
        key: TxKey,
        msg: Message,
    },
    Request {
        call_id: String,
        msg: Message,
        dest: SocketAddr,
    },
    /// A call we place ourselves (a callback): route this Call-ID's traffic to it.
    Join {
        call_id: String,
        input: mpsc::Sender<CallInput>,
    },
    /// Route requests with this other Call-ID (an agent leg) to the same call.
    Alias {
        call_id: String,
        alias: String,
    },
    /// Send outside any transaction (the ACK for a 2xx we received).
    Stateless {
        msg: Message,
        dest: SocketAddr,
    },
    Ended {
        call_id: String,
    },
}

/// Shared by every call.
pub struct CallContext {
    pub config: Arc<Config>,
    /// The SIP socket's address (Via and Contact use it, with the IP made concrete).
    pub sip_local: SocketAddr,
    pub timeline: TimelineWriter,
    pub dialplans: Arc<Registry>,
    pub prompts: Arc<PromptCache>,
    pub routing: RoutingService,
    /// Registered phones, to reach agents who take calls on a SIP phone.
    pub bindings: super::registrar::Bindings,
    /// Agents' browser softphones, to reach agents who take calls in the workspace.
    pub softphones: super::softphones::Softphones,
    /// Transcribes recordings after the call.
    pub speech: crate::speech::SpeechService,
    /// The SIP shell's counters (call quality histograms).
    pub stats: Arc<super::sip_server::SipStats>,
    /// Where callers' callback requests go.
    pub callbacks: super::callbacks::CallbackRequests,
}

pub struct Call {
    pub(super) ctx: Arc<CallContext>,
    pub(super) conversation: Uuid,
    pub(super) out: mpsc::Sender<CallCommand>,
    pub(super) dialog: Dialog,
    pub(super) invite_key: TxKey,
    pub(super) invite: Message,
    pub(super) local_ip: IpAddr,
    pub(super) answered_at: Option<Instant>,
    pub(super) media_stop: CancellationToken,
    bye_key: Option<TxKey>,
    /// Our RTP address and the SDP we last answered with, for re-INVITEs.
    session: Option<(SocketAddr, SessionDescription)>,
    session_id: u64,
    /// The caller leg's RTCP and statistics, once answered.
    pub(super) caller_quality: Option<LegRtcp>,
    /// Quality of legs already ended, written at call end.
    pub(super) ended_legs: Vec<crate::timeline::model::CallQuality>,
    /// This call's own input, for a browser caller's media gateway to report to.
    me: Option<mpsc::WeakSender<CallInput>>,
    /// The SDP answer given to a browser caller (WebRTC), sent instead of the plain one.
    webrtc_answer: Option<String>,
    /// While the IVR runs: its media, where keys from SIP INFO go.
    pub(super) ivr_keys: Option<mpsc::Sender<super::ivr_media::MediaCommand>>,
}

/// Runs a call from its initial INVITE to its end.
pub async fn run(
    ctx: Arc<CallContext>,
    key: TxKey,
    invite: Message,
    source: SocketAddr,
    (me, mut rx): (mpsc::WeakSender<CallInput>, mpsc::Receiver<CallInput>),
    out: mpsc::Sender<CallCommand>,
) {
    let call_id = invite.call_id().unwrap_or_default().to_string();
    let local_tag = random_token();
    let dialog = match Dialog::uas(&invite, &local_tag, source) {
        Ok(d) => d,
        Err(_) => {
            let _ = out
                .send(CallCommand::Respond {
                    key,
                    msg: invite.response(400, "Bad Request", None),
                })
                .await;
            let _ = out.send(CallCommand::Ended { call_id }).await;
            return;
        }
    };
    let local_ip = local_ip(&ctx, source);
    let mut call = Call {
        ctx,
        conversation: Uuid::new_v4(),
        out,
        dialog,
        invite_key: key,
        invite,
        local_ip,
        answered_at: None,
        media_stop: CancellationToken::new(),
        bye_key: None,
        session: None,
        session_id: rand::random::<u32>().into(),
        caller_quality: None,
        ended_legs: Vec::new(),
        me: Some(me),
        webrtc_answer: None,
        ivr_keys: None,
    };
    let cause = call.drive(&mut rx).await;
    call.finish(&cause).await;
}

pub(super) fn local_ip(ctx: &CallContext, source: SocketAddr) -> IpAddr {
    let ip = ctx.sip_local.ip();
    if ip.is_unspecified() {
        rtp_port::local_ip_towards(source).unwrap_or(ip)
    } else {
        ip
    }
}

impl Call {
    /// A call we placed (a callback), once the customer answered: `dialog` is
    /// ours as UAC, `invite` the INVITE we sent, `session` our offer's media.
    pub(super) fn placed(
        ctx: Arc<CallContext>,
        conversation: Uuid,
        out: mpsc::Sender<CallCommand>,
        (dialog, invite_key, invite): (Dialog, TxKey, Message),
        local_ip: IpAddr,
        session: (SocketAddr, SessionDescription),
    ) -> Call {
        Call {
            ctx,
            conversation,
            out,
            dialog,
            invite_key,
            invite,
            local_ip,
            answered_at: Some(Instant::now()),
            media_stop: CancellationToken::new(),
            bye_key: None,
            session: Some(session),
            session_id: rand::random::<u32>().into(),
            caller_quality: None,
            ended_legs: Vec::new(),
            me: None,
            webrtc_answer: None,
            ivr_keys: None,
        }
    }

    pub(super) async fn respond(&self, key: &TxKey, msg: Message) {
        let _ = self
            .out
            .send(CallCommand::Respond {
                key: key.clone(),
                msg,
            })
            .await;
    }

    pub(super) fn reply(&self, req: &Message, code: u16) -> Message {
        let mut m = req.response(code, reason_phrase(code), Some(&self.dialog.local_tag));
        m.headers
            .push("Server", self.ctx.config.sip.user_agent.clone());
        m
    }

    fn contact(&self) -> String {
        let at = SocketAddr::new(self.local_ip, self.ctx.sip_local.port());
        // A caller over WebSocket reaches us only over its connection (RFC 7118 §5).
        let over_ws = self
            .invite
            .top_via()
            .is_some_and(|v| matches!(v.transport.as_str(), "WS" | "WSS"));
        if over_ws {
            format!("<sip:{at};transport=ws>")
        } else {
            format!("<sip:{at}>")
        }
    }

    /// Answers the INVITE and runs the call; returns the hang-up cause.
    async fn drive(&mut self, rx: &mut mpsc::Receiver<CallInput>) -> String {
        let invite = self.invite.clone();
        let dialed = invite
            .request_uri()
            .and_then(|u| u.user.clone())
            .unwrap_or_default();
        let caller = invite
            .from()
            .and_then(|f| f.uri.user.clone())
            .unwrap_or_else(|| "anonymous".into());
        let caller_host = invite.from().map(|f| f.uri.host).unwrap_or_default();
        self.ctx.timeline.send(CallRecord::Start {
            call_id: self.dialog.call_id.clone(),
            conversation: self.conversation,
            caller: caller.clone(),
            caller_host,
            dialed: dialed.clone(),
        });
        self.respond(&self.invite_key, self.reply(&invite, 100))
            .await;
        if let Some(code) = self.precheck(&invite).await {
            return format!("rejected_{code}");
        }
        if dialed == ECHO_EXTENSION {
            return self.ring_then_answer(rx).await;
        }
        match self.ctx.dialplans.current().route(&dialed) {
            Some(plan) => self.run_ivr(plan, &caller, &dialed, rx).await,
            None => {
                self.respond(&self.invite_key, self.reply(&invite, 404))
                    .await;
                "not_found".into()
            }
        }
    }

    pub(super) fn conversation_id(&self) -> Uuid {
        self.conversation
    }

    pub fn call_id(&self) -> String {
        self.dialog.call_id.clone()
    }

    pub fn record(&self, r: CallRecord) {
        self.ctx.timeline.send(r);
    }

    /// Tells routing about this call; an item routing no longer knows is fine.
    pub(super) async fn routing_input(&self, input: crate::routing::engine::Input) {
        if let Err(e) = self.ctx.routing.apply(input).await {
            tracing::debug!(error = %e, "routing already done with this call");
        }
    }

    /// Binds the RTP/RTCP ports, builds the SDP answer and starts the caller
    /// leg's RTCP; answers 488/503 itself on failure.
    pub(super) async fn negotiate(
        &mut self,
        invite: &Message,
    ) -> Result<(tokio::net::UdpSocket, (SessionDescription, sdp::Negotiated)), u16> {
        let offer = std::str::from_utf8(&invite.body)
            .ok()
            .and_then(|t| SessionDescription::parse(t).ok());
        let Some(mut offer) = offer else {
            self.respond(&self.invite_key, self.reply(invite, 488))
                .await;
            return Err(488);
        };
        let ctx = self.ctx.clone();
        let media = &ctx.config.media;
        let (socket, rtcp) = match rtp_port::bind_pair(
            self.local_ip,
            media.rtp_port_min,
            media.rtp_port_max,
        )
        .await
        {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "no RTP port for a call");
                self.respond(&self.invite_key, self.reply(invite, 503))
                    .await;
                return Err(503);
            }
        };
        let local = socket
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::new(self.local_ip, 0));
        if webrtc_caller::is_webrtc_offer(&offer) {
            match self.start_gateway(invite, local).await {
                Ok(plain) => offer = plain,
                Err(code) => return Err(code),
            }
        }
        match sdp::answer(&offer, local, &Capabilities::default(), self.session_id) {
            Ok(a) => {
                let setup = LegSetup {
                    remote_rtp: a.1.remote,
                    remote_rtcp: rtcp_leg::peer_rtcp(&offer, a.1.remote),
                    payload_type: a.1.payload_type,
                    codec: a.1.codec,
                    symmetric: media.symmetric_rtp,
                };
                self.caller_quality = Some(LegRtcp::start(rtcp, setup, &self.media_stop));
                Ok((socket, a))
            }
            Err(_) => {
                self.respond(&self.invite_key, self.reply(invite, 488))
                    .await;
                Err(488)
            }
        }
    }

    /// A browser caller: answers their WebRTC offer through a media gateway and
    /// returns the plain offer the call goes on with; answers 488/503 on failure.
    async fn start_gateway(
        &mut self,
        invite: &Message,
        call_rtp: SocketAddr,
    ) -> Result<SessionDescription, u16> {
        let media = &self.ctx.config.media;
        let setup = webrtc_caller::GatewaySetup {
            ip: self.local_ip,
            ports: (media.rtp_port_min, media.rtp_port_max),
            call_rtp,
            call: self.me.clone().ok_or(488u16)?,
        };
        let offer = String::from_utf8_lossy(&invite.body);
        match webrtc_caller::start(setup, &offer, &self.media_stop).await {
            Ok(g) => {
                self.webrtc_answer = Some(g.answer);
                Ok(g.plain_offer)
            }
            Err(e) => {
                tracing::warn!(call_id = %self.dialog.call_id, error = %e, "browser caller's media refused");
                self.respond(&self.invite_key, self.reply(invite, e.status()))
                    .await;
                Err(e.status())
            }
        }
    }

    pub(super) async fn send_ok(
        &mut self,
        invite: &Message,
        negotiated: &(SessionDescription, sdp::Negotiated),
    ) {
        let mut ok = self.reply(invite, 200);
        ok.headers.push("Contact", self.contact());
        ok.headers.push("Allow", ALLOW);
        ok.headers.push("Supported", guard::SUPPORTED.join(", "));
        if let Some(answer) = &self.webrtc_answer {
            // A browser caller renegotiates nothing: re-INVITEs get 488 (no session).
            ok.set_body("application/sdp", Bytes::from(answer.clone()));
            self.respond(&self.invite_key, ok).await;
            self.answered_at = Some(Instant::now());
            return;
        }
        ok.set_body("application/sdp", Bytes::from(negotiated.0.to_string()));
        self.respond(&self.invite_key, ok).await;
        self.answered_at = Some(Instant::now());
        if let Some(port) = negotiated.0.media.first().map(|m| m.port) {
            self.session = Some((SocketAddr::new(self.local_ip, port), negotiated.0.clone()));
        }
    }

    /// Rejects what we cannot serve (unsupported Require, a body that is not SDP,
    /// an Accept without SDP, SDES-keyed secure RTP);
    /// returns the status code sent.
    async fn precheck(&self, invite: &Message) -> Option<u16> {
        let unsupported = guard::unsupported_requirements(invite);
        let ct = invite.content_type().map(|c| c.to_ascii_lowercase());
        let (code, header) = if !unsupported.is_empty() {
            (420, ("Unsupported", unsupported.join(", ")))
        } else if !invite.body.is_empty()
            && ct
                .as_deref()
                .is_none_or(|c| !c.starts_with("application/sdp"))
        {
            (415, ("Accept", "application/sdp".to_string()))
        } else if !guard::accepts_sdp(invite) {
            (406, ("Warning", guard::ACCEPT_WARNING.to_string()))
        } else if guard::sdes_only_offer(invite) {
            // Secure RTP keyed in the SDP (SDES): we do DTLS-SRTP (WebRTC) or plain RTP.
            tracing::info!(call_id = %self.dialog.call_id, "offer of SDES-keyed SRTP refused with 488");
            (488, ("Warning", guard::SDES_MEDIA_WARNING.to_string()))
        } else {
            return None;
        };
        let mut r = self.reply(invite, code);
        r.headers.push(header.0, header.1);
        self.respond(&self.invite_key, r).await;
        Some(code)
    }

    async fn ring_then_answer(&mut self, rx: &mut mpsc::Receiver<CallInput>) -> String {
        let invite = self.invite.clone();
        self.respond(&self.invite_key, self.reply(&invite, 180))
            .await;
        let ring_until =
            tokio::time::Instant::now() + Duration::from_millis(self.ctx.config.sip.echo_ring_ms);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(ring_until) => break,
                input = rx.recv() => match input {
                    Some(CallInput::Cancelled) => {
                        self.respond(&self.invite_key, self.reply(&invite, 487)).await;
                        return "cancelled".into();
                    }
                    Some(CallInput::Shutdown) | None => {
                        self.respond(&self.invite_key, self.reply(&invite, 503)).await;
                        return "shutdown".into();
                    }
                    Some(other) => self.in_dialog(other).await,
                }
            }
        }
        match self.answer_echo(&invite).await {
            Ok(media_rx) => self.connected(rx, media_rx).await,
            Err(code) => format!("rejected_{code}"),
        }
    }

    /// Sends 200 with our SDP answer and starts the echo; returns its event channel.
    async fn answer_echo(&mut self, invite: &Message) -> Result<mpsc::Receiver<MediaEvent>, u16> {
        let (socket, negotiated) = self.negotiate(invite).await?;
        self.send_ok(invite, &negotiated).await;
        let media = &self.ctx.config.media;
        let (tx, media_rx) = mpsc::channel(4);
        let params = EchoParams {
            remote: negotiated.1.remote,
            payload_type: negotiated.1.payload_type,
            dtmf_payload_type: negotiated.1.dtmf_payload_type,
            symmetric: media.symmetric_rtp,
            timeout: Duration::from_secs(media.media_timeout_secs),
            quality: self.caller_quality.as_ref().map(LegRtcp::tap),
        };
        tokio::spawn(echo::run(socket, params, self.media_stop.clone(), tx));
        Ok(media_rx)
    }

    async fn connected(
        &mut self,
        rx: &mut mpsc::Receiver<CallInput>,
        mut media: mpsc::Receiver<MediaEvent>,
    ) -> String {
        loop {
            tokio::select! {
                ev = media.recv() => match ev {
                    Some(MediaEvent::Timeout) => { self.send_bye().await; return "media_timeout".into(); }
                    Some(MediaEvent::Stopped(_)) | None => { self.send_bye().await; return "media_error".into(); }
                },
                input = rx.recv() => {
                    if let Some(cause) = self.connected_input(input).await {
                        return cause;
                    }
                }
            }
        }
    }

    /// Handles a call input once answered; returns the cause when the call ends.
    pub async fn connected_input(&mut self, input: Option<CallInput>) -> Option<String> {
        match input {
            Some(CallInput::Request { key, msg, .. }) if msg.method() == Some(Method::Bye) => {
                let code = if self.dialog.accept_request(&msg).is_ok() {
                    200
                } else {
                    500
                };
                self.respond(&key, self.reply(&msg, code)).await;
                (code == 200).then(|| "caller_hangup".to_string())
            }
            Some(CallInput::TxTimeout { key }) if key == self.invite_key => {
                self.send_bye().await;
                Some("no_ack".into())
            }
            Some(CallInput::Shutdown) | None => {
                self.send_bye().await;
                Some("shutdown".into())
            }
            Some(CallInput::MediaLost(cause)) => {
                self.send_bye().await;
                Some(cause)
            }
            Some(other) => {
                self.in_dialog(other).await;
                None
            }
        }
    }

    /// Handles in-dialog traffic that does not end the call.
    async fn in_dialog(&mut self, input: CallInput) {
        let CallInput::Request { key, msg, .. } = input else {
            return;
        };
        if let Err(e) = self.dialog.accept_request(&msg) {
            tracing::debug!(error = %e, "in-dialog request refused");
            self.respond(&key, self.reply(&msg, 500)).await;
            return;
        }
        let code = match msg.method() {
            Some(Method::Info) => {
                let digit = dtmf_relay_digit(&msg.body);
                if let (Some(d), Some(ivr)) = (digit, &self.ivr_keys) {
                    // The dialplan hears it (and writes it to the timeline).
                    if ivr
                        .try_send(super::ivr_media::MediaCommand::Key(d))
                        .is_err()
                    {
                        tracing::warn!(call_id = %self.dialog.call_id, "IVR media busy; a key from INFO was dropped");
                    }
                } else if let Some(d) = digit {
                    self.ctx.timeline.send(CallRecord::Event {
                        call_id: self.dialog.call_id.clone(),
                        payload: crate::timeline::model::EventPayload::Dtmf {
                            digits: d.to_string(),
                        },
                    });
                }
                200
            }
            Some(Method::Options) | Some(Method::Update) => 200,
            Some(Method::Invite) => return self.reinvite(key, &msg).await,
            _ => 405,
        };
        let mut r = self.reply(&msg, code);
        if code == 405 {
            r.headers.push("Allow", ALLOW);
        }
        self.respond(&key, r).await;
    }

    /// A re-INVITE (hold, resume, media change, session refresh): a new offer gets
    /// a new answer on the same RTP port with the session version raised; no offer
    /// gets our current session again.
    async fn reinvite(&mut self, key: TxKey, msg: &Message) {
        let Some((local, mut session)) = self.session.clone() else {
            self.respond(&key, self.reply(msg, 488)).await;
            return;
        };
        if !msg.body.is_empty() {
            let offer = std::str::from_utf8(&msg.body)
                .ok()
                .and_then(|t| SessionDescription::parse(t).ok());
            let answered = offer.and_then(|o| {
                sdp::answer(&o, local, &Capabilities::default(), self.session_id).ok()
            });
            let Some((answer, negotiated)) = answered else {
                self.respond(&key, self.reply(msg, 488)).await;
                return;
            };
            self.record(CallRecord::Event {
                call_id: self.call_id(),
                payload: crate::timeline::model::EventPayload::IvrStep {
                    step: "media_update".into(),
                    detail: serde_json::json!({ "held": negotiated.held || negotiated.direction != sdp::Direction::SendRecv }),
                },
            });
            session = answer;
        }
        // RFC 3264 §8: every new answer of the session raises the o= version.
        let previous = self
            .session
            .as_ref()
            .and_then(|(_, s)| s.origin.split_whitespace().nth(2)?.parse::<u64>().ok())
            .unwrap_or(0);
        let parts: Vec<String> = session
            .origin
            .split_whitespace()
            .map(String::from)
            .collect();
        if parts.len() == 6 {
            session.origin = format!(
                "{} {} {} {} {} {}",
                parts[0],
                parts[1],
                previous + 1,
                parts[3],
                parts[4],
                parts[5]
            );
        }
        self.session = Some((local, session.clone()));
        let mut ok = self.reply(msg, 200);
        ok.headers.push("Contact", self.contact());
        ok.set_body("application/sdp", Bytes::from(session.to_string()));
        self.respond(&key, ok).await;
    }

    pub async fn send_bye(&mut self) {
        let via = SocketAddr::new(self.local_ip, self.ctx.sip_local.port());
        let bye = self.dialog.request(Method::Bye, via, &new_branch());
        let dest = self.dialog.peer;
        self.bye_key = TxKey::for_sent_request(&bye);
        self.send_request(bye, dest).await;
    }

    /// Hands a request of this call (either leg) to the shell's transaction layer.
    pub(super) async fn send_request(&self, msg: Message, dest: SocketAddr) {
        let call_id = self.dialog.call_id.clone();
        if self
            .out
            .send(CallCommand::Request { call_id, msg, dest })
            .await
            .is_err()
        {
            tracing::debug!("SIP shell gone; request not sent");
        }
    }

    pub(super) async fn finish(&mut self, cause: &str) {
        self.media_stop.cancel();
        self.write_quality().await;
        let duration_ms = self
            .answered_at
            .map(|a| a.elapsed().as_millis() as i64)
            .unwrap_or(0);
        self.ctx.timeline.send(CallRecord::End {
            call_id: self.dialog.call_id.clone(),
            cause: cause.into(),
            duration_ms,
            answered: self.answered_at.is_some(),
        });
        let _ = self
            .out
            .send(CallCommand::Ended {
                call_id: self.dialog.call_id.clone(),
            })
            .await;
    }
}

/// The digit of an `application/dtmf-relay` body (`Signal=5`).
pub fn dtmf_relay_digit(body: &[u8]) -> Option<char> {
    let text = std::str::from_utf8(body).ok()?;
    text.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("signal") {
            return None;
        }
        let c = v.trim().chars().next()?;
        matches!(c, '0'..='9' | '*' | '#' | 'A'..='D').then_some(c)
    })
}
