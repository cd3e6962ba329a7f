//! A call's way through the server once its dialplan is chosen: answered with
//! IVR media, the dialplan VM runs; a `queue` step hands it to routing; agents
//! serve it (again after transfers or lost legs); when the agent hangs up first
//! and the queue step has a `next`, the caller goes back to the same VM (e.g.
//! for a survey); a `transfer` step connects it elsewhere and, when that side
//! hangs up first or never answers, back to the VM; a callback the caller asked
//! for is handed over when the call ends. The recording and its live
//! transcription span all of it.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};
use uuid::Uuid;

use super::call::{Call, CallInput};
use super::ivr_call::{IvrCall, IvrOutcome};
use super::ivr_media::{self, IvrMediaParams};
use super::recording::{self, Frame};
use super::rtcp_leg::LegRtcp;
use super::timeline_writer::CallRecord;
use super::transfer::{AgentEnd, Back, PutThrough, Requeued, TransferTo};
use crate::dialplan::vm::{QueueOverflow, Vm};
use crate::routing::engine::Input;
use crate::sdp::Negotiated;
use crate::speech::service::{Job, Stretch, SubmitError};

/// The recording of a call: its frames' sender, its writer task, its file.
type Recording = (
    mpsc::Sender<Frame>,
    tokio::task::JoinHandle<Option<recording::Finished>>,
    PathBuf,
);

/// How a stretch in the IVR ended.
enum Phase {
    Ended(String),
    /// Routing assigned the call; here is the caller's RTP socket back.
    Assigned {
        agent: Uuid,
        queue: String,
        caller_rtp: UdpSocket,
    },
    /// The dialplan transfers the caller; here is their RTP socket back.
    Transfer {
        to: crate::dialplan::vm::TransferTarget,
        ring: Duration,
        caller_rtp: UdpSocket,
    },
}

/// How the agents' part of a call ended.
pub(super) enum Served {
    Ended(String),
    /// The agent hung up first; the caller is still there.
    AgentLeft(UdpSocket),
    /// Back in a queue, its overflow took the caller out of the line; they
    /// waited in `queue` since `since`.
    Overflowed {
        what: QueueOverflow,
        queue: String,
        since: Instant,
        caller_rtp: UdpSocket,
    },
}

impl Call {
    /// Answers and runs the dialplan with IVR media; returns the hang-up cause.
    pub(super) async fn run_ivr(
        &mut self,
        plan: Arc<crate::dialplan::Dialplan>,
        caller: &str,
        dialed: &str,
        rx: &mut mpsc::Receiver<CallInput>,
    ) -> String {
        let invite = self.invite.clone();
        let (socket, negotiated) = match self.negotiate(&invite).await {
            Ok(x) => x,
            Err(code) => return format!("rejected_{code}"),
        };
        self.send_ok(&invite, &negotiated).await;
        // The call's language for transcription: the dialplan's, as it changes.
        let (language_tx, language_rx) = watch::channel(None);
        let recording = self.start_recording(language_rx);
        let recorder = recording.as_ref().map(|(tx, _, _)| tx.clone());
        let vars = self.ctx.config.dialplans.variables.clone();
        let mut vm = Vm::with_variables(
            plan,
            caller,
            dialed,
            &vars,
            Instant::now(),
            chrono::Utc::now(),
        );
        let cause = self
            .ivr_and_agents(&mut vm, socket, &negotiated.1, recorder, &language_tx, rx)
            .await;
        self.media_stop.cancel();
        self.finish_recording(recording).await;
        cause
    }

    /// The IVR, then the agents, and back to the IVR as often as the dialplan
    /// says; returns the hang-up cause.
    async fn ivr_and_agents(
        &mut self,
        vm: &mut Vm,
        mut socket: UdpSocket,
        caller: &Negotiated,
        recorder: Option<mpsc::Sender<Frame>>,
        language: &watch::Sender<Option<String>>,
        rx: &mut mpsc::Receiver<CallInput>,
    ) -> String {
        // Where the caller already waits when the IVR resumes after an overflow.
        let mut queued = None;
        loop {
            let phase = self
                .ivr_phase(
                    vm,
                    socket,
                    queued.take(),
                    caller,
                    recorder.clone(),
                    language,
                    rx,
                )
                .await;
            let (agent, queue, caller_rtp) = match phase {
                Phase::Ended(cause) => return cause,
                Phase::Assigned {
                    agent,
                    queue,
                    caller_rtp,
                } => (agent, queue, caller_rtp),
                Phase::Transfer {
                    to,
                    ring,
                    caller_rtp,
                } => {
                    let back = self
                        .transfer_caller(to, ring, caller_rtp, caller, recorder.clone(), rx)
                        .await;
                    match back {
                        Ok((event, caller_rtp)) => {
                            vm.handle(Instant::now(), event);
                            socket = caller_rtp;
                            continue;
                        }
                        Err(cause) => return cause,
                    }
                }
            };
            let may_leave = vm.is_queued();
            let served = self
                .serve_with_agents(
                    agent,
                    may_leave,
                    caller_rtp,
                    queue,
                    caller,
                    recorder.clone(),
                    rx,
                )
                .await;
            // Done with the agent: wrap-up starts (or the item is simply gone).
            self.routing_input(Input::Finish {
                item: self.conversation,
            })
            .await;
            match served {
                Served::Ended(cause) => return cause,
                Served::AgentLeft(caller_rtp) if vm.agent_left(Instant::now()) => {
                    socket = caller_rtp;
                }
                Served::AgentLeft(_) => {
                    self.send_bye().await;
                    return "agent_hangup".into();
                }
                Served::Overflowed {
                    what,
                    queue,
                    since,
                    caller_rtp,
                } if vm.queue_overflowed(Instant::now(), what) => {
                    socket = caller_rtp;
                    queued = Some((queue, since));
                }
                Served::Overflowed { .. } => {
                    self.send_bye().await;
                    return "queue_overflow".into();
                }
            }
        }
    }

