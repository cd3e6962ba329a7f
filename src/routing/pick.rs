//! Choosing among the free agents for one item: the customer's sticky agent
//! first, then the queue's strategy (best fit, longest idle, least occupied,
//! round robin; a ring-all queue's text items go to the longest idle), always
//! within the skills the item needs at its relax level.

use std::collections::BTreeSet;
use std::time::Instant;

use uuid::Uuid;

use super::agent::AgentState;
use super::engine::Router;
use super::model::{Channel, Strategy, WorkItem};

impl Router {
    /// The customer's sticky agent, while the item sticks to them and they are
    /// among the `free` agents who can take it.
    pub(super) fn sticky_pick(
        &self,
        item: &WorkItem,
        rejected: &BTreeSet<Uuid>,
        free: &[Uuid],
        now: Instant,
    ) -> Option<Uuid> {
        let pref = item.preferred_agent?;
        let level = self.level_of(item, now);
        let a = self.agents.get(&pref)?;
        (item.sticky_until.is_some_and(|until| now < until)
            && !rejected.contains(&pref)
            && free.contains(&pref)
            && a.can_take(item, level, &self.offer_channels(pref)))
        .then_some(pref)
    }

    /// The best of the `free` agents for `item`: the sticky agent if it can take it,
    /// else the one the queue's strategy prefers.
    pub(super) fn pick_agent(
        &self,
        item: &WorkItem,
        rejected: &BTreeSet<Uuid>,
        free: &[Uuid],
        now: Instant,
    ) -> Option<Uuid> {
        let q = self.queues.get(&item.queue)?;
        let wait = now.saturating_duration_since(item.enqueued_at);
        let level = super::agent::relax_level(q, wait);
        if let Some(pref) = self.sticky_pick(item, rejected, free, now) {
            return Some(pref);
        }
        let able = free
            .iter()
            .filter_map(|id| self.agents.get(id))
            .filter(|a| {
                !rejected.contains(&a.profile.id)
                    && a.can_take(item, level, &self.offer_channels(a.profile.id))
            });
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

/// What decides which agents can take an item.
pub(super) type Need = (
    String,
    Channel,
    Vec<(String, u8)>,
    Option<String>,
    super::agent::Relax,
);

pub(super) fn need_of(item: &WorkItem, level: super::agent::Relax) -> Need {
    let skills = item.skills.iter().map(|(k, v)| (k.clone(), *v)).collect();
    (
        item.queue.clone(),
        item.channel,
        skills,
        item.language.clone(),
        level,
    )
}
