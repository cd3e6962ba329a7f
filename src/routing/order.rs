//! The waiting items and the order they are served in. Priority with aging: a
//! priority step is worth 60 s of waiting, so an item's rank is its enqueue time
//! moved 60 s earlier per priority step, and the lowest rank is served first
//! (ties: earlier enqueue time, then id). Every item ages at the same pace, so
//! the order never changes with the clock and is kept sorted as items come and
//! go instead of being sorted on every routing pass.
//!
//! Each waiting item also carries its kind: a small number standing for what
//! decides which agents can take it (queue, channel, skills, language), so a
//! routing pass can tell items of one kind apart cheaply.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::engine::Waiting;
use super::model::{Channel, WorkItem};

/// What decides which agents can take an item, besides its relax level.
type KindKey = (
    String,
    Channel,
    std::collections::BTreeMap<String, u8>,
    Option<String>,
);

/// Seconds of waiting one priority step is worth.
pub const PRIORITY_STEP_SECONDS: u64 = 60;

/// Where an item stands in the serving order; lower is served first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rank {
    enqueued_at: Instant,
    priority: i32,
    id: Uuid,
}

impl Rank {
    pub fn of(item: &WorkItem) -> Rank {
        Rank {
            enqueued_at: item.enqueued_at,
            priority: item.priority,
            id: item.id,
        }
    }

    /// `self.enqueued_at - step × self.priority` against the same of `other`,
    /// computed without leaving `Instant`'s range: the priority difference is
    /// added to whichever side keeps the offset positive.
    fn cmp_aged(&self, other: &Rank) -> Ordering {
        let diff = i64::from(self.priority) - i64::from(other.priority);
        let shift = Duration::from_secs(diff.unsigned_abs() * PRIORITY_STEP_SECONDS);
        if diff >= 0 {
            // self = e1 - s·p1 vs other = e2 - s·p2  ⇔  e1 vs e2 + s·(p1 - p2)
            match other.enqueued_at.checked_add(shift) {
                Some(o) => self.enqueued_at.cmp(&o),
                None => Ordering::Less,
            }
        } else {
            match self.enqueued_at.checked_add(shift) {
                Some(s) => s.cmp(&other.enqueued_at),
                None => Ordering::Greater,
            }
        }
    }
}

impl Ord for Rank {
    fn cmp(&self, other: &Rank) -> Ordering {
        self.cmp_aged(other)
            .then(self.enqueued_at.cmp(&other.enqueued_at))
            .then(self.id.cmp(&other.id))
    }
}

impl PartialOrd for Rank {
    fn partial_cmp(&self, other: &Rank) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The waiting items by id, and their ids in serving order. An item's rank and
/// kind are taken when it is inserted; its priority, enqueue time, channel,
/// skills and language must not change while it waits, and its queue changes
/// only through `move_to_queue`.
#[derive(Debug, Default)]
pub struct WaitingSet {
    items: HashMap<Uuid, Waiting>,
    order: BTreeSet<Rank>,
    /// The kinds of the waiting items, numbered; forgotten whenever no item waits.
    kinds: HashMap<KindKey, u32>,
}

impl WaitingSet {
    pub fn insert(&mut self, id: Uuid, mut w: Waiting) {
        let rank = Rank::of(&w.item);
        w.kind = self.kind_of(&w.item);
        if let Some(old) = self.items.insert(id, w) {
            self.order.remove(&Rank::of(&old.item));
        }
        self.order.insert(rank);
    }

    pub fn remove(&mut self, id: &Uuid) -> Option<Waiting> {
        let w = self.items.remove(id)?;
        self.order.remove(&Rank::of(&w.item));
        if self.items.is_empty() {
            self.kinds.clear();
        }
        Some(w)
    }

    /// Moves a waiting item to another queue (an overflow), which changes its kind.
    pub fn move_to_queue(&mut self, id: &Uuid, queue: &str) {
        let Some(mut item) = self.items.get(id).map(|w| w.item.clone()) else {
            return;
        };
        item.queue = queue.to_string();
        let kind = self.kind_of(&item);
        if let Some(w) = self.items.get_mut(id) {
            w.item.queue = item.queue;
            w.kind = kind;
        }
    }

