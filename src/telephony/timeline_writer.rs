//! Writes call events into the customer timeline from its own task, so a call never
//! waits on the database: calls hand events over a bounded channel with
//! `try_send`, and a full channel drops the event and counts it.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::mpsc;
use uuid::Uuid;

use crate::timeline::identity::IdentityKind;
use crate::timeline::model::{
    Channel, ConversationStatus, EventPayload, Identity, NewConversation, NewCustomer, NewEvent,
};
use crate::timeline::{TimelineError, TimelineStore};

/// Call events waiting to be written, at most.
pub const CAPACITY: usize = 4096;

#[derive(Debug, Clone)]
pub enum CallRecord {
    /// A call arrived: find or create the caller's customer and open a conversation.
    Start {
        call_id: String,
        conversation: Uuid,
        caller: String,
        caller_host: String,
        dialed: String,
    },
    /// The call reached a queue.
    /// A call we placed for a conversation that already exists (a callback).
    Attach {
        call_id: String,
        customer: Uuid,
        conversation: Uuid,
    },
    Queued {
        call_id: String,
        queue: String,
    },
    Event {
        call_id: String,
        payload: EventPayload,
    },
    End {
        call_id: String,
        cause: String,
        duration_ms: i64,
        answered: bool,
    },
}

#[derive(Clone, Debug)]
pub struct TimelineWriter {
    tx: mpsc::Sender<CallRecord>,
    pub dropped: Arc<AtomicU64>,
}

impl TimelineWriter {
    /// Starts the writer task; it ends when every sender is dropped.
    pub fn spawn(store: TimelineStore) -> (TimelineWriter, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(CAPACITY);
        let handle = tokio::spawn(run(store, rx));
        (
            TimelineWriter {
                tx,
                dropped: Arc::new(AtomicU64::new(0)),
            },
            handle,
        )
    }

    /// Hands a record over without waiting; counts it when the writer is behind.
    pub fn send(&self, record: CallRecord) {
        if self.tx.try_send(record).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn run(store: TimelineStore, mut rx: mpsc::Receiver<CallRecord>) {
    let mut calls: HashMap<String, (Uuid, Uuid)> = HashMap::new();
    while let Some(record) = rx.recv().await {
        if let Err(e) = write(&store, &mut calls, record).await {
            tracing::error!(error = %e, "call event not written to the timeline");
        }
    }
}

async fn write(
    store: &TimelineStore,
    calls: &mut HashMap<String, (Uuid, Uuid)>,
    record: CallRecord,
) -> Result<(), TimelineError> {
    match record {
        CallRecord::Start {
            call_id,
            conversation,
            caller,
            caller_host,
            dialed,
        } => {
            let customer = caller_customer(store, &caller, &caller_host).await?;
            let conv = store
                .open_conversation_as(
                    conversation,
                    NewConversation {
                        customer_id: customer,
                        channel: Channel::Voice,
                        queue: None,
                        priority: 0,
                        subject: Some(format!("call to {dialed}")),
                        text: None,
                    },
                )
                .await?;
            store
                .append(
                    customer,
                    NewEvent {
                        conversation_id: Some(conv.id),
                        payload: EventPayload::CallOffered {
                            from: caller,
                            to: dialed,
                        },
                    },
                )
                .await?;
            calls.insert(call_id, (customer, conv.id));
        }
        CallRecord::Attach {
            call_id,
            customer,
            conversation,
        } => {
            let owner = store.owner_of(customer).await?;
            calls.insert(call_id, (owner, conversation));
        }
        CallRecord::Queued { call_id, queue } => {
            if let Some((customer, conv)) = calls.get(&call_id) {
                store.set_queue(*conv, &queue).await?;
                store
                    .append(
                        *customer,
                        NewEvent {
                            conversation_id: Some(*conv),
                            payload: EventPayload::CallQueued { queue },
                        },
                    )
                    .await?;
            }
        }
        CallRecord::Event { call_id, payload } => {
            if let Some((customer, conv)) = calls.get(&call_id) {
                store
                    .append(
                        *customer,
                        NewEvent {
                            conversation_id: Some(*conv),
                            payload,
                        },
                    )
                    .await?;
            }
        }
        CallRecord::End {
            call_id,
            cause,
            duration_ms,
            answered,
        } => {
            if let Some((customer, conv)) = calls.remove(&call_id) {
                store
                    .append(
                        customer,
                        NewEvent {
                            conversation_id: Some(conv),
                            payload: EventPayload::CallEnded { cause, duration_ms },
                        },
                    )
                    .await?;
                let status = if answered {
                    ConversationStatus::Resolved
                } else {
                    ConversationStatus::Abandoned
                };
                store.set_status(conv, status).await?;
            }
        }
    }
    Ok(())
}

/// The customer behind a caller id: by E.164 phone when it is one, otherwise by
/// the SIP address as an external identity; created when unknown.
pub(super) async fn caller_customer(
    store: &TimelineStore,
    caller: &str,
    host: &str,
) -> Result<Uuid, TimelineError> {
    let (kind, value) = match crate::timeline::identity::normalize(IdentityKind::Phone, caller) {
        Ok(phone) => (IdentityKind::Phone, phone),
        Err(_) => (IdentityKind::External, format!("sip:{caller}@{host}")),
    };
    if let Some(c) = store.find_by_identity(kind, &value).await? {
        return Ok(c.merged_into.unwrap_or(c.id));
    }
    let new = NewCustomer {
        name: caller.to_string(),
        identities: vec![Identity {
            kind,
            value: value.clone(),
            verified: false,
        }],
        ..Default::default()
    };
    match store.create_customer(new).await {
        Ok(c) => Ok(c.id),
        // Created meanwhile by another call from the same number.
        Err(TimelineError::Conflict(_)) => store
            .find_by_identity(kind, &value)
            .await?
            .map(|c| c.id)
            .ok_or_else(|| TimelineError::NotFound("caller".into())),
        Err(e) => Err(e),
    }
}
