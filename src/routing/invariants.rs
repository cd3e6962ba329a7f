//! The routing engine's invariants, checked by the property tests after every
//! input: offers and waiting items agree, only a call rung by ring-all is
//! offered to more than one agent (never twice to one), no agent is over capacity, and no
//! item is both waiting and assigned.

use std::collections::{BTreeMap, BTreeSet};

use super::engine::Router;
use super::model::Channel;

impl Router {
    /// Checks the invariants the property tests rely on; `Err` names the broken one.
    pub fn check_invariants(&self) -> Result<(), String> {
        let mut offered: BTreeMap<uuid::Uuid, BTreeSet<uuid::Uuid>> = BTreeMap::new();
        for (id, o) in &self.offers {
            let w = self
                .waiting
                .get(&o.item)
                .ok_or("offer for an item that is not waiting")?;
            if !w.offers.contains(id) {
                return Err("offer not recorded on its item".into());
            }
            let agents = offered.entry(o.item).or_default();
            if !agents.insert(o.agent) {
                return Err(format!("item {} offered twice to one agent", o.item));
            }
            if agents.len() > 1 && !(w.rang_all && w.item.channel == Channel::Voice) {
                return Err(format!("item {} offered to two agents", o.item));
            }
        }
        for w in self.waiting.values() {
            if w.offers.iter().any(|o| !self.offers.contains_key(o)) {
                return Err(format!("item {} keeps an offer that is gone", w.item.id));
            }
            if !w.visited.contains(&w.item.queue) {
                return Err(format!("item {} not counted in its queue", w.item.id));
            }
        }
        for a in self.agents.values() {
            for ch in [
                Channel::Voice,
                Channel::Chat,
                Channel::Email,
                Channel::Social,
            ] {
                let ringing = self
                    .offers
                    .values()
                    .filter(|o| o.agent == a.profile.id)
                    .filter_map(|o| self.waiting.get(&o.item))
                    .filter(|w| w.item.channel == ch)
                    .count();
                let busy = a.active.iter().filter(|(_, c)| *c == ch).count() + ringing;
                if busy > usize::from(a.profile.capacity.of(ch)) {
                    return Err(format!("agent {} over capacity on {ch:?}", a.profile.name));
                }
            }
            let agrees = a.offered.len()
                == self
                    .offers
                    .values()
                    .filter(|o| o.agent == a.profile.id)
                    .count()
                && a.offered.iter().all(|(o, ch)| {
                    self.offers
                        .get(o)
                        .and_then(|o| self.waiting.get(&o.item))
                        .is_some_and(|w| w.item.channel == *ch)
                });
            if !agrees {
                return Err(format!("agent {}'s offers disagree", a.profile.name));
            }
        }
        if !self.waiting.consistent() {
            return Err("waiting items and their order disagree".into());
        }
        if self.waiting.keys().any(|k| self.assigned.contains_key(k)) {
            return Err("item both waiting and assigned".into());
        }
        Ok(())
    }
}
