//! Ring-all for calls: a waiting call of a `ring_all` queue is offered to every
//! eligible free agent at once, each offer counting against that agent's
//! capacity. The first accept takes the call and the engine withdraws the other
//! offers (`TakenByOther`); a reject or a miss ends only that agent's offer;
//! when every offer has ended the call is offered again as usual. Text items
//! of such a queue go to the longest idle agent.

use std::collections::BTreeSet;
use std::time::Instant;

use uuid::Uuid;

use super::engine::Router;
use super::model::{Channel, Strategy, WorkItem};

impl Router {
    /// Whether `item` rings every eligible agent at once.
    pub(super) fn rings_all(&self, item: &WorkItem) -> bool {
        item.channel == Channel::Voice
            && self
                .queues
                .get(&item.queue)
                .is_some_and(|q| q.strategy == Strategy::RingAll)
    }

    /// Offers the waiting call `id` to every agent who can take it and has not
    /// just passed it by (only to the customer's sticky agent while that one
    /// can take it); returns the agents rung.
    pub(super) fn ring_all(
        &mut self,
        now: Instant,
        id: Uuid,
        passed: &BTreeSet<Uuid>,
    ) -> Vec<Uuid> {
        let Some(item) = self.waiting.get(&id).map(|w| w.item.clone()) else {
            return vec![];
        };
        // The customer's sticky agent alone, while they can take it.
        if let Some(pref) = self.sticky_pick(&item, passed, now) {
            self.make_offer(now, id, pref);
            return vec![pref];
        }
        let level = self.level_of(&item, now);
        let mut able: Vec<Uuid> = self
            .agents
            .values()
            .filter(|a| a.can_take(&item, level) && !passed.contains(&a.profile.id))
            .map(|a| a.profile.id)
            .collect();
        able.sort();
        for agent in &able {
            self.make_offer(now, id, *agent);
        }
        if let Some(w) = self.waiting.get_mut(&id) {
            w.rang_all |= !able.is_empty();
        }
        able
    }
}

#[cfg(test)]
#[path = "ring_all_tests.rs"]
mod tests;
