//! Posting agents' replies to the platform at `webhook.deliver_url`, signed like
//! inbound requests: `{"conversation", "user", "id", "author", "text"}`. A 2xx
//! is sent; 408, 429, 5xx and an unreachable platform are tried again; any other
//! answer is a refusal.

use serde_json::json;

use super::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use crate::channels::delivery::{Deliver, Outcome, reply_of};
use crate::config::WebhookConfig;
use crate::timeline::TimelineStore;
use crate::timeline::identity::IdentityKind;
use crate::timeline::outbox::Pending;

pub struct Sender {
    timeline: TimelineStore,
    config: WebhookConfig,
    http: reqwest::Client,
}

impl Deliver for Sender {
    async fn deliver(&self, p: &Pending) -> Outcome {
        if self.config.deliver_url.is_empty() {
            return Outcome::Temporary("webhook.deliver_url is not set".into());
        }
        let body = match self.body(p).await {
            Ok(b) => b,
            Err(o) => return o,
        };
        let timestamp = chrono::Utc::now().timestamp().to_string();
        let signature = sign(&self.config.secret, &timestamp, body.as_bytes());
        let sent = self
            .http
            .post(&self.config.deliver_url)
            .header("content-type", "application/json")
            .header(TIMESTAMP_HEADER, &timestamp)
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(r) if r.status().is_success() => {
                Outcome::Sent(format!("to {}", self.config.deliver_url))
            }
            Ok(r) => judge(r.status().as_u16()),
            Err(e) => Outcome::Temporary(format!("platform unreachable: {e}")),
        }
    }
}

/// A non-2xx answer: worth another try, or a refusal.
fn judge(status: u16) -> Outcome {
    let why = format!("the platform answered {status}");
    if status == 408 || status == 429 || status >= 500 {
        Outcome::Temporary(why)
    } else {
        Outcome::Permanent(why)
    }
}

impl Sender {
    pub fn new(timeline: TimelineStore, config: WebhookConfig) -> Sender {
        let http = crate::channels::delivery::http_client();
        Sender {
            timeline,
            config,
            http,
        }
    }

    async fn body(&self, p: &Pending) -> Result<String, Outcome> {
        let r = reply_of(&self.timeline, p).await?;
        let user = r
            .customer
            .identities
            .iter()
            .filter(|i| i.kind == IdentityKind::External)
            .find_map(|i| i.value.strip_prefix("hook:").map(str::to_string))
            .ok_or_else(|| Outcome::Permanent("the customer has no webhook user".into()))?;
        let body = json!({
            "conversation": r.conversation.id, "user": user, "id": p.seq,
            "author": r.author, "text": r.text,
        });
        Ok(body.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_platforms_are_tried_again_refusals_are_not() {
        assert!(matches!(judge(503), Outcome::Temporary(_)));
        assert!(matches!(judge(429), Outcome::Temporary(_)));
        assert!(matches!(judge(408), Outcome::Temporary(_)));
        assert!(matches!(judge(400), Outcome::Permanent(_)));
        assert!(matches!(judge(404), Outcome::Permanent(_)));
    }
}
