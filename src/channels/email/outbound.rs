//! Sending agents' e-mail replies. A reply is stored with its outbox row in one
//! transaction (`timeline::outbox`); this task takes due rows, writes each as an
//! e-mail to the thread's last sender (`compose`, `thread`) and hands it to the
//! configured SMTP relay. A temporary failure is tried again later, with the wait
//! doubling up to an hour; a permanent refusal or the last try marks the reply
//! failed. Each outcome is a `delivery` event in the conversation, so the agent
//! sees it beside the reply. Woken by new replies on the event bus, and every few
//! seconds for retries; stops on shutdown.

use std::time::Duration;

use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::compose::{self, Reply};
use super::thread;
use crate::config::EmailConfig;
use crate::db::now_us;
use crate::timeline::model::{Channel, Direction, EventPayload, NewEvent};
use crate::timeline::outbox::Pending;
use crate::timeline::{TimelineError, TimelineStore};

/// How often due retries are looked for when no new reply wakes the task.
const POLL: Duration = Duration::from_secs(2);
/// How long a sender holds a reply before another may take it.
const LEASE_US: i64 = 120_000_000;
/// Replies taken per round.
const BATCH: i64 = 20;
/// Longest wait between two tries.
const MAX_BACKOFF_SECONDS: u64 = 3600;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the SMTP relay setting is invalid: {0}")]
    Relay(String),
}

/// The outcome of one try.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Sent(String),
    Temporary(String),
    Permanent(String),
}

pub struct Sender {
    timeline: TimelineStore,
    config: EmailConfig,
    relay: AsyncSmtpTransport<Tokio1Executor>,
}

impl Sender {
    pub fn new(timeline: TimelineStore, config: EmailConfig) -> Result<Sender, SendError> {
        let relay = AsyncSmtpTransport::<Tokio1Executor>::from_url(&config.smtp_relay)
            .map_err(|e| SendError::Relay(e.to_string()))?
            .timeout(Some(Duration::from_secs(30)))
            .build();
        Ok(Sender {
            timeline,
            config,
            relay,
        })
    }

    /// Sends due replies until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut bus = self.timeline.bus.subscribe();
        loop {
            if let Err(e) = self.drain().await {
                tracing::error!(error = %e, "e-mail outbox not read; trying again shortly");
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

    async fn drain(&self) -> Result<(), TimelineError> {
        for p in self.timeline.outbox_due(Channel::Email, BATCH).await? {
            if self.timeline.outbox_claim(p.seq, LEASE_US).await? {
                let outcome = self.attempt(&p).await;
                self.settle(&p, outcome).await?;
            }
        }
        Ok(())
    }

    /// One try at sending a reply.
    async fn attempt(&self, p: &Pending) -> Outcome {
        match self.build(p).await {
            Ok((message, to)) => match self.relay.send(message).await {
                Ok(_) => Outcome::Sent(format!("to {to}")),
                Err(e) if e.is_permanent() => Outcome::Permanent(e.to_string()),
                Err(e) => Outcome::Temporary(e.to_string()),
            },
            Err(Build::Permanent(why)) => Outcome::Permanent(why),
            Err(Build::Store(e)) => Outcome::Temporary(e.to_string()),
        }
    }

    async fn build(&self, p: &Pending) -> Result<(lettre::Message, String), Build> {
        let event = self.timeline.outbox_event(p.seq).await?;
        let EventPayload::Message { author, text, .. } = &event.payload else {
            return Err(Build::Permanent("not a message".into()));
        };
        let conv = self.timeline.conversation(p.conversation_id).await?;
        let customer = self.timeline.customer(conv.customer_id).await?;
        let message_id = reply_id(conv.id, p.seq, &self.config.address);
        let thread =
            thread::reply_to(&self.timeline, conv.id, conv.customer_id, &message_id).await?;
        let Some(to) = thread.address else {
            return Err(Build::Permanent(
                "the customer has no e-mail address".into(),
            ));
        };
        let message = compose::compose(&Reply {
            to: &to,
            to_name: Some(&customer.name),
            from_address: &self.config.address,
            agent: author,
            company: &self.config.from_name,
            subject: conv.subject.as_deref().unwrap_or(""),
            answering: thread.answering.as_deref(),
            thread: &thread.ids,
            message_id: &message_id,
            text,
        })
        .map_err(|e| Build::Permanent(e.to_string()))?;
        thread::remember(&self.timeline, &message_id, conv.id, None).await?;
        Ok((message, to))
    }

    /// Records a try's outcome in the outbox and the conversation.
    async fn settle(&self, p: &Pending, outcome: Outcome) -> Result<(), TimelineError> {
        let tries = p.attempts + 1;
        let (status, detail) = match outcome {
            Outcome::Sent(to) => {
                self.timeline.outbox_sent(p.seq).await?;
                ("sent", to)
            }
            Outcome::Temporary(why) if tries < self.config.max_attempts => {
                let wait = backoff(self.config.retry_seconds, tries);
                let at = now_us() + i64::try_from(wait.as_micros()).unwrap_or(i64::MAX / 2);
                self.timeline.outbox_retry(p.seq, at, &why).await?;
                tracing::warn!(seq = p.seq, error = %why, retry_in = ?wait, "e-mail reply not sent yet");
                ("retrying", why)
            }
            Outcome::Temporary(why) | Outcome::Permanent(why) => {
                self.timeline.outbox_failed(p.seq, &why).await?;
                tracing::warn!(seq = p.seq, error = %why, tries, "e-mail reply failed");
                ("failed", why)
            }
        };
        let conv = self.timeline.conversation(p.conversation_id).await?;
        self.timeline
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
}

enum Build {
    Permanent(String),
    Store(TimelineError),
}

impl From<TimelineError> for Build {
    fn from(e: TimelineError) -> Self {
        Build::Store(e)
    }
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

/// The same Message-ID on every try of one reply, so a receiver that got a try
/// whose answer we missed can drop the repeat.
fn reply_id(conversation: Uuid, seq: i64, address: &str) -> String {
    let domain = address.rsplit_once('@').map_or("localhost", |(_, d)| d);
    format!("{}.{seq}@{domain}", conversation.simple())
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

    #[test]
    fn a_reply_keeps_its_id_across_tries() {
        let c = Uuid::nil();
        assert_eq!(
            reply_id(c, 7, "help@example.com"),
            "00000000000000000000000000000000.7@example.com"
        );
        assert_eq!(
            reply_id(c, 7, "help@example.com"),
            reply_id(c, 7, "help@example.com")
        );
    }
}
