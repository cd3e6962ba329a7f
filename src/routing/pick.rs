//! Choosing among the free agents for one item: the agent it is reserved for
//! (a transfer by name) or the customer's sticky agent first, then the queue's strategy (best fit, longest idle, least occupied,
//! round robin; a ring-all queue's text items go to the longest idle), always
//! within the skills the item needs at its relax level.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use uuid::Uuid;

use super::agent::{AgentState, Relax};
use super::engine::Router;
use super::model::{Strategy, WorkItem};

impl Router {
    /// The customer's sticky agent, while the item sticks to them and they can
    /// take it.
    pub(super) fn sticky_pick(
        &self,
        item: &WorkItem,
        rejected: &BTreeSet<Uuid>,
        now: Instant,
    ) -> Option<Uuid> {
        let pref = item.preferred_agent?;
        let level = self.level_of(item, now);
        let a = self.agents.get(&pref)?;
        let able = if item.reserved {
            a.free_for(item)
        } else {
            a.can_take(item, level)
        };
        (item.sticky_until.is_some_and(|until| now < until) && !rejected.contains(&pref) && able)
            .then_some(pref)
    }

    /// The best agent for `item` among those who can take it now: the sticky
    /// agent if it can, else the one the queue's strategy prefers.
    pub(super) fn pick_agent(
        &self,
        item: &WorkItem,
        rejected: &BTreeSet<Uuid>,
        now: Instant,
    ) -> Option<Uuid> {
        let q = self.queues.get(&item.queue)?;
        let wait = now.saturating_duration_since(item.enqueued_at);
        let level = super::agent::relax_level(q, wait);
        if let Some(pref) = self.sticky_pick(item, rejected, now) {
            return Some(pref);
        }
        let able = self
            .agents
            .values()
            .filter(|a| a.can_take(item, level) && !rejected.contains(&a.profile.id));
        let idle = |a: &AgentState| std::cmp::Reverse(a.idle_since());
        let id = |a: &AgentState| std::cmp::Reverse(a.profile.id);
        let chosen = match q.strategy {
            Strategy::BestFit => able.max_by_key(|a| (a.fit(item), idle(a), id(a))),
            // A ring-all queue's text items (its calls ring everyone, in
            // `ring_all`) go to the longest idle.
            Strategy::LongestIdle | Strategy::RingAll => able.max_by_key(|a| (idle(a), id(a))),
            Strategy::LeastOccupied => {
                able.max_by_key(|a| (std::cmp::Reverse(a.active.len()), idle(a), id(a)))
            }
            Strategy::RoundRobin => {
                let last = self.last_offered.get(&item.queue).copied();
                // The next id after the last one offered, wrapping around.
                able.min_by_key(|a| (last.is_some_and(|l| a.profile.id <= l), a.profile.id))
            }
        };
        chosen.map(|a| a.profile.id)
    }
}

/// The kinds of item (`Waiting::kind`) that no agent could take at a relax
/// level during one routing pass. Offers only ever take room away, so a kind
/// found unable stays so until the pass ends, and each further item of that
/// kind is skipped without looking at the agents again. Relaxing only widens
/// who can take an item, so unable at one level means unable at every
/// stricter one too.
#[derive(Default)]
pub(super) struct Unable {
    /// Kind → the most relaxed level found unable.
    kinds: HashMap<u32, Relax>,
}

impl Unable {
    pub(super) fn contains(&self, kind: u32, level: Relax) -> bool {
        self.kinds.get(&kind).is_some_and(|l| level <= *l)
    }

    pub(super) fn insert(&mut self, kind: u32, level: Relax) {
        let l = self.kinds.entry(kind).or_insert(level);
        *l = (*l).max(level);
    }
}
