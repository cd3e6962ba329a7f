//! Callbacks: a caller who asked to be called back (from the IVR, or with a
//! voicemail) gets a voice conversation of its own that waits in a queue like
//! a call, keeping the caller's place. When routing assigns it, this actor has
//! `outbound` dial the customer through the trunk and bridge them to the agent.
//! A try that does not reach the customer is noted in the timeline and the
//! callback goes back to its queue after the retry delay, up to the configured
//! number of tries. The state is stored, so a restart picks callbacks up again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::call::{CallCommand, CallContext};
use super::callback_store::{CallbackRecord, CallbackStatus, CallbackStore};
use super::outbound::{self, Dial, DialOutcome};
use crate::db::now_us;
use crate::routing::actor::{RoutingEvent, RoutingService, work_item};
use crate::routing::engine::Input;
use crate::routing::model::Channel;
use crate::timeline::TimelineStore;
use crate::timeline::model::{ConversationStatus, EventPayload, NewConversation, NewEvent};

/// Requests waiting for the actor before callers are told it is busy.
const REQUESTS: usize = 256;
/// A callback that could not go back to its queue is tried again this much later.
const REQUEUE_LATER: Duration = Duration::from_secs(30);

/// A caller's wish to be called back, handed over when their call ends.
#[derive(Debug, Clone)]
pub struct CallbackRequest {
    /// The call's conversation (where the request is noted).
    pub from_conversation: Uuid,
    /// Who called (the From user and host), to find the customer.
    pub caller: String,
    pub caller_host: String,
    pub number: String,
    pub queue: String,
    pub priority: i32,
    /// When the caller joined the queue, to keep their place; `None`: now.
    pub since: Option<Instant>,
}

/// Where calls hand their callback requests; cheap to clone.
#[derive(Clone)]
pub struct CallbackRequests {
    tx: mpsc::Sender<CallbackRequest>,
}

impl CallbackRequests {
    /// The handle and the receiver for `run`.
    pub fn channel() -> (CallbackRequests, mpsc::Receiver<CallbackRequest>) {
        let (tx, rx) = mpsc::channel(REQUESTS);
        (CallbackRequests { tx }, rx)
    }

