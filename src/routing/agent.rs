//! An agent as the router tracks them: profile, chosen presence, items in hand and
//! on offer, wrap-up, and the rules for whether they can take an item now.

use std::time::{Duration, Instant};

use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::model::{AgentProfile, Channel, Presence, QueueConfig, WorkItem};

/// The state shown to supervisors and the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AgentStatus {
    Offline,
    Available,
    Away { reason: String },
    Offered,
    Busy,
    WrapUp,
}

/// How far an item's skill requirements have relaxed with its wait; each
/// level lets at least the agents of the one before take the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Relax {
    /// Every required skill at its minimum proficiency, and the language.
    Exact,
    /// Every required skill at any proficiency.
    AnyProficiency,
    /// Any agent of the queue.
    AnyAgent,
}

pub fn relax_level(q: &QueueConfig, wait: Duration) -> Relax {
    if wait >= Duration::from_secs(u64::from(q.relax_all_seconds)) {
        Relax::AnyAgent
    } else if wait >= Duration::from_secs(u64::from(q.relax_any_proficiency_seconds)) {
        Relax::AnyProficiency
    } else {
        Relax::Exact
    }
}

#[derive(Debug, Clone)]
pub struct AgentState {
    pub profile: AgentProfile,
    pub presence: Presence,
    /// Items in hand.
    pub active: Vec<(Uuid, Channel)>,
    /// Offers waiting for this agent's answer, with their items' channels.
    pub offered: Vec<(Uuid, Channel)>,
    pub wrap_until: Option<Instant>,
    pub last_assigned: Option<Instant>,
    pub missed: u32,
    pub handled: u64,
}

impl AgentState {
    pub fn new(profile: AgentProfile) -> AgentState {
        AgentState {
            profile,
            presence: Presence::Offline,
            active: vec![],
            offered: vec![],
            wrap_until: None,
            last_assigned: None,
            missed: 0,
            handled: 0,
        }
    }

    /// Items in hand plus offers pending on `ch`.
    fn holding(&self, ch: Channel) -> usize {
        self.active.iter().filter(|(_, c)| *c == ch).count()
            + self.offered.iter().filter(|(_, c)| *c == ch).count()
    }

    /// Whether one more item of channel `ch` fits: below its capacity there,
    /// and not text while a call is in hand or ringing if calls block text.
    fn room_on(&self, ch: Channel) -> bool {
        if self.holding(ch) >= usize::from(self.profile.capacity.of(ch)) {
            return false;
        }
        !(ch != Channel::Voice
            && self.profile.capacity.voice_blocks_text
            && self.holding(Channel::Voice) > 0)
    }

    /// The channels (as `channel_bit`s) this agent could be offered one more
    /// item of now; 0 when away, offline or in wrap-up.
    pub fn room_mask(&self) -> u8 {
        if self.presence != Presence::Available || self.wrap_until.is_some() {
            return 0;
        }
        CHANNELS
            .iter()
            .filter(|ch| self.room_on(**ch))
            .fold(0, |m, ch| m | channel_bit(*ch))
    }

    /// Whether this agent may be offered `item` now, counting pending offers
    /// against capacity.
    pub fn can_take(&self, item: &WorkItem, level: Relax) -> bool {
        self.free_for(item)
            && self.profile.queues.contains(&item.queue)
            && self.skilled(item, level)
    }

    /// Available, out of wrap-up and with room on the item's channel: all an
    /// item reserved for this agent asks.
    pub fn free_for(&self, item: &WorkItem) -> bool {
        self.presence == Presence::Available
            && self.wrap_until.is_none()
            && self.room_on(item.channel)
    }

    fn skilled(&self, item: &WorkItem, level: Relax) -> bool {
        let skills = &self.profile.skills;
        match level {
            Relax::AnyAgent => true,
            Relax::AnyProficiency => item.skills.keys().all(|s| skills.contains_key(s)),
            Relax::Exact => {
                let language_ok = match &item.language {
                    Some(l) if !self.profile.languages.is_empty() => {
                        self.profile.languages.iter().any(|x| x == l)
                    }
                    _ => true,
                };
                language_ok
                    && item
                        .skills
                        .iter()
                        .all(|(s, min)| skills.get(s).is_some_and(|p| p >= min))
            }
        }
    }

    /// Sum of the agent's proficiency in the item's skills (best fit first).
    pub fn fit(&self, item: &WorkItem) -> u32 {
        item.skills
            .keys()
            .filter_map(|s| self.profile.skills.get(s))
            .map(|p| u32::from(*p))
            .sum()
    }

    /// When the agent last got work (never = longest idle).
    pub fn idle_since(&self) -> Option<Instant> {
        self.last_assigned
    }

    pub fn status(&self) -> AgentStatus {
        match &self.presence {
            Presence::Offline => AgentStatus::Offline,
            _ if !self.active.is_empty() => AgentStatus::Busy,
            _ if !self.offered.is_empty() => AgentStatus::Offered,
            _ if self.wrap_until.is_some() => AgentStatus::WrapUp,
            Presence::Away { reason } => AgentStatus::Away {
                reason: reason.clone(),
            },
            Presence::Available => AgentStatus::Available,
        }
    }
}

/// Every channel, for per-channel checks.
pub const CHANNELS: [Channel; 4] = [
    Channel::Voice,
    Channel::Chat,
    Channel::Email,
    Channel::Social,
];

/// A channel as one bit of a `room_mask`.
pub fn channel_bit(ch: Channel) -> u8 {
    match ch {
        Channel::Voice => 1,
        Channel::Chat => 2,
        Channel::Email => 4,
        Channel::Social => 8,
    }
}
