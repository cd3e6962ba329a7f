//! A call in the IVR: the dialplan VM decides, the IVR media task plays, hears
//! keys and finds the caller's utterances, live recognition turns an utterance
//! into words (awaited here, never in the media task), and a `queue` step puts
//! the call into the routing engine with music on hold. The VM's timeline entries
//! go to the timeline writer.

use std::time::Instant;

use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use super::call::CallInput;
use super::ivr_media::{IvrMediaEvent, MediaCommand};
use super::timeline_writer::CallRecord;
use crate::dialplan::vm::{Command, Event, QueueOverflow, TransferTarget, Vm};
use crate::routing::actor::RoutingEvent;
use crate::routing::model::Overflow;
use crate::speech::live::Heard;

/// A lookup step's request, as a task the call owns (aborted when dropped).
pub type LookupFuture =
    tokio_util::task::AbortOnDropHandle<Result<std::collections::BTreeMap<String, String>, String>>;

/// How the IVR part of a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvrOutcome {
    /// The call is over, with this cause.
    Ended(String),
    /// Routing assigned the queued call to this agent.
    Assigned(Uuid),
    /// The dialplan transfers the caller.
    Transfer(TransferTarget, std::time::Duration),
}

pub struct IvrCall<'a> {
    pub call: &'a mut super::call::Call,
    pub conversation: Uuid,
    pub media: mpsc::Sender<MediaCommand>,
    pub queued_in: Option<String>,
    /// Language of the utterance being listened for.
    pub listen_language: Option<String>,
    /// Words being recognised.
    pub hearing: Option<oneshot::Receiver<Heard>>,
    /// A lookup step's HTTP request in flight.
    pub lookup: Option<LookupFuture>,
    /// The caller's language as the dialplan sets it, for live transcription.
    pub language: &'a tokio::sync::watch::Sender<Option<String>>,
    /// When the call joined its queue (a callback keeps that place).
    pub queued_at: Option<Instant>,
    /// A voicemail message being recorded, and the callback it asks for.
    pub voicemail: Option<(super::voicemail::Message, Option<Wish>)>,
    /// The callback the caller asked for, handed over when the call ends.
    pub callback: Option<Wish>,
    /// A transfer the dialplan asked for.
    pub transfer: Option<(TransferTarget, std::time::Duration)>,
}

/// A callback the caller asked for.
#[derive(Debug, Clone)]
pub struct Wish {
    pub number: String,
    pub queue: String,
    pub priority: i32,
    pub since: Option<Instant>,
}