    /// Hands a request over without waiting; false when it was refused.
    pub fn request(&self, r: CallbackRequest) -> bool {
        match self.tx.try_send(r) {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, "callback request refused");
                false
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    #[error(transparent)]
    Store(#[from] super::callback_store::CallbackStoreError),
    #[error(transparent)]
    Timeline(#[from] crate::timeline::TimelineError),
    #[error(transparent)]
    Routing(#[from] crate::routing::actor::ServiceError),
}

/// What the actor needs.
pub struct Callbacks {
    pub store: CallbackStore,
    pub timeline: TimelineStore,
    pub routing: RoutingService,
    /// The calls' context and the SIP shell's command channel, to place calls.
    pub calls: Arc<CallContext>,
    pub sip: mpsc::Sender<CallCommand>,
}

/// A callback the actor knows about.
struct Pending {
    record: CallbackRecord,
    /// Its place in the queue.
    since: Instant,
    /// For a `retry`: when it goes back to its queue.
    retry_at: Option<Instant>,
    /// The agent of the try in progress.
    agent: Option<Uuid>,
}

/// Runs the actor until `shutdown`.
pub async fn run(
    svc: Callbacks,
    mut requests: mpsc::Receiver<CallbackRequest>,
    shutdown: CancellationToken,
) {
    let mut events = svc.routing.events.subscribe();
    let (done_tx, mut done_rx) = mpsc::channel::<(Uuid, DialOutcome)>(64);
    let mut pending = match restore(&svc).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "stored callbacks not restored");
            HashMap::new()
        }
    };
    loop {
        let next_retry = pending.values().filter_map(|p| p.retry_at).min();
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(r) = requests.recv() => {
                if let Err(e) = open(&svc, &mut pending, r).await {
                    tracing::error!(error = %e, "callback not opened");
                }
            }
            ev = events.recv() => match ev {
                Ok(ev) => assigned(&svc, &mut pending, &ev, &done_tx).await,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(missed = n, "callbacks missed routing events");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            Some((id, outcome)) = done_rx.recv() => {
                if let Err(e) = dialled(&svc, &mut pending, id, outcome).await {
                    tracing::error!(error = %e, "callback try not recorded");
                }
            }
            _ = tokio::time::sleep_until(next_retry.map_or_else(tokio::time::Instant::now, tokio::time::Instant::from_std)), if next_retry.is_some() => {
                requeue_due(&svc, &mut pending).await;
            }
        }
    }
}

/// Unfinished callbacks from the store: waiting ones (and any cut off while
/// dialling) back in their queue at their place, retries on their timer.
async fn restore(svc: &Callbacks) -> Result<HashMap<Uuid, Pending>, CallbackError> {
    let (now, now_wall) = (Instant::now(), now_us());
    let mut out = HashMap::new();
    for mut record in svc.store.unfinished().await? {
        let waited = Duration::from_micros(now_wall.saturating_sub(record.queued_us).max(0) as u64);
        let since = now.checked_sub(waited).unwrap_or(now);
        let retry_at = match (record.status, record.next_us) {
            (CallbackStatus::Retry, Some(next)) => {
                Some(now + Duration::from_micros(next.saturating_sub(now_wall).max(0) as u64))
            }
            _ => None,
        };
        let id = record.conversation;
        if retry_at.is_none() {
            record.status = CallbackStatus::Waiting;
            svc.store
                .update(id, record.status, record.attempts, None)
                .await?;
            enqueue(svc, &record, since).await?;
        }
        out.insert(
            id,
            Pending {
                record,
                since,
                retry_at,
                agent: None,
            },
        );
    }
    if !out.is_empty() {
        tracing::info!(callbacks = out.len(), "unfinished callbacks restored");
    }
    Ok(out)
}

async fn enqueue(svc: &Callbacks, r: &CallbackRecord, since: Instant) -> Result<(), CallbackError> {
    let item = work_item(
        r.conversation,
        r.customer,
        Channel::Voice,
        &r.queue,
        r.priority,
        since,
    );
    svc.routing.apply(Input::Enqueue(item)).await?;
    Ok(())
}

/// Opens the callback's conversation, notes the request, stores it, queues it.
async fn open(
    svc: &Callbacks,
    pending: &mut HashMap<Uuid, Pending>,
    r: CallbackRequest,
) -> Result<(), CallbackError> {
    let customer =
        super::timeline_writer::caller_customer(&svc.timeline, &r.caller, &r.caller_host).await?;
    let conv = svc
        .timeline
        .open_conversation(NewConversation {
            customer_id: customer,
            channel: Channel::Voice,
            queue: Some(r.queue.clone()),
            priority: r.priority,
            subject: Some(format!("callback to {}", r.number)),
            text: None,
        })
        .await?;
    let note = EventPayload::CallbackRequested {
        number: r.number.clone(),
        queue: r.queue.clone(),
        callback: conv.id,
    };
    append(svc, customer, r.from_conversation, note).await;
    let now = Instant::now();
    let since = r.since.filter(|s| *s <= now).unwrap_or(now);
    let record = CallbackRecord {
        conversation: conv.id,
        customer,
        number: r.number,
        queue: r.queue,
        priority: r.priority,
        attempts: 0,
        status: CallbackStatus::Waiting,
        next_us: None,
        queued_us: now_us() - now.duration_since(since).as_micros() as i64,
    };
    svc.store.insert(&record).await?;
    enqueue(svc, &record, since).await?;
    tracing::info!(conversation = %conv.id, queue = %record.queue, "callback waiting");
    pending.insert(
        conv.id,
        Pending {
            record,
            since,
            retry_at: None,
            agent: None,
        },
    );
    Ok(())
}

async fn append(svc: &Callbacks, customer: Uuid, conversation: Uuid, payload: EventPayload) {
    let event = NewEvent {
        conversation_id: Some(conversation),
        payload,
    };
    if let Err(e) = svc.timeline.append(customer, event).await {
        tracing::error!(error = %e, "callback event not written to the timeline");
    }
}

/// An agent took a waiting callback: dial the customer for them.
async fn assigned(
    svc: &Callbacks,
    pending: &mut HashMap<Uuid, Pending>,
    ev: &RoutingEvent,
    done: &mpsc::Sender<(Uuid, DialOutcome)>,
) {
    let RoutingEvent::Assigned {
        conversation,
        agent,
        ..
    } = ev
    else {
        return;
    };
    let Some(p) = pending.get_mut(conversation) else {
        return;
    };
    if p.record.status != CallbackStatus::Waiting {
        return;
    }
    p.record.status = CallbackStatus::Dialing;
    p.agent = Some(*agent);
    if let Err(e) = svc
        .store
        .update(
            *conversation,
            CallbackStatus::Dialing,
            p.record.attempts,
            None,
        )
        .await
    {
        tracing::error!(error = %e, "callback state not stored");
    }
    let dial = Dial {
        conversation: *conversation,
        customer: p.record.customer,
        number: p.record.number.clone(),
        agent: *agent,
        queue: p.record.queue.clone(),
    };
    let (ctx, sip, done) = (svc.calls.clone(), svc.sip.clone(), done.clone());
    tokio::spawn(async move {
        let id = dial.conversation;
        let outcome = outbound::place(ctx, sip, dial).await;
        if done.send((id, outcome)).await.is_err() {
            tracing::warn!(conversation = %id, "callback finished after shutdown");
        }
    });
}

/// A try is over: done when the customer answered, else noted and retried
/// after the delay, or given up after the last try.
async fn dialled(
    svc: &Callbacks,
    pending: &mut HashMap<Uuid, Pending>,
    id: Uuid,
    outcome: DialOutcome,
) -> Result<(), CallbackError> {
    let Some(mut p) = pending.remove(&id) else {
        return Ok(());
    };
    let attempt = p.record.attempts + 1;
    let note = EventPayload::CallbackAttempt {
        attempt,
        number: p.record.number.clone(),
        outcome: outcome.name(),
    };
    append(svc, p.record.customer, id, note).await;
    if let DialOutcome::Answered(_) = outcome {
        svc.store
            .update(id, CallbackStatus::Done, attempt, None)
            .await?;
        return Ok(());
    }
    // Nobody was reached: the agent is free again at once, without wrap-up.
    if let Err(e) = svc.routing.apply(Input::Finish { item: id }).await {
        tracing::debug!(error = %e, "callback item already gone from routing");
    }
    if let Some(agent) = p.agent.take()
        && let Err(e) = svc.routing.apply(Input::EndWrapUp { agent }).await
    {
        tracing::debug!(error = %e, "agent of a callback try already free");
    }
    let trunk = &svc.calls.config.trunk;
    if attempt >= trunk.callback_attempts {
        svc.store
            .update(id, CallbackStatus::Failed, attempt, None)
            .await?;
        svc.timeline
            .set_status(id, ConversationStatus::Abandoned)
            .await?;
        tracing::warn!(conversation = %id, attempt, "callback given up");
        return Ok(());
    }
    let delay = Duration::from_secs(trunk.callback_retry_seconds.into());
    let next_us = now_us() + delay.as_micros() as i64;
    svc.store
        .update(id, CallbackStatus::Retry, attempt, Some(next_us))
        .await?;
    svc.timeline
        .set_status(id, ConversationStatus::Queued)
        .await?;
    p.record.attempts = attempt;
    p.record.status = CallbackStatus::Retry;
    p.retry_at = Some(Instant::now() + delay);
    pending.insert(id, p);
    Ok(())
}

/// Callbacks whose retry time has come go back to their queue, at their place.
async fn requeue_due(svc: &Callbacks, pending: &mut HashMap<Uuid, Pending>) {
    let now = Instant::now();
    for p in pending.values_mut() {
        if p.retry_at.is_none_or(|t| t > now) {
            continue;
        }
        p.retry_at = None;
        p.record.status = CallbackStatus::Waiting;
        let id = p.record.conversation;
        if let Err(e) = svc
            .store
            .update(id, CallbackStatus::Waiting, p.record.attempts, None)
            .await
        {
            tracing::error!(error = %e, "callback state not stored");
        }
        if let Err(e) = enqueue(svc, &p.record, p.since).await {
            tracing::error!(error = %e, conversation = %id, "callback not queued again; trying later");
            p.retry_at = Some(now + REQUEUE_LATER);
        }
    }
}
