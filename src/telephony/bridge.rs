//! Connecting a queued call to the agent routing assigned it to: dial the agent's
//! registered phone on a second dialog, then relay audio until either side hangs
//! up, and hang up the other side. If the agent has no registered phone, or it
//! does not answer, the caller hears music on hold until they hang up.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::agent_leg;
use super::call::{Call, CallCommand, CallInput};
use super::ivr_media::{self, IvrMediaEvent, MediaCommand};
use super::recording::Frame;
use super::rtcp_leg::{LegRtcp, LegSetup};
use super::rtp_port;
use super::timeline_writer::CallRecord;
use super::transfer::AgentEnd;
use crate::media::g711::Law;
use crate::sdp::Negotiated;
use crate::sip::dialog::{Dialog, new_branch, random_token};
use crate::sip::transaction::TxKey;
use crate::sip::{Message, Method};
use crate::timeline::model::{CallLeg, EventPayload};

/// How long the agent's phone may ring.
const RING: Duration = Duration::from_secs(30);

impl Call {
    /// Dials the agent and bridges; returns the hang-up cause.
    pub(super) async fn bridge_to_agent(
        &mut self,
        agent: Uuid,
        caller_rtp: UdpSocket,
        caller: &Negotiated,
        recorder: Option<mpsc::Sender<Frame>>,
        rx: &mut mpsc::Receiver<CallInput>,
    ) -> AgentEnd {
        let name = match self.ctx.routing.store.agent(agent).await {
            Ok(Some(a)) => a.name,
            _ => return AgentEnd::lost(caller_rtp, "agent_unknown"),
        };
        if self.ctx.softphones.has_page(agent) {
            return self
                .bridge_to_browser(agent, name, caller_rtp, caller, recorder, rx)
                .await;
        }
        self.bridge_to_phone(name, caller_rtp, caller, recorder, rx)
            .await
    }

    /// Dials the agent's registered SIP phone and bridges; gives the caller back
    /// when the phone cannot be reached.
    async fn bridge_to_phone(
        &mut self,
        name: String,
        caller_rtp: UdpSocket,
        caller: &Negotiated,
        recorder: Option<mpsc::Sender<Frame>>,
        rx: &mut mpsc::Receiver<CallInput>,
    ) -> AgentEnd {
        let Some(phone) = self.registered_phone(&name) else {
            tracing::warn!(agent = %name, "agent has no registered phone; the call goes back to its queue");
            return AgentEnd::lost(caller_rtp, "agent_unreachable");
        };
        let answered = EventPayload::CallAnswered { agent: name };
        match self
            .dial_and_relay(phone, RING, answered, caller_rtp, caller, recorder, rx)
            .await
        {
            Dialled::Failed(why, caller_rtp) => {
                tracing::info!(
                    why,
                    "agent's phone did not take the call; back to the queue"
                );
                AgentEnd::lost(caller_rtp, "agent_no_answer")
            }
            Dialled::Over(cause) => AgentEnd::Ended(cause),
            Dialled::OtherLeft(caller_rtp) => AgentEnd::AgentLeft { caller_rtp },
        }
    }

    /// Where the phone registered as `name` is reached.
    pub(super) fn registered_phone(&self, name: &str) -> Option<Phone> {
        let phone = self.ctx.bindings.lookup(name).into_iter().next()?;
        let target = crate::sip::uri::Uri::parse(&phone.contact).ok()?;
        // A WebSocket phone only over its connection (RFC 7118 §5); else the
        // contact's own address when it is one, or where the REGISTER came from.
        let dest = if phone.websocket {
            phone.source
        } else {
            target
                .host
                .trim_matches(['[', ']'])
                .parse()
                .map(|ip| SocketAddr::new(ip, target.port.unwrap_or(5060)))
                .unwrap_or(phone.source)
        };
        Some(Phone {
            target,
            dest,
            websocket: phone.websocket,
        })
    }

