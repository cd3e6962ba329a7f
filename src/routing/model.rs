//! The routing model: work items (a call, a chat, an e-mail), queues with their
//! service targets, and agents with skills, languages, per-channel capacity and
//! state.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

pub use crate::timeline::model::Channel;

/// Something to route: one conversation waiting for an agent.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkItem {
    pub id: Uuid,
    pub channel: Channel,
    pub customer_id: Uuid,
    pub queue: String,
    pub priority: i32,
    /// Skill name → minimum proficiency (1–5).
    pub skills: BTreeMap<String, u8>,
    pub language: Option<String>,
    pub enqueued_at: Instant,
    /// The customer's last agent, preferred until `sticky_until`.
    pub preferred_agent: Option<Uuid>,
    pub sticky_until: Option<Instant>,
    /// Until `sticky_until`, offered to `preferred_agent` alone, whatever their
    /// queues and skills (a call an agent transferred to them by name); nobody
    /// else gets it before then unless that agent passes it by.
    pub reserved: bool,
    /// A caller is on the line in the dialplan's queue step, so a voicemail or
    /// callback overflow can take them out of the queue. False for text, for
    /// callbacks, and for calls an agent sent back to a queue (nothing would
    /// act on it): those wait on in the queue instead.
    pub caller_on_line: bool,
}

/// How a queue chooses among the agents free to take an item (after the
/// customer's sticky agent, and always within the skill requirements).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Highest proficiency in the required skills, then longest idle.
    #[default]
    BestFit,
    /// Longest idle since the last assignment.
    LongestIdle,
    /// Fewest items in hand (chat load balancing), then longest idle.
    LeastOccupied,
    /// Each agent in turn (by id), starting after the last one offered.
    RoundRobin,
    /// Calls ring every eligible free agent at once; the first to accept takes
    /// the call and the other offers are withdrawn. Text items go to the
    /// longest idle agent.
    RingAll,
}

/// Where an item goes once it has waited `max_wait_seconds` in a queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Overflow {
    /// To another queue, keeping the original enqueue time (its place). An item
    /// never overflows into a queue it already waited in, so cycles end.
    Queue { queue: String },
    /// Calls leave the line and the caller leaves a voicemail message; text
    /// items stay in the queue.
    Voicemail,
    /// Calls leave the line and wait as a callback keeping their place; text
    /// items stay in the queue.
    Callback,
}

impl Overflow {
    /// The name used in events and the timeline.
    pub fn action(&self) -> &'static str {
        match self {
            Overflow::Queue { .. } => "queue",
            Overflow::Voicemail => "voicemail",
            Overflow::Callback => "callback",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueConfig {
    pub name: String,
    #[serde(default)]
    pub strategy: Strategy,
    /// Target: this share of items answered within `sl_seconds`.
    #[serde(default = "default_sl_percent")]
    pub sl_percent: u8,
    #[serde(default = "default_sl_seconds")]
    pub sl_seconds: u32,
    /// How long an offer rings before it goes to the next agent.
    #[serde(default = "default_offer_seconds")]
    pub offer_seconds: u32,
    /// Wrap-up time after an item is finished.
    #[serde(default = "default_wrap_up_seconds")]
    pub wrap_up_seconds: u32,
    /// Required skills relax to any proficiency after this wait, and to any agent
    /// of the queue after `relax_all_seconds`.
    #[serde(default = "default_relax_any")]
    pub relax_any_proficiency_seconds: u32,
    #[serde(default = "default_relax_all")]
    pub relax_all_seconds: u32,
    /// Record calls of this queue.
    #[serde(default = "default_true")]
    pub recording: bool,
    /// Longest wait in this queue before `overflow`; none: wait for ever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_wait_seconds: Option<u32>,
    /// What happens to an item past `max_wait_seconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overflow: Option<Overflow>,
}

/// Why a queue's settings cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueueConfigError {
    #[error("name must be 1 to 64 characters")]
    Name,
    #[error("sl_percent must be at most 100")]
    SlPercent,
    #[error("offer_seconds must be positive")]
    OfferSeconds,
    #[error("max_wait_seconds must be positive")]
    MaxWait,
    #[error("max_wait_seconds and overflow go together: give both or neither")]
    OverflowPair,
    #[error("overflow.queue: a queue cannot overflow into itself")]
    OverflowToSelf,
    #[error("overflow.queue: unknown queue `{0}`")]
    OverflowUnknown(String),
}

fn default_sl_percent() -> u8 {
    80
}
fn default_sl_seconds() -> u32 {
    20
}
fn default_offer_seconds() -> u32 {
    20
}
fn default_wrap_up_seconds() -> u32 {
    30
}
fn default_relax_any() -> u32 {
    30
}
fn default_relax_all() -> u32 {
    90
}
fn default_true() -> bool {
    true
}

impl QueueConfig {
    pub fn named(name: &str) -> QueueConfig {
        serde_json::from_value(serde_json::json!({ "name": name })).unwrap_or_else(|_| {
            QueueConfig {
                name: name.into(),
                strategy: Strategy::BestFit,
                sl_percent: 80,
                sl_seconds: 20,
                offer_seconds: 20,
                wrap_up_seconds: 30,
                relax_any_proficiency_seconds: 30,
                relax_all_seconds: 90,
                recording: true,
                max_wait_seconds: None,
                overflow: None,
            }
        })
    }

