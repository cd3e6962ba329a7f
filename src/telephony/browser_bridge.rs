//! Connecting a queued call to an agent's browser softphone: the call offers a
//! WebRTC leg to the agent's workspace pages over their socket, the first page to
//! answer gets it, and the relay carries audio until the caller or the agent hangs
//! up; the agent may hold the caller (music on hold) and resume meanwhile. If no
//! page answers, or the browser leg fails (page closed or reloaded, ICE
//! or DTLS failure), the caller goes back to the front of the queue with music on
//! hold.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::browser_relay::{self, BrowserRelay, CallerSide, LegState, RelayCommand};
use super::call::{Call, CallInput};
use super::monitor_bridge::Monitored;
use super::recording::Frame;
use super::rtp_port;
use super::softphones::FromBrowser;
use super::timeline_writer::CallRecord;
use super::transfer::{AgentEnd, TransferTo};
use crate::media::g711::Law;
use crate::media::webrtc_peer::WebRtcPeer;
use crate::sdp::Negotiated;
use crate::sip::Method;
use crate::sip::dialog::{new_branch, random_token};
use crate::timeline::model::EventPayload;

/// How long the agent's page may take to answer.
const RING: Duration = Duration::from_secs(20);

/// How a browser call ended, for the caller's side.
enum Ending {
    Cause(String),
    /// The browser leg never came up or broke; the caller still waits.
    LegLost(UdpSocket),
    /// The agent transferred the caller.
    Transfer(TransferTo, UdpSocket),
    /// The agent hung up; the caller is still on the line.
    AgentLeft(UdpSocket),
}

/// How the bridged part ended.
enum Bridged {
    Over(String),
    /// The agent hung up; what happens to the caller is the dialplan's call.
    AgentLeft,
    Lost,
    Transfer(TransferTo),
}

impl Call {
    /// Rings the agent's pages and bridges; returns how the call ended there.
    pub(super) async fn bridge_to_browser(
        &mut self,
        agent: Uuid,
        name: String,
        caller_rtp: UdpSocket,
        caller: &Negotiated,
        recorder: Option<mpsc::Sender<Frame>>,
        rx: &mut mpsc::Receiver<CallInput>,
    ) -> AgentEnd {
        let leg = format!("{}-webrtc-{}", self.conversation_id(), random_token());
        let ending = self
            .browser_call(agent, &name, &leg, caller_rtp, caller, recorder, rx)
            .await;
        let phones = &self.ctx.softphones;
        let ended =
            |cause: &str| json!({"type": "call.ended", "leg": leg, "cause": cause}).to_string();
        let end = match ending {
            Ok(Ending::Cause(cause)) => {
                phones.notify(&leg, ended(&cause));
                AgentEnd::Ended(cause)
            }
            Ok(Ending::Transfer(to, caller_rtp)) => {
                phones.notify(&leg, ended("transferred"));
                AgentEnd::Transfer { to, caller_rtp }
            }
            Ok(Ending::AgentLeft(caller_rtp)) => {
                phones.notify(&leg, ended("agent_hangup"));
                AgentEnd::AgentLeft { caller_rtp }
            }
            Ok(Ending::LegLost(sock)) => {
                phones.notify(&leg, ended("agent_leg_lost"));
                AgentEnd::lost(sock, "agent_leg_lost")
            }
            Err(sock) => {
                phones.notify(&leg, ended("no_answer"));
                AgentEnd::lost(sock, "agent_no_answer")
            }
        };
        phones.end(&leg);
        end
    }