    /// One stretch in the IVR with its own media task on the caller's socket,
    /// until the VM hangs up, the call ends, or routing assigns an agent.
    /// `queued`: the queue the caller left by an overflow and since when they
    /// waited there (a callback keeps that place).
    #[allow(clippy::too_many_arguments)]
    async fn ivr_phase(
        &mut self,
        vm: &mut Vm,
        socket: UdpSocket,
        queued: Option<(String, Instant)>,
        caller: &Negotiated,
        recorder: Option<mpsc::Sender<Frame>>,
        language: &watch::Sender<Option<String>>,
        rx: &mut mpsc::Receiver<CallInput>,
    ) -> Phase {
        let params = self.caller_media(caller, recorder);
        let (cmd_tx, cmd_rx) = mpsc::channel(16);
        let (ev_tx, mut ev_rx) = mpsc::channel(64);
        let stop = self.media_stop.child_token();
        let media_task = tokio::spawn(ivr_media::run(
            socket,
            params,
            self.ctx.prompts.clone(),
            cmd_rx,
            ev_tx,
            stop.clone(),
        ));
        let conversation = self.conversation;
        let (queued_in, queued_at) = queued.unzip();
        let mut ivr = IvrCall {
            call: self,
            conversation,
            media: cmd_tx,
            queued_in,
            listen_language: None,
            hearing: None,
            lookup: None,
            language,
            queued_at,
            voicemail: None,
            callback: None,
            transfer: None,
        };
        let outcome = ivr.run(vm, rx, &mut ev_rx).await;
        // A caller who hangs up while leaving a message has left it.
        ivr.keep_message().await;
        let queued_in = ivr.queued_in.take();
        let callback = ivr.callback.take();
        match outcome {
            IvrOutcome::Ended(cause) => {
                if queued_in.is_some() {
                    self.routing_input(Input::Cancel { item: conversation })
                        .await;
                }
                if let Some(wish) = callback {
                    self.ask_callback(wish);
                }
                Phase::Ended(cause)
            }
            IvrOutcome::Assigned(agent) => {
                stop.cancel();
                match media_task.await {
                    Ok(caller_rtp) => Phase::Assigned {
                        agent,
                        queue: queued_in.unwrap_or_default(),
                        caller_rtp,
                    },
                    Err(_) => Phase::Ended("media_error".into()),
                }
            }
            IvrOutcome::Transfer(to, ring) => {
                stop.cancel();
                match media_task.await {
                    Ok(caller_rtp) => Phase::Transfer {
                        to,
                        ring,
                        caller_rtp,
                    },
                    Err(_) => Phase::Ended("media_error".into()),
                }
            }
        }
    }

    /// What an IVR media task on the caller's socket needs: where the caller
    /// is, its codec and keys, the recording and the leg's RTCP statistics.
    pub(super) fn caller_media(
        &self,
        caller: &Negotiated,
        recorder: Option<mpsc::Sender<Frame>>,
    ) -> IvrMediaParams {
        let media = &self.ctx.config.media;
        IvrMediaParams {
            recorder,
            remote: caller.remote,
            payload_type: caller.payload_type,
            dtmf_payload_type: caller.dtmf_payload_type,
            symmetric: media.symmetric_rtp,
            timeout: Duration::from_secs(media.media_timeout_secs),
            quality: self.caller_quality.as_ref().map(LegRtcp::tap),
        }
    }

    pub(super) fn start_recording(
        &self,
        language: watch::Receiver<Option<String>>,
    ) -> Option<Recording> {
        self.ctx.config.media.record_calls.then(|| {
            let path = recording::path_for(&self.ctx.config.data_dir, self.conversation);
            let speech = &self.ctx.speech;
            let live = (speech.is_on() && self.ctx.config.speech.live_transcripts)
                .then(|| recording::LiveTap::new(speech.clone(), self.conversation, language));
            let (tx, task) = recording::start(path.clone(), live);
            (tx, task, path)
        })
    }

