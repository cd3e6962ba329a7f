//! Calling a customer back through the trunk: a call actor on the UAC side. It
//! joins the SIP shell under a Call-ID of its own, sends the INVITE with a
//! G.711 offer, and once the customer answers connects them to the agent who
//! took the callback exactly as an inbound call is bridged (browser softphone
//! or SIP phone, recorded, back to the queue if the agent is lost).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use super::agent_leg;
use super::call::{self, Call, CallCommand, CallContext, CallInput};
use super::rtcp_leg::{LegRtcp, LegSetup};
use super::rtp_port;
use super::timeline_writer::CallRecord;
use crate::routing::engine::Input;
use crate::sdp::{Direction, Negotiated, SessionDescription};
use crate::sip::Message;
use crate::sip::dialog::{Dialog, new_branch, random_token};
use crate::sip::transaction::TxKey;
use crate::sip::uri::Uri;

/// What we offer the trunk: G.711 µ-law and telephone-event.
const PCMU: u8 = 0;
const DTMF: u8 = 101;
/// Inputs a placed call may have waiting.
const INPUTS: usize = 32;

/// A callback to place: the customer's number, the callback's conversation, and
/// the agent routing gave it to.
#[derive(Debug, Clone)]
pub struct Dial {
    pub conversation: Uuid,
    pub customer: Uuid,
    pub number: String,
    pub agent: Uuid,
    pub queue: String,
}

/// How a callback try ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialOutcome {
    /// The customer answered; the call ran and ended with this cause.
    Answered(String),
    Busy,
    NoAnswer,
    /// Refused or failed: the status code or reason.
    Failed(String),
    /// No trunk is configured.
    NoTrunk,
}

impl DialOutcome {
    /// The outcome as the timeline names it.
    pub fn name(&self) -> String {
        match self {
            DialOutcome::Answered(_) => "answered".into(),
            DialOutcome::Busy => "busy".into(),
            DialOutcome::NoAnswer => "no_answer".into(),
            DialOutcome::Failed(why) => format!("failed_{why}"),
            DialOutcome::NoTrunk => "no_trunk".into(),
        }
    }
}

/// Places the call and, when answered, serves it; returns how it went.
pub async fn place(
    ctx: Arc<CallContext>,
    out: mpsc::Sender<CallCommand>,
    dial: Dial,
) -> DialOutcome {
    let Ok(trunk) = ctx.config.trunk.address.parse::<SocketAddr>() else {
        return DialOutcome::NoTrunk;
    };
    if dial.number.is_empty() || !dial.number.chars().all(|c| c.is_ascii_digit() || c == '+') {
        return DialOutcome::Failed("bad_number".into());
    }
    let call_id = format!("{}@switchboard", random_token());
    let (tx, mut rx) = mpsc::channel(INPUTS);
    if out
        .send(CallCommand::Join {
            call_id: call_id.clone(),
            input: tx,
        })
        .await
        .is_err()
    {
        return DialOutcome::Failed("shutdown".into());
    }
    let outcome = ring(&ctx, &out, &dial, trunk, &call_id, &mut rx).await;
    let answered = match outcome {
        Ok(a) => a,
        Err(outcome) => {
            let _ = out.send(CallCommand::Ended { call_id }).await;
            return outcome;
        }
    };
    let cause = serve(ctx, out, dial, answered, &mut rx).await;
    DialOutcome::Answered(cause)
}

/// A customer who answered: the dialog, our sockets and what was agreed.
struct Answered {
    dialog: Dialog,
    key: TxKey,
    invite: Message,
    local_ip: std::net::IpAddr,
    rtp: UdpSocket,
    rtcp: UdpSocket,
    offer: SessionDescription,
    negotiated: Negotiated,
    remote_rtcp: SocketAddr,
}