    fn kind_of(&mut self, item: &WorkItem) -> u32 {
        let key = (
            item.queue.clone(),
            item.channel,
            item.skills.clone(),
            item.language.clone(),
        );
        let next = self.kinds.len() as u32;
        *self.kinds.entry(key).or_insert(next)
    }

    pub fn get(&self, id: &Uuid) -> Option<&Waiting> {
        self.items.get(id)
    }

    pub fn get_mut(&mut self, id: &Uuid) -> Option<&mut Waiting> {
        self.items.get_mut(id)
    }

    pub fn contains_key(&self, id: &Uuid) -> bool {
        self.items.contains_key(id)
    }

    pub fn values(&self) -> impl Iterator<Item = &Waiting> {
        self.items.values()
    }

    pub fn keys(&self) -> impl Iterator<Item = &Uuid> {
        self.items.keys()
    }

    /// The waiting items, first served first.
    pub fn in_order(&self) -> impl Iterator<Item = &Waiting> {
        self.order.iter().filter_map(|r| self.items.get(&r.id))
    }

    /// Whether the set, its order and the items' kinds agree (for the invariants).
    pub fn consistent(&self) -> bool {
        let kind_ok = |w: &Waiting| {
            let key = (
                w.item.queue.clone(),
                w.item.channel,
                w.item.skills.clone(),
                w.item.language.clone(),
            );
            self.kinds.get(&key) == Some(&w.kind)
        };
        self.order.len() == self.items.len()
            && self.order.iter().all(|r| {
                self.items
                    .get(&r.id)
                    .is_some_and(|w| Rank::of(&w.item) == *r)
            })
            && self.items.values().all(kind_ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn item(n: u128, at: Instant, priority: i32) -> WorkItem {
        WorkItem {
            id: Uuid::from_u128(n),
            channel: Channel::Chat,
            customer_id: Uuid::from_u128(n),
            queue: "q".into(),
            priority,
            skills: BTreeMap::new(),
            language: None,
            enqueued_at: at,
            preferred_agent: None,
            sticky_until: None,
            reserved: false,
            caller_on_line: false,
        }
    }

    #[test]
    fn a_priority_step_is_worth_a_minute_of_waiting() {
        let t0 = Instant::now();
        let s = |n| Duration::from_secs(n);
        let old = Rank::of(&item(1, t0, 0));
        assert!(
            Rank::of(&item(2, t0 + s(59), 1)) < old,
            "59 s later, one step up"
        );
        assert!(
            Rank::of(&item(3, t0 + s(61), 1)) > old,
            "61 s later, one step up"
        );
        assert!(
            Rank::of(&item(4, t0 + s(60), 1)) > old,
            "a tie goes to the older"
        );
        assert!(Rank::of(&item(5, t0, -100)) > Rank::of(&item(6, t0 + s(600), 0)));
        assert!(Rank::of(&item(7, t0, i32::MAX)) < Rank::of(&item(8, t0, i32::MIN)));
    }

    #[test]
    fn the_set_keeps_its_order_as_items_come_and_go() {
        let t0 = Instant::now();
        let mut set = WaitingSet::default();
        for (n, secs, p) in [(1, 0, 0), (2, 10, 1), (3, 5, 0), (4, 200, 2)] {
            let it = item(n, t0 + Duration::from_secs(secs), p);
            set.insert(it.id, Waiting::new(it, t0));
        }
        let ids = |set: &WaitingSet| {
            set.in_order()
                .map(|w| w.item.id.as_u128())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&set), vec![2, 1, 3, 4]);
        set.remove(&Uuid::from_u128(1));
        assert_eq!(ids(&set), vec![2, 3, 4]);
        let kind = |set: &WaitingSet, n| set.get(&Uuid::from_u128(n)).unwrap().kind;
        assert_eq!(kind(&set, 2), kind(&set, 3), "one kind");
        set.move_to_queue(&Uuid::from_u128(3), "other");
        assert_ne!(kind(&set, 2), kind(&set, 3));
        assert_eq!(set.get(&Uuid::from_u128(3)).unwrap().item.queue, "other");
        assert!(set.consistent());
    }
}
