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
            }
        })
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