    #[allow(clippy::too_many_arguments)]
    async fn browser_call(
        &mut self,
        agent: Uuid,
        name: &str,
        leg: &str,
        caller_rtp: UdpSocket,
        caller: &Negotiated,
        recorder: Option<mpsc::Sender<Frame>>,
        rx: &mut mpsc::Receiver<CallInput>,
    ) -> Result<Ending, UdpSocket> {
        let law = Law::from_payload_type(caller.payload_type).unwrap_or(Law::Ulaw);
        let media = &self.ctx.config.media;
        let Ok(socket) =
            rtp_port::bind_rtp(self.local_ip, media.rtp_port_min, media.rtp_port_max).await
        else {
            return Err(caller_rtp);
        };
        let Ok(local) = socket.local_addr() else {
            return Err(caller_rtp);
        };
        let (mut peer, offer) = match WebRtcPeer::offer(Instant::now(), local, law) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "browser leg not created");
                return Err(caller_rtp);
            }
        };
        let ring = json!({
            "type": "call.offer",
            "leg": leg,
            "conversation": self.conversation_id(),
            "caller": self.caller_number(),
            "sdp": offer,
        });
        let Some(mut replies) = self.ctx.softphones.ring(agent, leg, ring.to_string()) else {
            return Err(caller_rtp);
        };
        let page = match self.await_page_answer(&mut peer, &mut replies, rx).await {
            PageAnswer::Answered(page) => page,
            PageAnswer::CallerLeft(cause) => return Ok(Ending::Cause(cause)),
            PageAnswer::NoAnswer => return Err(caller_rtp),
        };
        self.ctx.softphones.notify(
            leg,
            json!({"type": "call.answered", "leg": leg, "page": page}).to_string(),
        );
        self.record(CallRecord::Event {
            call_id: self.call_id(),
            payload: EventPayload::CallAnswered {
                agent: name.to_string(),
            },
        });
        let relay = BrowserRelay {
            peer,
            socket,
            caller: CallerSide {
                socket: caller_rtp,
                at: caller.remote,
                payload_type: caller.payload_type,
                dtmf_payload_type: caller.dtmf_payload_type,
                law,
                quality: self
                    .caller_quality
                    .as_ref()
                    .map(super::rtcp_leg::LegRtcp::tap),
            },
            recorder,
        };
        let (state_tx, state_rx) = mpsc::channel(4);
        let (cmd_tx, cmd_rx) = mpsc::channel(16);
        let stop = self.media_stop.child_token();
        let task = tokio::spawn(browser_relay::run(relay, state_tx, cmd_rx, stop.clone()));
        let bridged = BridgedLeg {
            name: leg,
            agent: name,
            page,
            relay: cmd_tx,
            rfc4733: caller.dtmf_payload_type.is_some(),
            law,
        };
        let outcome = self
            .browser_bridged(&bridged, &mut replies, state_rx, rx)
            .await;
        stop.cancel();
        let caller_rtp = task.await;
        match (outcome, caller_rtp) {
            (Bridged::Over(cause), _) => Ok(Ending::Cause(cause)),
            (Bridged::Lost, Ok(sock)) => Ok(Ending::LegLost(sock)),
            (Bridged::Transfer(to), Ok(sock)) => Ok(Ending::Transfer(to, sock)),
            (Bridged::AgentLeft, Ok(sock)) => Ok(Ending::AgentLeft(sock)),
            (Bridged::AgentLeft, Err(_)) => {
                self.send_bye().await;
                Ok(Ending::Cause("agent_hangup".into()))
            }
            (_, Err(_)) => Ok(Ending::Cause("media_error".into())),
        }
    }

    async fn await_page_answer(
        &mut self,
        peer: &mut WebRtcPeer,
        replies: &mut mpsc::Receiver<FromBrowser>,
        rx: &mut mpsc::Receiver<CallInput>,
    ) -> PageAnswer {
        let deadline = tokio::time::Instant::now() + RING;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return PageAnswer::NoAnswer,
                reply = replies.recv() => match reply {
                    Some(FromBrowser::Answer { page, sdp }) => match peer.answer(Instant::now(), sdp) {
                        Ok(()) => return PageAnswer::Answered(page),
                        Err(e) => {
                            tracing::warn!(error = %e, "browser answer refused");
                            return PageAnswer::NoAnswer;
                        }
                    },
                    Some(FromBrowser::Hangup) | None => return PageAnswer::NoAnswer,
                    Some(_) => {}
                },
                input = rx.recv() => {
                    if let Some(cause) = self.connected_input(input).await {
                        return PageAnswer::CallerLeft(cause);
                    }
                }
            }
        }
    }

    /// The bridged call, until it ends, the browser leg is lost, or the agent transfers it.
    async fn browser_bridged(
        &mut self,
        bridged: &BridgedLeg<'_>,
        replies: &mut mpsc::Receiver<FromBrowser>,
        mut states: mpsc::Receiver<LegState>,
        rx: &mut mpsc::Receiver<CallInput>,
    ) -> Bridged {
        let (leg, page) = (bridged.name, bridged.page);
        let mut held = false;
        let mut watched = Monitored {
            relay: &bridged.relay,
            agent: bridged.agent,
            law: bridged.law,
            by: None,
        };
        loop {
            tokio::select! {
                state = states.recv() => match state {
                    Some(LegState::Connected) => {
                        self.ctx.softphones.notify(leg, json!({"type": "call.connected", "leg": leg}).to_string());
                    }
                    Some(LegState::MonitorEnded) => self.monitor_ended(&mut watched),
                    Some(LegState::Failed) | None => {
                        tracing::warn!(leg, "browser leg failed");
                        return Bridged::Lost;
                    }
                },
                reply = replies.recv() => match reply {
                    Some(FromBrowser::Hangup) => return Bridged::AgentLeft,
                    Some(FromBrowser::PageGone { page: p }) if p == page => return Bridged::Lost,
                    Some(FromBrowser::Transfer(to)) => return Bridged::Transfer(to),
                    Some(FromBrowser::Dtmf(d)) => self.agent_key(bridged, d).await,
                    Some(FromBrowser::Hold(on)) if on != held => held = self.agent_hold(bridged, on),
                    Some(FromBrowser::Monitor { monitor, supervisor, mode }) => {
                        self.monitor_start(&mut watched, monitor, &supervisor, mode).await;
                    }
                    Some(FromBrowser::MonitorAnswer { monitor, sdp }) => self.monitor_signal(&mut watched, monitor, Some(sdp)),
                    Some(FromBrowser::MonitorStop { monitor }) => self.monitor_signal(&mut watched, monitor, None),
                    Some(_) => {}
                    None => return Bridged::Lost,
                },
                input = rx.recv() => {
                    if let Some(cause) = self.connected_input(input).await {
                        return Bridged::Over(cause);
                    }
                }
            }
        }
    }

    /// The agent holds (`on`) or resumes the call: the relay plays music on hold
    /// instead of relaying, the page and the timeline are told. Returns whether
    /// the call is on hold now.
    fn agent_hold(&mut self, bridged: &BridgedLeg<'_>, on: bool) -> bool {
        let command = if on {
            let music = self.ctx.prompts.get(std::path::Path::new("moh.wav"));
            if music.is_none() {
                tracing::error!("moh.wav missing: the caller is held in silence");
            }
            RelayCommand::Hold(music.unwrap_or_else(|| std::sync::Arc::from(Vec::new())))
        } else {
            RelayCommand::Resume
        };
        let leg = bridged.name;
        if bridged.relay.try_send(command).is_err() {
            tracing::warn!(leg, on, "relay busy; hold not changed");
            let refused = json!({"type": "call.hold", "leg": leg, "on": !on, "error": "busy"});
            self.ctx.softphones.notify(leg, refused.to_string());
            return !on;
        }
        self.ctx.softphones.notify(
            leg,
            json!({"type": "call.hold", "leg": leg, "on": on}).to_string(),
        );
        self.record(CallRecord::Event {
            call_id: self.call_id(),
            payload: EventPayload::CallHold {
                held: on,
                agent: bridged.agent.to_string(),
            },
        });
        on
    }

    /// A key from the agent's keypad: in the media when the caller takes
    /// telephone-events, else as SIP INFO (application/dtmf-relay).
    async fn agent_key(&mut self, bridged: &BridgedLeg<'_>, digit: char) {
        if bridged.rfc4733 {
            if bridged.relay.try_send(RelayCommand::Dtmf(digit)).is_err() {
                tracing::warn!("relay busy; key dropped");
            }
            return;
        }
        if crate::media::dtmf::digit_event(digit).is_none() {
            return;
        }
        let via = std::net::SocketAddr::new(self.local_ip, self.ctx.sip_local.port());
        let mut info = self.dialog.request(Method::Info, via, &new_branch());
        let body = format!("Signal={digit}\r\nDuration=160\r\n");
        info.set_body("application/dtmf-relay", bytes::Bytes::from(body));
        self.send_request(info, self.dialog.peer).await;
    }

    fn caller_number(&self) -> String {
        self.dialog
            .remote
            .uri
            .user
            .clone()
            .unwrap_or_else(|| "caller".into())
    }
}

/// The browser leg while bridged.
struct BridgedLeg<'a> {
    name: &'a str,
    /// The agent's name.
    agent: &'a str,
    page: u64,
    relay: mpsc::Sender<RelayCommand>,
    /// The caller takes RFC 4733 telephone-events.
    rfc4733: bool,
    /// The caller's (and so every browser leg's) G.711 law.
    law: Law,
}

enum PageAnswer {
    Answered(u64),
    CallerLeft(String),
    NoAnswer,
}
