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
        let facts = Facts {
            channel: o.channel,
            text: o.text,
            to: o.to,
            tier: tier_of(o.customer),
            language: o.customer.language.as_deref().filter(|l| !l.is_empty()),
            now,
        };
        Placement {
            decision: self.decide(&facts),
        }
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