impl IvrCall<'_> {
    /// Runs the dialplan until it hangs up, the call ends, or routing assigns the
    /// queued call to an agent.
    pub async fn run(
        &mut self,
        vm: &mut Vm,
        rx: &mut mpsc::Receiver<CallInput>,
        media_events: &mut mpsc::Receiver<IvrMediaEvent>,
    ) -> IvrOutcome {
        // Keys the caller signals in SIP INFO join the media's stream of keys.
        self.call.ivr_keys = Some(self.media.clone());
        let outcome = self.run_vm(vm, rx, media_events).await;
        self.call.ivr_keys = None;
        outcome
    }

    async fn run_vm(
        &mut self,
        vm: &mut Vm,
        rx: &mut mpsc::Receiver<CallInput>,
        media_events: &mut mpsc::Receiver<IvrMediaEvent>,
    ) -> IvrOutcome {
        let mut routing = self.call.ctx.routing.events.subscribe();
        loop {
            if let Some(cause) = self.apply(vm).await {
                return IvrOutcome::Ended(cause);
            }
            if let Some((to, ring)) = self.transfer.take() {
                return IvrOutcome::Transfer(to, ring);
            }
            self.language.send_if_modified(|l| {
                let changed = l.as_deref() != Some(vm.language());
                if changed {
                    *l = Some(vm.language().to_string());
                }
                changed
            });
            let timer = vm.poll_timeout().map(tokio::time::Instant::from_std);
            tokio::select! {
                ev = media_events.recv() => match ev {
                    Some(IvrMediaEvent::Digit(d)) => vm.handle(Instant::now(), Event::Digit(d)),
                    Some(IvrMediaEvent::PlaybackDone) => vm.handle(Instant::now(), Event::PlaybackDone),
                    Some(IvrMediaEvent::Utterance(samples)) => self.hear(vm, samples),
                    Some(IvrMediaEvent::Timeout) | None => {
                        self.call.send_bye().await;
                        return IvrOutcome::Ended("media_timeout".into());
                    }
                },
                answer = async { self.lookup.as_mut().expect("guarded").await }, if self.lookup.is_some() => {
                    self.lookup = None;
                    let answer = answer.unwrap_or_else(|e| Err(format!("lookup task: {e}")));
                    vm.handle(Instant::now(), Event::LookupDone(answer));
                }
                heard = async { self.hearing.as_mut().expect("guarded").await }, if self.hearing.is_some() => {
                    self.hearing = None;
                    let event = match heard {
                        Ok(Ok(text)) => Event::Heard(text),
                        Ok(Err(e)) => {
                            tracing::error!(error = %e, "utterance not recognised");
                            Event::SpeechUnavailable
                        }
                        Err(_) => Event::SpeechUnavailable,
                    };
                    vm.handle(Instant::now(), event);
                }
                _ = tokio::time::sleep_until(timer.unwrap_or_else(tokio::time::Instant::now)), if timer.is_some() => {
                    vm.handle_timeout(Instant::now());
                }
                input = rx.recv() => {
                    if let Some(cause) = self.call.connected_input(input).await {
                        return IvrOutcome::Ended(cause);
                    }
                }
                event = routing.recv() => match event.as_deref() {
                    Ok(RoutingEvent::Assigned { conversation, agent, .. })
                        if *conversation == self.conversation =>
                    {
                        return IvrOutcome::Assigned(*agent);
                    }
                    Ok(RoutingEvent::Overflowed { conversation, overflow, .. })
                        if *conversation == self.conversation =>
                    {
                        self.overflowed(vm, overflow);
                    }
                    _ => {}
                },
            }
        }
    }

    /// Carries out the VM's commands; returns a cause when the VM hung up.
    async fn apply(&mut self, vm: &mut Vm) -> Option<String> {
        while let Some(cmd) = vm.poll_command() {
            match cmd {
                Command::Play { files, barge_in } => {
                    self.media(MediaCommand::Play { files, barge_in }).await
                }
                Command::StopPlayback => self.media(MediaCommand::Stop).await,
                Command::Lookup { url, body, timeout } => {
                    let task = tokio::spawn(super::lookup::lookup(url, body, timeout));
                    self.lookup = Some(tokio_util::task::AbortOnDropHandle::new(task));
                }
                Command::Listen {
                    timeout,
                    max,
                    language,
                } => {
                    if self.call.ctx.speech.live.is_on() {
                        self.listen_language = Some(language);
                        self.media(MediaCommand::Listen { timeout, max }).await;
                    } else {
                        vm.handle(Instant::now(), Event::SpeechUnavailable);
                    }
                }
                Command::Timeline(payload) => self.call.record(CallRecord::Event {
                    call_id: self.call.call_id(),
                    payload,
                }),
                Command::Enqueue {
                    queue,
                    priority,
                    music,
                } => {
                    self.media(MediaCommand::Loop(music)).await;
                    self.call.record(CallRecord::Queued {
                        call_id: self.call.call_id(),
                        queue: queue.clone(),
                    });
                    let routing = self.call.ctx.routing.clone();
                    if let Err(e) = routing
                        .enqueue_call(self.conversation, &queue, priority)
                        .await
                    {
                        tracing::error!(error = %e, queue, "call not queued; ending it");
                        self.call.send_bye().await;
                        return Some("queue_error".into());
                    }
                    self.queued_in = Some(queue);
                    self.queued_at = Some(Instant::now());
                }
                Command::AskPlace => match self.call.ctx.routing.place(self.conversation).await {
                    Ok(Some(place)) => vm.handle(
                        Instant::now(),
                        Event::QueuePlace {
                            position: place.position,
                            wait_seconds: place.estimated_wait_seconds,
                        },
                    ),
                    Ok(None) => vm.handle(Instant::now(), Event::PlaceUnknown),
                    Err(e) => {
                        tracing::warn!(error = %e, "place in queue unknown; not announced this time");
                        vm.handle(Instant::now(), Event::PlaceUnknown);
                    }
                },
                Command::Music(file) => self.media(MediaCommand::Loop(file)).await,
                Command::Record {
                    number,
                    queue,
                    priority,
                    ..
                } => self.record_message(number, queue, priority).await,
                Command::StopRecording => self.keep_message().await,
                Command::Callback {
                    number,
                    queue,
                    priority,
                } => self.wish(number, queue, priority),
                Command::Transfer { to, ring } => {
                    self.transfer = Some((to, ring));
                    return None;
                }
                Command::Hangup { cause } => {
                    self.call.send_bye().await;
                    return Some(cause);
                }
            }
        }
        None
    }

    /// The queue's overflow moved the call to another queue (it keeps its
    /// place there), or took it out of the line: the VM records a message or
    /// turns the call into a callback.
    fn overflowed(&mut self, vm: &mut Vm, overflow: &Overflow) {
        let what = match overflow {
            Overflow::Queue { queue } => {
                self.queued_in = Some(queue.clone());
                return;
            }
            Overflow::Voicemail => QueueOverflow::Voicemail,
            Overflow::Callback => QueueOverflow::Callback,
        };
        if !vm.queue_overflowed(Instant::now(), what) {
            tracing::debug!(conversation = %self.conversation, "overflow after the call left its queue step");
        }
    }

    /// Hands an utterance to live recognition; silence is heard at once as nothing.
    fn hear(&mut self, vm: &mut Vm, samples: Vec<i16>) {
        if samples.is_empty() {
            vm.handle(Instant::now(), Event::Heard(String::new()));
            return;
        }
        let language = self.listen_language.take();
        match self.call.ctx.speech.live.hear(samples, language.as_deref()) {
            Ok(rx) => self.hearing = Some(rx),
            Err(e) => {
                tracing::warn!(error = %e, "utterance not recognised; the dialplan goes on without it");
                vm.handle(Instant::now(), Event::SpeechUnavailable);
            }
        }
    }

    /// Starts keeping the caller's audio as a voicemail message.
    async fn record_message(&mut self, number: String, queue: Option<String>, priority: i32) {
        self.keep_message().await;
        let path = super::voicemail::path_for(&self.call.ctx.config.data_dir, self.conversation);
        let message = super::voicemail::Message::start(path);
        let tap = super::ivr_media::KeepTap(message.frames.clone());
        self.media(MediaCommand::Keep(Some(tap))).await;
        let wish = queue.map(|queue| Wish {
            number,
            queue,
            priority,
            since: None,
        });
        self.voicemail = Some((message, wish));
    }

    /// Ends the voicemail message being recorded (if any): into the timeline,
    /// transcribed, and its callback wished for.
    pub async fn keep_message(&mut self) {
        let Some((message, wish)) = self.voicemail.take() else {
            return;
        };
        self.media(MediaCommand::Keep(None)).await;
        match message.finish().await {
            Some((path, duration_ms)) => {
                self.call.record(CallRecord::Event {
                    call_id: self.call.call_id(),
                    payload: crate::timeline::model::EventPayload::Voicemail {
                        path: path.display().to_string(),
                        duration_ms,
                    },
                });
                self.call.transcribe_rest(path, None);
            }
            None => tracing::error!(conversation = %self.conversation, "voicemail message lost"),
        }
        if wish.is_some() {
            self.callback = wish;
        }
    }

    /// The caller asked to be called back: in `queue`, or keeping the place of
    /// the queued call.
    fn wish(&mut self, number: String, queue: Option<String>, priority: i32) {
        let (queue, since) = match queue {
            Some(q) => (q, None),
            None => match self.queued_in.clone() {
                Some(q) => (q, self.queued_at),
                None => {
                    tracing::error!("callback kept no place: the call is not queued");
                    return;
                }
            },
        };
        self.callback = Some(Wish {
            number,
            queue,
            priority,
            since,
        });
    }

    async fn media(&self, cmd: MediaCommand) {
        if self.media.send(cmd).await.is_err() {
            tracing::debug!("media task already gone");
        }
    }
}