    /// Dials `phone` on a second dialog with the caller's codec, lets it ring
    /// for `ring`, notes `answered` in the timeline when it answers, and relays
    /// audio until one side hangs up.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn dial_and_relay(
        &mut self,
        phone: Phone,
        ring: Duration,
        answered: EventPayload,
        caller_rtp: UdpSocket,
        caller: &Negotiated,
        recorder: Option<mpsc::Sender<Frame>>,
        rx: &mut mpsc::Receiver<CallInput>,
    ) -> Dialled {
        let media = &self.ctx.config.media;
        let Ok((agent_rtp, agent_rtcp)) =
            rtp_port::bind_pair(self.local_ip, media.rtp_port_min, media.rtp_port_max).await
        else {
            return Dialled::Failed("media_error", caller_rtp);
        };
        let local_rtp = agent_rtp
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::new(self.local_ip, 0));
        let sip_local = SocketAddr::new(self.local_ip, self.ctx.sip_local.port());
        let leg_id = format!("{}-leg-{}", self.dialog.call_id, random_token());
        let sdp = agent_leg::offer(
            local_rtp,
            caller.payload_type,
            caller.codec,
            caller.dtmf_payload_type,
            rand::random::<u32>().into(),
        );
        let caller_id = self.invite_caller();
        let mut invite = agent_leg::invite(
            &phone.target,
            sip_local,
            &leg_id,
            &random_token(),
            &new_branch(),
            &caller_id,
            sdp,
        );
        if phone.websocket {
            invite = agent_leg::over_websocket(invite);
        }
        let dest = phone.dest;
        let key = TxKey::for_sent_request(&invite);
        let _ = self
            .out
            .send(CallCommand::Alias {
                call_id: self.dialog.call_id.clone(),
                alias: leg_id.clone(),
            })
            .await;
        self.send_request(invite.clone(), dest).await;
        let ok = match self
            .await_answer(&invite, key.as_ref(), dest, ring, rx)
            .await
        {
            Answer::Ok(ok) => ok,
            Answer::CallerLeft(cause) => return Dialled::Over(cause),
            Answer::Failed(why) => return Dialled::Failed(why, caller_rtp),
        };
        let Some((leg, remote, remote_rtcp)) = self.accept_answer(&invite, &ok, dest).await else {
            return Dialled::Failed("failed", caller_rtp);
        };
        let setup = LegSetup {
            remote_rtp: remote,
            remote_rtcp,
            payload_type: caller.payload_type,
            codec: caller.codec,
            symmetric: self.ctx.config.media.symmetric_rtp,
        };
        let agent_quality = LegRtcp::start(agent_rtcp, setup, &self.media_stop);
        self.record(CallRecord::Event {
            call_id: self.call_id(),
            payload: answered,
        });
        let law = Law::from_payload_type(caller.payload_type).unwrap_or(Law::Ulaw);
        let caller_side = agent_leg::RelaySide {
            socket: caller_rtp,
            at: caller.remote,
            quality: self.caller_quality.as_ref().map(LegRtcp::tap),
        };
        let agent_side = agent_leg::RelaySide {
            socket: agent_rtp,
            at: remote,
            quality: Some(agent_quality.tap()),
        };
        let stop = self.media_stop.child_token();
        let relay = tokio::spawn(agent_leg::relay(
            caller_side,
            agent_side,
            law,
            recorder,
            stop.clone(),
        ));
        let end = self.bridged(leg, rx).await;
        self.leg_ended(CallLeg::Agent, agent_quality).await;
        match end {
            PhoneEnd::Over(cause) => Dialled::Over(cause),
            PhoneEnd::AgentLeft => {
                stop.cancel();
                match relay.await {
                    Ok(caller_rtp) => Dialled::OtherLeft(caller_rtp),
                    Err(_) => {
                        self.send_bye().await;
                        Dialled::Over("agent_hangup".into())
                    }
                }
            }
        }
    }

    fn invite_caller(&self) -> String {
        self.dialog
            .remote
            .uri
            .user
            .clone()
            .unwrap_or_else(|| "caller".into())
    }

    async fn await_answer(
        &mut self,
        invite: &Message,
        key: Option<&TxKey>,
        dest: SocketAddr,
        ring: Duration,
        rx: &mut mpsc::Receiver<CallInput>,
    ) -> Answer {
        let deadline = tokio::time::Instant::now() + ring;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => {
                    self.cancel_leg(invite, dest).await;
                    return Answer::Failed("no_answer");
                }
                input = rx.recv() => match input {
                    Some(CallInput::Response { key: k, msg }) if Some(&k) == key => match msg.status() {
                        Some(200..=299) => return Answer::Ok(msg),
                        Some(100..=199) => {}
                        code => return Answer::Failed(agent_leg::refusal(code.unwrap_or(500))),
                    },
                    Some(CallInput::TxTimeout { key: k }) if Some(&k) == key => return Answer::Failed("no_answer"),
                    other => {
                        if let Some(cause) = self.connected_input(other).await {
                            self.cancel_leg(invite, dest).await;
                            return Answer::CallerLeft(cause);
                        }
                    }
                }
            }
        }
    }

    async fn cancel_leg(&self, invite: &Message, dest: SocketAddr) {
        if let Some(c) = agent_leg::cancel(invite) {
            self.send_request(c, dest).await;
        }
    }

    /// ACKs the agent's 2xx and reads where to send audio and RTCP.
    async fn accept_answer(
        &mut self,
        invite: &Message,
        ok: &Message,
        dest: SocketAddr,
    ) -> Option<(Dialog, SocketAddr, SocketAddr)> {
        let leg = Dialog::uac(invite, ok, dest).ok()?;
        let sip_local = SocketAddr::new(self.local_ip, self.ctx.sip_local.port());
        let ack = leg.ack(1, sip_local, &new_branch());
        let _ = self
            .out
            .send(CallCommand::Stateless { msg: ack, dest })
            .await;
        let (_, rtp, rtcp) = agent_leg::answered_media(ok)?;
        Some((leg, rtp, rtcp))
    }

    /// Runs the bridged call until one side hangs up; the caller's hang-up ends
    /// the agent's leg with a BYE, the agent's leaves the caller to the dialplan.
    async fn bridged(&mut self, mut leg: Dialog, rx: &mut mpsc::Receiver<CallInput>) -> PhoneEnd {
        let sip_local = SocketAddr::new(self.local_ip, self.ctx.sip_local.port());
        loop {
            let input = rx.recv().await;
            if let Some(CallInput::Request { key, msg, .. }) = &input
                && msg.call_id() == Some(leg.call_id.as_str())
            {
                let is_bye = msg.method() == Some(Method::Bye);
                let code = if leg.accept_request(msg).is_ok() {
                    200
                } else {
                    500
                };
                let mut r = msg.response(code, crate::sip::message::reason_phrase(code), None);
                r.headers
                    .push("Server", self.ctx.config.sip.user_agent.clone());
                self.respond(key, r).await;
                if is_bye && code == 200 {
                    return PhoneEnd::AgentLeft;
                }
                continue;
            }
            if let Some(cause) = self.connected_input(input).await {
                let bye = leg.request(Method::Bye, sip_local, &new_branch());
                self.send_request(bye, leg.peer).await;
                return PhoneEnd::Over(cause);
            }
        }
    }

    /// Plays music on hold to the caller until `stop` (or until the returned
    /// `OnHold` is dropped); its task hands the caller's socket back, and its
    /// events say when the caller's media timed out.
    pub(super) fn start_moh(
        &self,
        caller_rtp: UdpSocket,
        caller: &Negotiated,
        recorder: Option<mpsc::Sender<Frame>>,
        stop: CancellationToken,
    ) -> OnHold {
        let params = self.caller_media(caller, recorder);
        let (cmd_tx, cmd_rx) = mpsc::channel(4);
        let (ev_tx, ev_rx) = mpsc::channel(16);
        if cmd_tx
            .try_send(MediaCommand::Loop("moh.wav".into()))
            .is_err()
        {
            tracing::warn!("music on hold not started");
        }
        let task = tokio::spawn(ivr_media::run(
            caller_rtp,
            params,
            self.ctx.prompts.clone(),
            cmd_rx,
            ev_tx,
            stop,
        ));
        OnHold {
            task,
            events: ev_rx,
            _commands: cmd_tx,
        }
    }
}

/// Music on hold playing to the caller.
pub(super) struct OnHold {
    pub task: JoinHandle<UdpSocket>,
    pub events: mpsc::Receiver<IvrMediaEvent>,
    /// The media task plays while this sender lives.
    _commands: mpsc::Sender<MediaCommand>,
}

/// How a call bridged to an agent's phone ended.
enum PhoneEnd {
    /// The caller hung up (or the call failed), with this cause.
    Over(String),
    /// The agent's phone hung up; the caller is still on the line.
    AgentLeft,
}

enum Answer {
    Ok(Message),
    CallerLeft(String),
    /// Why: `busy`, `no_answer` or `failed`.
    Failed(&'static str),
}

/// A phone to dial: its URI and where its requests go.
pub(super) struct Phone {
    pub target: crate::sip::uri::Uri,
    pub dest: SocketAddr,
    pub websocket: bool,
}

/// How a dialled leg ended.
pub(super) enum Dialled {
    /// It did not answer (`busy`, `no_answer`, `failed`, `media_error`); the
    /// caller's socket back.
    Failed(&'static str, UdpSocket),
    /// The caller hung up (or the call failed), with this cause.
    Over(String),
    /// The dialled side hung up first; the caller is still on the line.
    OtherLeft(UdpSocket),
}
