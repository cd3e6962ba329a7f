//! The routing actor: one task owns the `Router`, takes commands over a bounded
//! channel (with oneshot replies), runs its timers, publishes offers and state
//! changes on a broadcast channel, and hands database updates to a writer task so
//! routing never waits on storage.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;
use uuid::Uuid;

use super::agent::AgentStatus;
use super::engine::{Input, Output, Router, RoutingError, WithdrawReason};
use super::model::{Channel, Overflow, Presence, QueueConfig, WorkItem};
use super::stats::{Place, QueueStats};
use super::store::{RoutingStore, StoreError};
use crate::timeline::TimelineStore;
use crate::timeline::model::{ConversationStatus, EventPayload, NewEvent};

/// What agents' sockets and supervisors hear.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RoutingEvent {
    Offer {
        offer: Uuid,
        agent: Uuid,
        conversation: Uuid,
        customer: Uuid,
        channel: Channel,
        queue: String,
        waited_seconds: u64,
        expires_in_seconds: u64,
    },
    Withdrawn {
        offer: Uuid,
        agent: Uuid,
        conversation: Uuid,
        reason: String,
    },
    Assigned {
        conversation: Uuid,
        agent: Uuid,
        channel: Channel,
    },
    Requeued {
        conversation: Uuid,
    },
    /// The conversation waited its queue's longest wait in `from`: it now
    /// waits in another queue, or the call leaves the line for voicemail or a
    /// callback.
    Overflowed {
        conversation: Uuid,
        from: String,
        overflow: Overflow,
    },
    Abandoned {
        conversation: Uuid,
    },
    AgentStatus {
        agent: Uuid,
        status: AgentStatus,
    },
}