/// Sends the INVITE and waits for the customer; ACKs a 2xx.
async fn ring(
    ctx: &CallContext,
    out: &mpsc::Sender<CallCommand>,
    dial: &Dial,
    trunk: SocketAddr,
    call_id: &str,
    rx: &mut mpsc::Receiver<CallInput>,
) -> Result<Answered, DialOutcome> {
    let local_ip = call::local_ip(ctx, trunk);
    let media = &ctx.config.media;
    let (rtp, rtcp) = rtp_port::bind_pair(local_ip, media.rtp_port_min, media.rtp_port_max)
        .await
        .map_err(|_| DialOutcome::Failed("no_rtp_port".into()))?;
    let local_rtp = rtp
        .local_addr()
        .map_err(|_| DialOutcome::Failed("no_rtp_port".into()))?;
    let sip_local = SocketAddr::new(local_ip, ctx.sip_local.port());
    let sdp = agent_leg::offer(
        local_rtp,
        PCMU,
        "PCMU",
        Some(DTMF),
        rand::random::<u32>().into(),
    );
    let offer = SessionDescription::parse(&sdp).map_err(|_| DialOutcome::Failed("sdp".into()))?;
    let target = Uri::parse(&format!("sip:{}@{trunk}", dial.number))
        .map_err(|_| DialOutcome::Failed("bad_number".into()))?;
    let mut invite = agent_leg::invite(
        &target,
        sip_local,
        call_id,
        &random_token(),
        &new_branch(),
        &ctx.config.trunk.caller_id,
        sdp,
    );
    let from = invite.headers.get("From").unwrap_or_default().to_string();
    invite.headers.set(
        "From",
        from.replace(
            "sip:switchboard@",
            &format!("sip:{}@", ctx.config.trunk.caller_id),
        ),
    );
    let key = TxKey::for_sent_request(&invite).ok_or(DialOutcome::Failed("invite".into()))?;
    send(out, call_id, invite.clone(), trunk).await;
    let ok = await_final(ctx, out, &invite, &key, call_id, trunk, rx).await?;
    let dialog =
        Dialog::uac(&invite, &ok, trunk).map_err(|_| DialOutcome::Failed("dialog".into()))?;
    let ack = dialog.ack(1, sip_local, &new_branch());
    let _ = out
        .send(CallCommand::Stateless {
            msg: ack,
            dest: trunk,
        })
        .await;
    let Some((answer, remote, remote_rtcp)) = agent_leg::answered_media(&ok) else {
        hang_up(out, dialog, sip_local, call_id).await;
        return Err(DialOutcome::Failed("no_media".into()));
    };
    let dtmf = answer
        .media
        .iter()
        .find(|m| m.kind == "audio")
        .is_some_and(|m| m.formats.iter().any(|f| f == &DTMF.to_string()));
    let negotiated = Negotiated {
        remote,
        codec: "PCMU",
        payload_type: PCMU,
        dtmf_payload_type: dtmf.then_some(DTMF),
        direction: Direction::SendRecv,
        held: false,
    };
    Ok(Answered {
        dialog,
        key,
        invite,
        local_ip,
        rtp,
        rtcp,
        offer,
        negotiated,
        remote_rtcp,
    })
}

async fn send(out: &mpsc::Sender<CallCommand>, call_id: &str, msg: Message, dest: SocketAddr) {
    let _ = out
        .send(CallCommand::Request {
            call_id: call_id.to_string(),
            msg,
            dest,
        })
        .await;
}

/// Waits for the INVITE's final response within the ring time; a CANCEL when
/// the customer does not answer.
async fn await_final(
    ctx: &CallContext,
    out: &mpsc::Sender<CallCommand>,
    invite: &Message,
    key: &TxKey,
    call_id: &str,
    trunk: SocketAddr,
    rx: &mut mpsc::Receiver<CallInput>,
) -> Result<Message, DialOutcome> {
    let ring = Duration::from_secs(ctx.config.trunk.ring_seconds.into());
    let deadline = tokio::time::Instant::now() + ring;
    let mut cancelled: Option<DialOutcome> = None;
    loop {
        let input = tokio::select! {
            _ = tokio::time::sleep_until(deadline), if cancelled.is_none() => {
                cancel(out, invite, call_id, trunk).await;
                cancelled = Some(DialOutcome::NoAnswer);
                continue;
            }
            input = rx.recv() => input,
        };
        match input {
            Some(CallInput::Response { key: k, msg }) if &k == key => match msg.status() {
                Some(100..=199) => {}
                Some(200..=299) => return Ok(msg),
                Some(code) => return Err(cancelled.unwrap_or_else(|| failure(code))),
                None => {}
            },
            Some(CallInput::TxTimeout { key: k }) if &k == key => {
                return Err(cancelled.unwrap_or(DialOutcome::NoAnswer));
            }
            Some(CallInput::Shutdown) | None if cancelled.is_none() => {
                cancel(out, invite, call_id, trunk).await;
                cancelled = Some(DialOutcome::Failed("shutdown".into()));
            }
            None => return Err(cancelled.unwrap_or(DialOutcome::Failed("shutdown".into()))),
            _ => {}
        }
    }
}