    /// Checks the settings on their own and the overflow target against the
    /// queues that exist (`known`).
    pub fn validate(&self, known: &[String]) -> Result<(), QueueConfigError> {
        if self.name.trim().is_empty() || self.name.len() > 64 {
            return Err(QueueConfigError::Name);
        }
        if self.sl_percent > 100 {
            return Err(QueueConfigError::SlPercent);
        }
        if self.offer_seconds == 0 {
            return Err(QueueConfigError::OfferSeconds);
        }
        match (self.max_wait_seconds, &self.overflow) {
            (Some(0), _) => return Err(QueueConfigError::MaxWait),
            (Some(_), None) | (None, Some(_)) => return Err(QueueConfigError::OverflowPair),
            _ => {}
        }
        if let Some(Overflow::Queue { queue }) = &self.overflow {
            if *queue == self.name {
                return Err(QueueConfigError::OverflowToSelf);
            }
            if !known.contains(queue) {
                return Err(QueueConfigError::OverflowUnknown(queue.clone()));
            }
        }
        Ok(())
    }

    /// How long an item waits here before its overflow, if it has one.
    pub fn max_wait(&self) -> Option<Duration> {
        self.overflow.as_ref()?;
        self.max_wait_seconds
            .map(|s| Duration::from_secs(u64::from(s)))
    }

    pub fn offer_timeout(&self) -> Duration {
        Duration::from_secs(u64::from(self.offer_seconds))
    }
}

/// How many items of each kind an agent takes at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    #[serde(default = "one")]
    pub voice: u8,
    #[serde(default = "three")]
    pub chat: u8,
    #[serde(default = "three")]
    pub email: u8,
    #[serde(default = "three")]
    pub social: u8,
    /// A call in progress blocks new text items.
    #[serde(default = "default_true")]
    pub voice_blocks_text: bool,
}

fn one() -> u8 {
    1
}
fn three() -> u8 {
    3
}

impl Default for Capacity {
    fn default() -> Self {
        Capacity {
            voice: 1,
            chat: 3,
            email: 3,
            social: 3,
            voice_blocks_text: true,
        }
    }
}

impl Capacity {
    pub fn of(&self, channel: Channel) -> u8 {
        match channel {
            Channel::Voice => self.voice,
            Channel::Chat => self.chat,
            Channel::Email => self.email,
            Channel::Social => self.social,
        }
    }
}

/// What an agent chose to be; `offered`/`busy` are derived from their items.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "state", rename_all = "snake_case", deny_unknown_fields)]
pub enum Presence {
    Offline,
    Available,
    Away {
        #[serde(default)]
        reason: String,
    },
}

/// An agent's profile as the router sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentProfile {
    pub id: Uuid,
    pub name: String,
    pub skills: BTreeMap<String, u8>,
    pub languages: Vec<String>,
    pub queues: Vec<String>,
    pub capacity: Capacity,
}
