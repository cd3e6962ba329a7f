//! Placing a new text conversation by the routing rules: what is known as it opens
//! (the customer's tier and language, the first words, the address contacted) goes
//! to the rules in force; the decision gives the queue and priority to open the
//! conversation with, the `routed` timeline event that tells the agent why (stored
//! with the conversation), and the work item with the rule's skills and language.

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::actor::work_item;
use super::model::WorkItem;
use super::rules::{Decision, Facts};
use super::rules_store::RoutingRules;
use crate::timeline::model::{Channel, Conversation, Customer, EventPayload};
use crate::timeline::{TimelineError, TimelineStore};

/// How much of the first message the rules read (a long e-mail's start says
/// what it is about).
const MATCHED_CHARS: usize = 4000;

/// A conversation about to open.
#[derive(Debug, Clone, Copy)]
pub struct Opening<'a> {
    pub customer: &'a Customer,
    pub channel: Channel,
    /// The first message; for an e-mail its subject and text.
    pub text: &'a str,
    /// The addresses contacted (an e-mail's recipients).
    pub to: &'a [String],
}

/// Where the rules put a new conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub decision: Decision,
}

impl RoutingRules {
    /// Applies the rules in force to a conversation opening at `now`.
    pub fn place(&self, o: &Opening<'_>, now: DateTime<Utc>) -> Placement {
        Placement {
            decision: self.decide(&facts_of(o, now)),
        }
    }
}

/// What the rules read of an opening conversation.
fn facts_of<'a>(o: &Opening<'a>, now: DateTime<Utc>) -> Facts<'a> {
    let end = o
        .text
        .char_indices()
        .nth(MATCHED_CHARS)
        .map_or(o.text.len(), |(i, _)| i);
    Facts {
        channel: o.channel,
        text: &o.text[..end],
        to: o.to,
        tier: tier_of(o.customer),
        language: o.customer.language.as_deref().filter(|l| !l.is_empty()),
        now,
    }
}

/// The customer a conversation for `id` belongs to: the survivor of a merge.
pub async fn customer_of(
    timeline: &TimelineStore,
    id: uuid::Uuid,
) -> Result<Customer, TimelineError> {
    let c = timeline.customer(id).await?;
    match c.merged_into {
        Some(survivor) => timeline.customer(survivor).await,
        None => Ok(c),
    }
}

/// The customer's `tier`, or a `tier` attribute when the field is empty.
fn tier_of(c: &Customer) -> Option<&str> {
    c.tier
        .as_deref()
        .filter(|t| !t.is_empty())
        .or_else(|| c.attributes.get("tier").and_then(|t| t.as_str()))
}

impl Placement {
    pub fn queue(&self) -> &str {
        &self.decision.actions.queue
    }

    pub fn priority(&self) -> i32 {
        self.decision.actions.priority
    }

    /// The timeline event recording the decision.
    pub fn event(&self) -> EventPayload {
        let a = &self.decision.actions;
        EventPayload::Routed {
            rule: self.decision.rule_name().to_string(),
            queue: a.queue.clone(),
            priority: a.priority,
            skills: a.skills.clone(),
            language: a.language.clone(),
            because: self.decision.because.clone(),
        }
    }

    /// The routing engine's item for `conv`, opened with this placement.
    pub fn work_item(&self, conv: &Conversation) -> WorkItem {
        let mut item = work_item(
            conv.id,
            conv.customer_id,
            conv.channel,
            self.queue(),
            self.priority(),
            Instant::now(),
        );
        item.skills = self.decision.actions.skills.clone();
        item.language = self.decision.actions.language.clone();
        item
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn customer(tier: Option<&str>, attributes: serde_json::Value) -> Customer {
        serde_json::from_value(serde_json::json!({
            "id": uuid::Uuid::nil(), "name": "Li Lei", "language": "", "tier": tier, "tags": [],
            "attributes": attributes, "identities": [], "merged_into": null,
            "created_at": "2026-11-24T02:00:00Z", "updated_at": "2026-11-24T02:00:00Z"
        }))
        .unwrap()
    }

    #[test]
    fn facts_take_the_tier_field_then_the_attribute_and_the_start_of_long_text() {
        let now = Utc::now();
        let text = "退".repeat(MATCHED_CHARS + 10);
        let vip = customer(None, serde_json::json!({"tier": "vip"}));
        let o = Opening {
            customer: &vip,
            channel: Channel::Email,
            text: &text,
            to: &[],
        };
        let f = facts_of(&o, now);
        assert_eq!(f.tier, Some("vip"));
        assert_eq!(f.language, None, "an empty language is unknown");
        assert_eq!(f.text.chars().count(), MATCHED_CHARS);
        let gold = customer(Some("gold"), serde_json::json!({"tier": "vip"}));
        assert_eq!(
            facts_of(
                &Opening {
                    customer: &gold,
                    ..o
                },
                now
            )
            .tier,
            Some("gold")
        );
        let none = customer(None, serde_json::json!({"tier": 3}));
        assert_eq!(
            facts_of(
                &Opening {
                    customer: &none,
                    ..o
                },
                now
            )
            .tier,
            None
        );
    }
}
