//! A call handed back by its agent: a blind transfer to a queue (ahead of
//! ordinary calls), to an agent by name (reserved for them in the call's queue
//! for 30 s, then any agent of that queue), or to a number through the trunk
//! (back to the front of its queue if the number does not answer), or an agent leg that was lost or never came up (the call goes
//! back to the front of its queue). The agent who had it goes to wrap-up, the
//! call re-enters the routing engine, the caller hears music on hold, and when
//! routing assigns it again the call is bridged to the new agent like the first
//! time. A call whose dialplan is still in its queue step may be taken out of
//! the line by the queue's voicemail or callback overflow meanwhile.

use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use uuid::Uuid;

use super::bridge::Dialled;
use super::call::{Call, CallInput};
use super::recording::Frame;
use super::timeline_writer::CallRecord;
use crate::dialplan::vm::{QueueOverflow, TransferTarget};
use crate::routing::actor::{RoutingEvent, work_item};
use crate::routing::engine::Input;
use crate::routing::model::{Channel, Overflow};
use crate::sdp::Negotiated;
use crate::timeline::model::EventPayload;

/// Transferred calls go ahead of calls of ordinary priority.
const TRANSFER_PRIORITY: i32 = 5;
/// A call whose agent leg was lost goes to the front of the queue.
const FRONT_PRIORITY: i32 = 100;

/// How long a call transferred to an agent by name waits for them alone.
const AGENT_RESERVATION: Duration = Duration::from_secs(30);

/// Where an agent transfers their caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferTo {
    Queue(String),
    /// An agent, by id, with their name for the timeline.
    Agent {
        id: Uuid,
        name: String,
    },
    /// A number, through the trunk.
    Number(String),
}

/// How a bridged call with an agent ended.
pub enum AgentEnd {
    /// The call is over, with this cause.
    Ended(String),
    /// The agent transferred the caller; here is the caller's RTP socket.
    Transfer {
        to: TransferTo,
        caller_rtp: UdpSocket,
    },
    /// The agent hung up first; the caller is still on the line.
    AgentLeft { caller_rtp: UdpSocket },
    /// The agent's leg was lost or never answered (`reason`); the caller waits.
    Lost {
        reason: &'static str,
        caller_rtp: UdpSocket,
    },
}

impl AgentEnd {
    pub(super) fn lost(caller_rtp: UdpSocket, reason: &'static str) -> AgentEnd {
        AgentEnd::Lost { reason, caller_rtp }
    }
}

/// Why a call goes back into a queue.
pub enum Back {
    Transfer,
    /// Transferred to this agent by name.
    ToAgent {
        id: Uuid,
        name: String,
    },
    Lost(&'static str),
}

/// How long a number the agent transferred the caller to may ring.
const NUMBER_RING: Duration = Duration::from_secs(30);

/// How a blind transfer to a number went.
pub enum PutThrough {
    /// The call is over, with this cause.
    Over(String),
    /// The number answered and hung up first; the caller is still on the line.
    OtherLeft(UdpSocket),
    /// The number could not be reached; the caller is still on the line.
    Failed(UdpSocket),
}

/// Where a transferred call went.
pub enum Requeued {
    Assigned {
        agent: Uuid,
        caller_rtp: UdpSocket,
    },
    Ended(String),
    /// The queue's overflow took the caller out of the line; they waited in
    /// `queue` since `since`.
    Overflowed {
        what: QueueOverflow,
        queue: String,
        since: Instant,
        caller_rtp: UdpSocket,
    },
}

/// What ended a requeued call's wait.
enum Next {
    Agent(Uuid),
    Left(QueueOverflow),
}

impl Call {
    /// The agent transferred the caller to `number`: the agent goes to wrap-up
    /// and the caller is put through the trunk, recorded like an agent leg.
    pub(super) async fn put_through(
        &mut self,
        number: &str,
        caller_rtp: UdpSocket,
        caller: &Negotiated,
        recorder: Option<mpsc::Sender<Frame>>,
        rx: &mut mpsc::Receiver<CallInput>,
    ) -> PutThrough {
        self.routing_input(Input::Finish {
            item: self.conversation_id(),
        })
        .await;
        let call_id = self.call_id();
        let step = move |step: &str, detail: serde_json::Value| CallRecord::Event {
            call_id: call_id.clone(),
            payload: EventPayload::IvrStep {
                step: step.into(),
                detail,
            },
        };
        self.record(step("transfer", serde_json::json!({ "number": number })));
        let to = TransferTarget::Number(number.to_string());
        let dialled = match self.transfer_phone(&to) {
            Ok((phone, label)) => {
                let answered = EventPayload::CallTransferred { to: label };
                self.dial_and_relay(
                    phone,
                    NUMBER_RING,
                    answered,
                    caller_rtp,
                    caller,
                    recorder,
                    rx,
                )
                .await
            }
            Err(why) => Dialled::Failed(why, caller_rtp),
        };
        match dialled {
            Dialled::Over(cause) => PutThrough::Over(cause),
            Dialled::OtherLeft(sock) => PutThrough::OtherLeft(sock),
            Dialled::Failed(why, sock) => {
                tracing::warn!(
                    number,
                    why,
                    "transfer to a number failed; the caller goes back to the queue"
                );
                let detail = serde_json::json!({ "number": number, "reason": why });
                self.record(step("transfer_failed", detail));
                PutThrough::Failed(sock)
            }
        }
    }