async fn cancel(
    out: &mpsc::Sender<CallCommand>,
    invite: &Message,
    call_id: &str,
    trunk: SocketAddr,
) {
    if let Some(c) = agent_leg::cancel(invite) {
        send(out, call_id, c, trunk).await;
    }
}

/// What a final non-2xx means for the callback.
fn failure(code: u16) -> DialOutcome {
    match agent_leg::refusal(code) {
        "busy" => DialOutcome::Busy,
        "no_answer" => DialOutcome::NoAnswer,
        _ => DialOutcome::Failed(code.to_string()),
    }
}

/// An answered call we cannot use (no media in the answer) is hung up.
async fn hang_up(
    out: &mpsc::Sender<CallCommand>,
    mut dialog: Dialog,
    via: SocketAddr,
    call_id: &str,
) {
    let bye = dialog.request(crate::sip::Method::Bye, via, &new_branch());
    send(out, call_id, bye, dialog.peer).await;
    let _ = out
        .send(CallCommand::Ended {
            call_id: call_id.to_string(),
        })
        .await;
}

/// The answered callback as a call: recorded, bridged to the agent, finished.
async fn serve(
    ctx: Arc<CallContext>,
    out: mpsc::Sender<CallCommand>,
    dial: Dial,
    a: Answered,
    rx: &mut mpsc::Receiver<CallInput>,
) -> String {
    let local_rtp = a
        .rtp
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::new(a.local_ip, 0));
    let mut call = Call::placed(
        ctx.clone(),
        dial.conversation,
        out,
        (a.dialog, a.key, a.invite),
        a.local_ip,
        (local_rtp, a.offer),
    );
    call.record(CallRecord::Attach {
        call_id: call.call_id(),
        customer: dial.customer,
        conversation: dial.conversation,
    });
    let setup = LegSetup {
        remote_rtp: a.negotiated.remote,
        remote_rtcp: a.remote_rtcp,
        payload_type: PCMU,
        codec: "PCMU",
        symmetric: ctx.config.media.symmetric_rtp,
    };
    call.caller_quality = Some(LegRtcp::start(a.rtcp, setup, &call.media_stop));
    let (_language, language_rx) = watch::channel(None);
    let cause = call
        .serve_callback(
            dial.agent,
            a.rtp,
            dial.queue,
            &a.negotiated,
            language_rx,
            rx,
        )
        .await;
    call.finish(&cause).await;
    cause
}

impl Call {
    /// Bridges an answered callback to its agent (and the next, if the agent
    /// is lost), recorded; returns the hang-up cause.
    async fn serve_callback(
        &mut self,
        agent: Uuid,
        rtp: UdpSocket,
        queue: String,
        customer: &Negotiated,
        language: watch::Receiver<Option<String>>,
        rx: &mut mpsc::Receiver<CallInput>,
    ) -> String {
        let recording = self.start_recording(language);
        let recorder = recording.as_ref().map(|(tx, _, _)| tx.clone());
        let served = self
            .serve_with_agents(agent, false, rtp, queue, customer, recorder, rx)
            .await;
        self.routing_input(Input::Finish {
            item: self.conversation,
        })
        .await;
        let cause = match served {
            super::call_flow::Served::Ended(cause) => cause,
            super::call_flow::Served::AgentLeft(_) => {
                self.send_bye().await;
                "agent_hangup".into()
            }
            // Not asked for: a callback never leaves its queue by an overflow.
            super::call_flow::Served::Overflowed { .. } => {
                self.send_bye().await;
                "queue_overflow".into()
            }
        };
        self.media_stop.cancel();
        self.finish_recording(recording).await;
        cause
    }
}
