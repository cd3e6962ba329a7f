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

/// How far an item's skill requirements have relaxed with its wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
    /// Offers waiting for this agent's answer.
    pub offered: Vec<Uuid>,
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

    /// Whether this agent may be offered `item` now, counting pending offers
    /// (`offered` lists their channels) against capacity.
    pub fn can_take(&self, item: &WorkItem, level: Relax, offered: &[Channel]) -> bool {
        if self.presence != Presence::Available
            || self.wrap_until.is_some()
            || !self.profile.queues.contains(&item.queue)
        {
            return false;
        }
        let holding = |ch: Channel| {
            self.active.iter().filter(|(_, c)| *c == ch).count()
                + offered.iter().filter(|c| **c == ch).count()
        };
        if holding(item.channel) >= usize::from(self.profile.capacity.of(item.channel)) {
            return false;
        }
        if item.channel != Channel::Voice
            && self.profile.capacity.voice_blocks_text
            && holding(Channel::Voice) > 0
        {
            return false;
        }
        self.skilled(item, level)
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

    pub fn status(&self, offered: &[Channel]) -> AgentStatus {
        match &self.presence {
            Presence::Offline => AgentStatus::Offline,
            _ if !self.active.is_empty() => AgentStatus::Busy,
            _ if !offered.is_empty() => AgentStatus::Offered,
            _ if self.wrap_until.is_some() => AgentStatus::WrapUp,
            Presence::Away { reason } => AgentStatus::Away {
                reason: reason.clone(),
            },
            Presence::Available => AgentStatus::Available,
        }
    }
}