    /// Puts the call back into `queue` with music on hold until routing assigns it
    /// or the caller hangs up; with `may_leave` (the dialplan waits in its queue
    /// step) until a voicemail or callback overflow takes the caller out.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn requeue(
        &mut self,
        why: Back,
        may_leave: bool,
        queue: &str,
        caller_rtp: UdpSocket,
        caller: &Negotiated,
        recorder: Option<mpsc::Sender<Frame>>,
        rx: &mut mpsc::Receiver<CallInput>,
    ) -> Requeued {
        let conversation = self.conversation_id();
        let mut assigned = self.ctx.routing.events.subscribe();
        self.routing_input(Input::Finish { item: conversation })
            .await;
        let (step, priority) = match why {
            Back::Transfer | Back::ToAgent { .. } => ("transfer", TRANSFER_PRIORITY),
            Back::Lost(_) => ("requeue", FRONT_PRIORITY),
        };
        let detail = match &why {
            Back::Transfer => serde_json::json!({ "queue": queue }),
            Back::ToAgent { name, .. } => serde_json::json!({ "queue": queue, "agent": name }),
            Back::Lost(reason) => serde_json::json!({ "queue": queue, "reason": reason }),
        };
        self.record(CallRecord::Event {
            call_id: self.call_id(),
            payload: EventPayload::IvrStep {
                step: step.into(),
                detail,
            },
        });
        self.record(CallRecord::Queued {
            call_id: self.call_id(),
            queue: queue.to_string(),
        });
        let routing = self.ctx.routing.clone();
        let since = Instant::now();
        let mut item = work_item(
            conversation,
            Uuid::nil(),
            Channel::Voice,
            queue,
            priority,
            since,
        );
        item.caller_on_line = may_leave;
        if let Back::ToAgent { id, .. } = why {
            item.preferred_agent = Some(id);
            item.sticky_until = Some(since + AGENT_RESERVATION);
            item.reserved = true;
        }
        let queued = routing.apply(Input::Enqueue(item)).await;
        if let Err(e) = queued {
            tracing::error!(error = %e, queue, "call not queued again; ending it");
            self.send_bye().await;
            return Requeued::Ended("queue_error".into());
        }
        let stop = self.media_stop.child_token();
        let mut hold = self.start_moh(caller_rtp, caller, recorder, stop.clone());
        let mut queue = queue.to_string();
        let outcome = loop {
            tokio::select! {
                event = assigned.recv() => match event.as_deref() {
                    Ok(RoutingEvent::Assigned { conversation: c, agent, .. }) if *c == conversation => {
                        break Ok(Next::Agent(*agent));
                    }
                    Ok(RoutingEvent::Overflowed { conversation: c, overflow, .. }) if *c == conversation => {
                        match overflow {
                            Overflow::Queue { queue: to } => queue = to.clone(),
                            Overflow::Voicemail => break Ok(Next::Left(QueueOverflow::Voicemail)),
                            Overflow::Callback => break Ok(Next::Left(QueueOverflow::Callback)),
                        }
                    }
                    _ => {}
                },
                ev = hold.events.recv() => if ev.is_none() {
                    self.send_bye().await;
                    break Err("media_timeout".to_string());
                },
                input = rx.recv() => {
                    if let Some(cause) = self.connected_input(input).await {
                        break Err(cause);
                    }
                }
            }
        };
        stop.cancel();
        let socket = hold.task.await;
        match (outcome, socket) {
            (Ok(Next::Agent(agent)), Ok(caller_rtp)) => Requeued::Assigned { agent, caller_rtp },
            (Ok(Next::Left(what)), Ok(caller_rtp)) => Requeued::Overflowed {
                what,
                queue,
                since,
                caller_rtp,
            },
            (Ok(_), Err(_)) => Requeued::Ended("media_error".into()),
            (Err(cause), _) => {
                self.routing_input(Input::Cancel { item: conversation })
                    .await;
                Requeued::Ended(cause)
            }
        }
    }
}