    /// Closes the recording, notes it in the timeline, and transcribes what live
    /// transcription did not.
    pub(super) async fn finish_recording(&self, recording: Option<Recording>) {
        let Some((tx, task, path)) = recording else {
            return;
        };
        drop(tx);
        if let Ok(Ok(Some(done))) = tokio::time::timeout(Duration::from_secs(5), task).await {
            let payload = crate::timeline::model::EventPayload::Recording {
                path: path.display().to_string(),
                duration_ms: done.duration_ms,
            };
            self.record(CallRecord::Event {
                call_id: self.call_id(),
                payload,
            });
            self.transcribe_rest(path, done.untranscribed);
        }
    }

    /// Hands the caller's callback request to the callbacks actor.
    fn ask_callback(&self, wish: super::ivr_call::Wish) {
        let from = self.invite.from();
        let request = super::callbacks::CallbackRequest {
            from_conversation: self.conversation,
            caller: from
                .as_ref()
                .and_then(|f| f.uri.user.clone())
                .unwrap_or_else(|| "anonymous".into()),
            caller_host: from.map(|f| f.uri.host).unwrap_or_default(),
            number: wish.number,
            queue: wish.queue,
            priority: wish.priority,
            since: wish.since,
        };
        if !self.ctx.callbacks.request(request) {
            tracing::error!(conversation = %self.conversation, "the caller's callback was not taken");
        }
    }

    /// After the call: the recording, or the parts live transcription missed.
    pub(super) fn transcribe_rest(&self, path: PathBuf, untranscribed: Option<Vec<Stretch>>) {
        if untranscribed.as_ref().is_some_and(Vec::is_empty) {
            return;
        }
        let job = Job::Recording {
            conversation: self.conversation,
            path,
            only: untranscribed,
        };
        match self.ctx.speech.submit(job) {
            Ok(()) | Err(SubmitError::Off) => {}
            Err(e) => tracing::warn!(error = %e, "recording left untranscribed"),
        }
    }

    /// Bridges the call to the assigned agent, and again to the next one each time
    /// an agent transfers it to a queue or is lost. `may_leave`: the dialplan
    /// waits in its queue step, so a queue's voicemail or callback overflow may
    /// take the caller out of the line while they wait again.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn serve_with_agents(
        &mut self,
        mut agent: Uuid,
        may_leave: bool,
        mut sock: UdpSocket,
        mut queue: String,
        caller: &Negotiated,
        recorder: Option<mpsc::Sender<Frame>>,
        rx: &mut mpsc::Receiver<CallInput>,
    ) -> Served {
        loop {
            let end = self
                .bridge_to_agent(agent, sock, caller, recorder.clone(), rx)
                .await;
            let (why, caller_rtp) = match end {
                AgentEnd::Ended(cause) => return Served::Ended(cause),
                AgentEnd::AgentLeft { caller_rtp } => return Served::AgentLeft(caller_rtp),
                AgentEnd::Transfer {
                    to: TransferTo::Queue(to),
                    caller_rtp,
                } => {
                    queue = to;
                    (Back::Transfer, caller_rtp)
                }
                AgentEnd::Transfer {
                    to: TransferTo::Agent { id, name },
                    caller_rtp,
                } => (Back::ToAgent { id, name }, caller_rtp),
                AgentEnd::Lost { reason, caller_rtp } => {
                    self.pause_agent(agent, reason).await;
                    (Back::Lost(reason), caller_rtp)
                }
                AgentEnd::Transfer {
                    to: TransferTo::Number(number),
                    caller_rtp,
                } => {
                    match self
                        .put_through(&number, caller_rtp, caller, recorder.clone(), rx)
                        .await
                    {
                        PutThrough::Over(cause) => return Served::Ended(cause),
                        PutThrough::OtherLeft(caller_rtp) => return Served::AgentLeft(caller_rtp),
                        PutThrough::Failed(caller_rtp) => {
                            (Back::Lost("transfer_failed"), caller_rtp)
                        }
                    }
                }
            };
            match self
                .requeue(
                    why,
                    may_leave,
                    &queue,
                    caller_rtp,
                    caller,
                    recorder.clone(),
                    rx,
                )
                .await
            {
                Requeued::Assigned {
                    agent: next,
                    caller_rtp,
                } => (agent, sock) = (next, caller_rtp),
                Requeued::Ended(cause) => return Served::Ended(cause),
                Requeued::Overflowed {
                    what,
                    queue,
                    since,
                    caller_rtp,
                } => {
                    return Served::Overflowed {
                        what,
                        queue,
                        since,
                        caller_rtp,
                    };
                }
            }
        }
    }

    /// An agent who could not be reached is set away (`unreachable`), so the call
    /// they lost is not offered to them again until they say they are back.
    async fn pause_agent(&self, agent: Uuid, reason: &str) {
        let away = crate::routing::model::Presence::Away {
            reason: "unreachable".into(),
        };
        tracing::warn!(%agent, reason, "agent unreachable; set away and the call re-queued");
        if let Err(e) = self.ctx.routing.store.save_presence(agent, &away).await {
            tracing::error!(error = %e, "away state of an unreachable agent not stored");
        }
        self.routing_input(Input::SetPresence {
            agent,
            presence: away,
        })
        .await;
    }
}