enum Command {
    Apply(Input, oneshot::Sender<Result<(), RoutingError>>),
    Stats(String, oneshot::Sender<Option<QueueStats>>),
    QueueNames(oneshot::Sender<Vec<String>>),
    Offers(Uuid, oneshot::Sender<Vec<RoutingEvent>>),
    Status(Uuid, oneshot::Sender<Option<AgentStatus>>),
    Place(Uuid, oneshot::Sender<Option<Place>>),
    AgentNamed(String, oneshot::Sender<Option<Uuid>>),
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    #[error(transparent)]
    Routing(#[from] RoutingError),
    #[error("the routing service has stopped")]
    Stopped,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A handle to the routing actor; cheap to clone.
#[derive(Clone)]
pub struct RoutingService {
    tx: mpsc::Sender<Command>,
    pub events: broadcast::Sender<Arc<RoutingEvent>>,
    pub store: RoutingStore,
}

/// Queues created on a fresh database so the demo hotline and chat have somewhere to go.
pub const DEFAULT_QUEUES: &[&str] = &["support", "sales", "operator"];

impl RoutingService {
    /// Loads queues, agents and waiting conversations, then starts the actor.
    pub async fn start(
        store: RoutingStore,
        timeline: TimelineStore,
        shutdown: CancellationToken,
    ) -> Result<(RoutingService, tokio::task::JoinHandle<()>), ServiceError> {
        let now = Instant::now();
        let mut router = Router::new();
        let mut queues = store.queues().await?;
        if queues.is_empty() {
            for name in DEFAULT_QUEUES {
                let q = QueueConfig::named(name);
                store.save_queue(&q).await?;
                queues.push(q);
            }
        }
        // Queues may overflow into each other: all of them first, then their overflows.
        for q in &queues {
            let mut bare = q.clone();
            (bare.max_wait_seconds, bare.overflow) = (None, None);
            router.handle(now, Input::UpsertQueue(bare))?;
        }
        for q in queues {
            router.handle(now, Input::UpsertQueue(q))?;
        }
        for a in store.agents().await? {
            router.handle(now, Input::UpsertAgent(a.profile()))?;
            router.handle(
                now,
                Input::SetPresence {
                    agent: a.id,
                    presence: a.presence.clone(),
                },
            )?;
        }
        let stale = store.abandon_stale_calls().await?;
        if stale > 0 {
            tracing::warn!(stale, "calls left over from the last run marked abandoned");
        }
        let now_us = crate::db::now_us();
        for c in store.queued_conversations().await? {
            let waited = Duration::from_micros(now_us.saturating_sub(c.queued_us).max(0) as u64);
            let mut item = work_item(
                c.id,
                c.customer_id,
                c.channel,
                &c.queue,
                c.priority,
                now.checked_sub(waited).unwrap_or(now),
            );
            (item.skills, item.language) = (c.skills, c.language);
            if let Err(e) = router.handle(now, Input::Enqueue(item)) {
                tracing::warn!(conversation = %c.id, error = %e, "queued conversation not restored");
            }
        }
        while router.poll_output().is_some() {}
        let (tx, rx) = mpsc::channel(1024);
        let (events, _) = broadcast::channel(4096);
        let (persist_tx, persist_rx) = mpsc::channel(4096);
        tokio::spawn(persist(store.clone(), timeline, persist_rx));
        let task = tokio::spawn(run(router, rx, events.clone(), persist_tx, shutdown));
        Ok((RoutingService { tx, events, store }, task))
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, ServiceError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| ServiceError::Stopped)?;
        rx.await.map_err(|_| ServiceError::Stopped)
    }

    pub async fn apply(&self, input: Input) -> Result<(), ServiceError> {
        Ok(self.ask(|r| Command::Apply(input, r)).await??)
    }

    pub async fn stats(&self, queue: &str) -> Result<Option<QueueStats>, ServiceError> {
        self.ask(|r| Command::Stats(queue.to_string(), r)).await
    }

    pub async fn queue_names(&self) -> Result<Vec<String>, ServiceError> {
        self.ask(Command::QueueNames).await
    }

    pub async fn offers(&self, agent: Uuid) -> Result<Vec<RoutingEvent>, ServiceError> {
        self.ask(|r| Command::Offers(agent, r)).await
    }

    pub async fn status(&self, agent: Uuid) -> Result<Option<AgentStatus>, ServiceError> {
        self.ask(|r| Command::Status(agent, r)).await
    }

    /// The id of the agent with this name (as routing knows agents).
    pub async fn agent_named(&self, name: &str) -> Result<Option<Uuid>, ServiceError> {
        self.ask(|r| Command::AgentNamed(name.to_string(), r)).await
    }

    /// Where a waiting conversation stands in its queue; `None` once it is not waiting.
    pub async fn place(&self, conversation: Uuid) -> Result<Option<Place>, ServiceError> {
        self.ask(|r| Command::Place(conversation, r)).await
    }

    /// Puts a call whose caller waits on the line in the dialplan's queue step
    /// into its queue now; a voicemail or callback overflow may take it out.
    pub async fn enqueue_call(
        &self,
        conversation: Uuid,
        queue: &str,
        priority: i32,
    ) -> Result<(), ServiceError> {
        let mut item = work_item(
            conversation,
            Uuid::nil(),
            Channel::Voice,
            queue,
            priority,
            Instant::now(),
        );
        item.caller_on_line = true;
        self.apply(Input::Enqueue(item)).await
    }

    /// Puts a conversation in its queue now.
    pub async fn enqueue(
        &self,
        conversation: Uuid,
        customer: Uuid,
        channel: Channel,
        queue: &str,
        priority: i32,
    ) -> Result<(), ServiceError> {
        self.apply(Input::Enqueue(work_item(
            conversation,
            customer,
            channel,
            queue,
            priority,
            Instant::now(),
        )))
        .await
    }
}

pub fn work_item(
    id: Uuid,
    customer: Uuid,
    channel: Channel,
    queue: &str,
    priority: i32,
    at: Instant,
) -> WorkItem {
    WorkItem {
        id,
        channel,
        customer_id: customer,
        queue: queue.to_string(),
        priority,
        skills: Default::default(),
        language: None,
        enqueued_at: at,
        preferred_agent: None,
        sticky_until: None,
        reserved: false,
        caller_on_line: false,
    }
}

/// Why a routing change was not stored.
#[derive(Debug, thiserror::Error)]
enum PersistError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Timeline(#[from] crate::timeline::TimelineError),
}

enum Persist {
    Assigned {
        conversation: Uuid,
        agent: Uuid,
    },
    Requeued {
        conversation: Uuid,
    },
    Overflowed {
        conversation: Uuid,
        from: String,
        action: Overflow,
        waited_seconds: u64,
    },
    Presence {
        agent: Uuid,
        presence: Presence,
    },
}

async fn run(
    mut router: Router,
    mut rx: mpsc::Receiver<Command>,
    events: broadcast::Sender<Arc<RoutingEvent>>,
    persist: mpsc::Sender<Persist>,
    shutdown: CancellationToken,
) {
    loop {
        let timer = router.poll_timeout().map(tokio::time::Instant::from_std);
        tokio::select! {
            _ = shutdown.cancelled() => break,
            cmd = rx.recv() => match cmd {
                Some(cmd) => command(&mut router, cmd),
                None => break,
            },
            _ = tokio::time::sleep_until(timer.unwrap_or_else(tokio::time::Instant::now)), if timer.is_some() => {
                router.handle_timeout(Instant::now());
            }
        }
        publish(&mut router, &events, &persist);
    }
}

fn command(router: &mut Router, cmd: Command) {
    let now = Instant::now();
    match cmd {
        Command::Apply(input, reply) => {
            let _ = reply.send(router.handle(now, input));
        }
        Command::Stats(q, reply) => {
            let _ = reply.send(router.queue_stats(&q, now));
        }
        Command::QueueNames(reply) => {
            let _ = reply.send(router.queues.keys().cloned().collect());
        }
        Command::Offers(agent, reply) => {
            let offers = router
                .offers_for(agent)
                .into_iter()
                .map(|(offer, item, expires)| offer_event(offer, agent, item, expires, now))
                .collect();
            let _ = reply.send(offers);
        }
        Command::Status(agent, reply) => {
            let _ = reply.send(router.agent(agent).map(|(_, s)| s));
        }
        Command::Place(item, reply) => {
            let _ = reply.send(router.place(item));
        }
        Command::AgentNamed(name, reply) => {
            let _ = reply.send(router.agent_named(&name));
        }
    }
}

fn offer_event(
    offer: Uuid,
    agent: Uuid,
    item: &WorkItem,
    expires: Instant,
    now: Instant,
) -> RoutingEvent {
    RoutingEvent::Offer {
        offer,
        agent,
        conversation: item.id,
        customer: item.customer_id,
        channel: item.channel,
        queue: item.queue.clone(),
        waited_seconds: now.saturating_duration_since(item.enqueued_at).as_secs(),
        expires_in_seconds: expires.saturating_duration_since(now).as_secs(),
    }
}

fn publish(
    router: &mut Router,
    events: &broadcast::Sender<Arc<RoutingEvent>>,
    persist: &mpsc::Sender<Persist>,
) {
    let now = Instant::now();
    while let Some(out) = router.poll_output() {
        let (event, job) = match out {
            Output::Offer {
                offer,
                item,
                agent,
                expires_at,
            } => (offer_event(offer, agent, &item, expires_at, now), None),
            Output::Withdrawn {
                offer,
                item,
                agent,
                reason,
            } => {
                let reason = match reason {
                    WithdrawReason::Timeout => "timeout",
                    WithdrawReason::Rejected => "rejected",
                    WithdrawReason::Cancelled => "cancelled",
                    WithdrawReason::AgentGone => "agent_gone",
                    WithdrawReason::TakenByOther => "taken_by_other",
                    WithdrawReason::Overflowed => "overflowed",
                };
                (
                    RoutingEvent::Withdrawn {
                        offer,
                        agent,
                        conversation: item,
                        reason: reason.into(),
                    },
                    None,
                )
            }
            Output::Assigned {
                item,
                agent,
                channel,
            } => (
                RoutingEvent::Assigned {
                    conversation: item,
                    agent,
                    channel,
                },
                Some(Persist::Assigned {
                    conversation: item,
                    agent,
                }),
            ),
            Output::Requeued { item } => (
                RoutingEvent::Requeued { conversation: item },
                Some(Persist::Requeued { conversation: item }),
            ),
            Output::Overflowed {
                item,
                from,
                action,
                waited,
            } => {
                let waited_seconds = waited.as_secs();
                (
                    RoutingEvent::Overflowed {
                        conversation: item,
                        from: from.clone(),
                        overflow: action.clone(),
                    },
                    Some(Persist::Overflowed {
                        conversation: item,
                        from,
                        action,
                        waited_seconds,
                    }),
                )
            }
            Output::Abandoned { item } => (RoutingEvent::Abandoned { conversation: item }, None),
            Output::AgentChanged { agent, status } => {
                let job = match &status {
                    AgentStatus::Away { reason } if reason == "missed" => Some(Persist::Presence {
                        agent,
                        presence: Presence::Away {
                            reason: reason.clone(),
                        },
                    }),
                    _ => None,
                };
                (RoutingEvent::AgentStatus { agent, status }, job)
            }
        };
        let _no_listener_is_fine = events.send(Arc::new(event));
        if let Some(job) = job
            && persist.try_send(job).is_err()
        {
            tracing::error!("routing writer is behind; a routing change was not stored");
        }
    }
}

async fn persist(store: RoutingStore, timeline: TimelineStore, mut rx: mpsc::Receiver<Persist>) {
    while let Some(job) = rx.recv().await {
        let result = match job {
            Persist::Assigned {
                conversation,
                agent,
            } => match store.set_assignee(conversation, Some(agent)).await {
                Ok(()) => timeline
                    .set_status(conversation, ConversationStatus::Assigned)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            },
            Persist::Requeued { conversation } => {
                match store.set_assignee(conversation, None).await {
                    Ok(()) => timeline
                        .set_status(conversation, ConversationStatus::Queued)
                        .await
                        .map(|_| ())
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                }
            }
            Persist::Overflowed {
                conversation,
                from,
                action,
                waited_seconds,
            } => overflowed(
                &store,
                &timeline,
                conversation,
                from,
                action,
                waited_seconds,
            )
            .await
            .map_err(|e| e.to_string()),
            Persist::Presence { agent, presence } => store
                .save_presence(agent, &presence)
                .await
                .map_err(|e| e.to_string()),
        };
        if let Err(e) = result {
            tracing::error!(error = %e, "routing change not stored");
        }
    }
}

/// Stores an overflow: the conversation's new queue (its queued time kept) and
/// an `overflowed` event in its timeline. A call that leaves the line keeps
/// its queue; the call shell records what follows.
async fn overflowed(
    store: &RoutingStore,
    timeline: &TimelineStore,
    conversation: Uuid,
    from: String,
    action: Overflow,
    waited_seconds: u64,
) -> Result<(), PersistError> {
    let to = match &action {
        Overflow::Queue { queue } => {
            store.move_queue(conversation, queue).await?;
            Some(queue.clone())
        }
        Overflow::Voicemail | Overflow::Callback => None,
    };
    let conv = timeline.conversation(conversation).await?;
    let payload = EventPayload::Overflowed {
        from,
        action: action.action().into(),
        to,
        waited_seconds,
    };
    timeline
        .append(
            conv.customer_id,
            NewEvent {
                conversation_id: Some(conversation),
                payload,
            },
        )
        .await?;
    Ok(())
}
