//! Sending agents' e-mail replies: `channels::delivery` takes due outbox rows of
//! e-mail conversations; this writes each as an e-mail to the thread's last sender
//! (`compose`, `thread`) and hands it to the configured SMTP relay. A 4xx or a
//! relay that cannot be reached is worth another try; a 5xx is not.

use std::time::Duration;

use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use uuid::Uuid;

use super::compose::{self, Reply};
use super::thread;
use crate::channels::delivery::{Deliver, Outcome, reply_of};
use crate::config::EmailConfig;
use crate::timeline::outbox::Pending;
use crate::timeline::{TimelineError, TimelineStore};

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("the SMTP relay setting is invalid: {0}")]
    Relay(String),
}

pub struct Sender {
    timeline: TimelineStore,
    config: EmailConfig,
    relay: AsyncSmtpTransport<Tokio1Executor>,
}

impl Deliver for Sender {
    async fn deliver(&self, p: &Pending) -> Outcome {
        match self.build(p).await {
            Ok((message, to)) => match self.relay.send(message).await {
                Ok(_) => Outcome::Sent(format!("to {to}")),
                Err(e) if e.is_permanent() => Outcome::Permanent(e.to_string()),
                Err(e) => Outcome::Temporary(e.to_string()),
            },
            Err(Build::Permanent(why)) => Outcome::Permanent(why),
            Err(Build::Store(e)) => Outcome::Temporary(e.to_string()),
            Err(Build::Outcome(o)) => o,
        }
    }
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

    async fn build(&self, p: &Pending) -> Result<(lettre::Message, String), Build> {
        let r = reply_of(&self.timeline, p).await.map_err(Build::Outcome)?;
        let (conv, customer) = (&r.conversation, &r.customer);
        let (author, text) = (&r.author, &r.text);
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
}

enum Build {
    Permanent(String),
    /// Reading the reply ended the try.
    Outcome(Outcome),
    Store(TimelineError),
}

impl From<TimelineError> for Build {
    fn from(e: TimelineError) -> Self {
        Build::Store(e)
    }
}

/// The same Message-ID on every try of one reply, so a receiver that got a try
/// whose answer we missed can drop the repeat.
fn reply_id(conversation: Uuid, seq: i64, address: &str) -> String {
    let domain = address.rsplit_once('@').map_or("localhost", |(_, d)| d);
    format!("{}.{seq}@{domain}", conversation.simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_keeps_its_id_across_tries() {
        let c = Uuid::nil();
        assert_eq!(
            reply_id(c, 7, "help@example.com"),
            "00000000000000000000000000000000.7@example.com"
        );
    }
}
