//! Sending replies that leave through an external channel (e-mail, WeChat): the
//! loop shared by every such channel. A reply is stored with its outbox row in one
//! transaction (`timeline::outbox`); the loop takes due rows of its channel, has
//! the channel's `Deliver` try each, and settles the outcome: sent; tried again
//! later after a doubling wait (at most an hour) while tries remain; or failed.
//! Each outcome is a `delivery` event in the conversation, so the agent sees it
//! beside the reply. Woken by new replies on the event bus, and every few seconds
//! for retries; stops on shutdown.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::db::now_us;
use crate::timeline::model::{Channel, Conversation, Customer, Direction, EventPayload, NewEvent};
use crate::timeline::outbox::Pending;
use crate::timeline::{TimelineError, TimelineStore};

/// How often due retries are looked for when no new reply wakes the loop.
const POLL: Duration = Duration::from_secs(2);
/// How long a sender holds a reply before another may take it.
const LEASE_US: i64 = 120_000_000;
/// Replies taken per round.
const BATCH: i64 = 20;
/// Longest wait between two tries.
const MAX_BACKOFF_SECONDS: u64 = 3600;

/// The outcome of one try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Sent; the detail says where.
    Sent(String),
    /// Not now (the far end is down or busy); worth another try.
    Temporary(String),
    /// Never (a refusal, a customer without an address).
    Permanent(String),
}

/// One channel's way of sending a reply.
pub trait Deliver: Send + Sync + 'static {
    fn deliver(&self, reply: &Pending) -> impl Future<Output = Outcome> + Send;
}

/// The reply an outbox row stands for, with its conversation and customer.
pub struct Reply {
    pub author: String,
    pub text: String,
    pub conversation: Conversation,
    pub customer: Customer,
}

/// Reads a pending reply; a store error is worth another try.
pub async fn reply_of(timeline: &TimelineStore, p: &Pending) -> Result<Reply, Outcome> {
    let temporary = |e: TimelineError| Outcome::Temporary(e.to_string());
    let event = timeline.outbox_event(p.seq).await.map_err(temporary)?;
    let EventPayload::Message { author, text, .. } = event.payload else {
        return Err(Outcome::Permanent("not a message".into()));
    };
    let conversation = timeline
        .conversation(p.conversation_id)
        .await
        .map_err(temporary)?;
    let customer = timeline
        .customer(conversation.customer_id)
        .await
        .map_err(temporary)?;
    Ok(Reply {
        author,
        text,
        conversation,
        customer,
    })
}

/// The HTTP client of senders that post to a platform's API: a try that hangs
/// ends after 10 s and counts as a temporary failure.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap_or_default()
}

/// How often a reply is tried.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub first_seconds: u32,
    pub max_attempts: u32,
}

/// Sends due replies of `channel` through `sender` until `shutdown`.
pub async fn run<D: Deliver>(
    sender: D,
    channel: Channel,
    timeline: TimelineStore,
    retry: Retry,
    shutdown: CancellationToken,
) {
    let mut bus = timeline.bus.subscribe();
    loop {
        if let Err(e) = drain(&sender, channel, &timeline, retry).await {
            tracing::error!(?channel, error = %e, "outbox not read; trying again shortly");
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(POLL) => {}
            event = bus.recv() => {
                if let Ok(e) = event && !is_reply(&e.payload) {
                    continue;
                }
            }
        }
    }
}

async fn drain<D: Deliver>(
    sender: &D,
    channel: Channel,
    timeline: &TimelineStore,
    retry: Retry,
) -> Result<(), TimelineError> {
    for p in timeline.outbox_due(channel, BATCH).await? {
        if timeline.outbox_claim(p.seq, LEASE_US).await? {
            let outcome = sender.deliver(&p).await;
            settle(timeline, &p, outcome, retry).await?;
        }
    }
    Ok(())
}

/// Records a try's outcome in the outbox and the conversation.
async fn settle(
    timeline: &TimelineStore,
    p: &Pending,
    outcome: Outcome,
    retry: Retry,
) -> Result<(), TimelineError> {
    let tries = p.attempts + 1;
    let (status, detail) = match outcome {
        Outcome::Sent(to) => {
            timeline.outbox_sent(p.seq).await?;
            ("sent", to)
        }
        Outcome::Temporary(why) if tries < retry.max_attempts => {
            let wait = backoff(retry.first_seconds, tries);
            let at = now_us() + i64::try_from(wait.as_micros()).unwrap_or(i64::MAX / 2);
            timeline.outbox_retry(p.seq, at, &why).await?;
            tracing::warn!(seq = p.seq, error = %why, retry_in = ?wait, "reply not sent yet");
            ("retrying", why)
        }
        Outcome::Temporary(why) | Outcome::Permanent(why) => {
            timeline.outbox_failed(p.seq, &why).await?;
            tracing::warn!(seq = p.seq, error = %why, tries, "reply failed");
            ("failed", why)
        }
    };
    let conv = timeline.conversation(p.conversation_id).await?;
    timeline
        .append(
            conv.customer_id,
            NewEvent {
                conversation_id: Some(conv.id),
                payload: EventPayload::Delivery {
                    message: p.seq,
                    status: status.into(),
                    detail,
                },
            },
        )
        .await?;
    Ok(())
}

fn is_reply(p: &EventPayload) -> bool {
    matches!(
        p,
        EventPayload::Message {
            direction: Direction::Out,
            ..
        }
    )
}

/// The wait before try `tries + 1`: `first`, doubling, at most an hour.
fn backoff(first_seconds: u32, tries: u32) -> Duration {
    let factor = 1u64 << tries.saturating_sub(1).min(12);
    Duration::from_secs((u64::from(first_seconds) * factor).min(MAX_BACKOFF_SECONDS))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_an_hour() {
        assert_eq!(backoff(60, 1), Duration::from_secs(60));
        assert_eq!(backoff(60, 2), Duration::from_secs(120));
        assert_eq!(backoff(60, 4), Duration::from_secs(480));
        assert_eq!(backoff(60, 30), Duration::from_secs(3600));
    }
}
