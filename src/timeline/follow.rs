//! Following one customer's or one conversation's events. A socket that shows a
//! single chat (a visitor's widget, an agent's chat pane) registers the
//! customer and/or the conversation it follows and receives their events only,
//! each once even when it matches both. Publishing looks the event's customer
//! and conversation up in a map, so an event costs work for its own followers
//! only, where the bus's broadcast wakes every subscriber for every event: with
//! a thousand chat sockets open, each message woke two thousand tasks.
//!
//! Each follower has a bounded queue. When it is full the event is dropped for
//! that follower and counted; the follower's next `recv` reports how many it
//! missed (as a broadcast receiver reports that it lagged), and it re-reads
//! what it shows from the store.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use uuid::Uuid;

use super::model::TimelineEvent;

/// Events a follower may have waiting before it misses some.
pub const FOLLOWER_QUEUE: usize = 256;

/// What a follower follows: events of this customer's timeline, or of this conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Customer(Uuid),
    Conversation(Uuid),
}

/// Events were dropped because the follower's queue was full; how many.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Missed(pub u64);

struct Entry {
    tx: mpsc::Sender<Arc<TimelineEvent>>,
    missed: Arc<AtomicU64>,
    keys: Vec<Key>,
}

#[derive(Default)]
struct Registry {
    next: u64,
    followers: HashMap<u64, Entry>,
    by_key: HashMap<Key, Vec<u64>>,
}

impl Registry {
    fn unlink(&mut self, id: u64, keys: &[Key]) {
        for key in keys {
            if let Some(ids) = self.by_key.get_mut(key) {
                ids.retain(|i| *i != id);
                if ids.is_empty() {
                    self.by_key.remove(key);
                }
            }
        }
    }
}

/// The followers of the bus. A std mutex: held only for map updates and
/// `try_send`s, never across an await.
#[derive(Clone, Default)]
pub struct Followers(Arc<Mutex<Registry>>);

impl std::fmt::Debug for Followers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Followers")
    }
}

impl Followers {
    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        // Every update leaves the maps consistent: a panic elsewhere cannot break them.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A follower of nothing yet; `Follower::follow` says what it follows.
    pub fn add(&self) -> Follower {
        let (tx, rx) = mpsc::channel(FOLLOWER_QUEUE);
        let missed = Arc::new(AtomicU64::new(0));
        let mut r = self.registry();
        r.next += 1;
        let id = r.next;
        let entry = Entry {
            tx,
            missed: missed.clone(),
            keys: Vec::new(),
        };
        r.followers.insert(id, entry);
        Follower {
            id,
            rx,
            missed,
            keys: Vec::new(),
            followers: self.clone(),
        }
    }

    /// Hands a committed event to the followers of its customer or conversation.
    pub fn publish(&self, e: &Arc<TimelineEvent>) {
        let r = self.registry();
        if r.by_key.is_empty() {
            return;
        }
        let mut ids: Vec<u64> = [
            Some(Key::Customer(e.customer_id)),
            e.conversation_id.map(Key::Conversation),
        ]
        .into_iter()
        .flatten()
        .filter_map(|k| r.by_key.get(&k))
        .flatten()
        .copied()
        .collect();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            if let Some(f) = r.followers.get(&id)
                && f.tx.try_send(e.clone()).is_err()
            {
                // Full (or the follower is going away): it re-reads the store.
                f.missed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    #[cfg(test)]
    fn keys_in_use(&self) -> usize {
        self.registry().by_key.len()
    }
}

/// One follower; it stops following when dropped.
pub struct Follower {
    id: u64,
    rx: mpsc::Receiver<Arc<TimelineEvent>>,
    missed: Arc<AtomicU64>,
    keys: Vec<Key>,
    followers: Followers,
}

impl Follower {
    /// Follows these customers and conversations from now on, instead of the
    /// previous ones (nothing changes when they are the same).
    pub fn follow(&mut self, keys: &[Key]) {
        if self.keys == keys {
            return;
        }
        let mut r = self.followers.registry();
        let old = std::mem::replace(&mut self.keys, keys.to_vec());
        r.unlink(self.id, &old);
        for key in keys {
            r.by_key.entry(*key).or_default().push(self.id);
        }
        if let Some(entry) = r.followers.get_mut(&self.id) {
            entry.keys = keys.to_vec();
        }
    }

    /// The next event, or how many were missed since the last call. Never ends:
    /// the follower holds its own queue open.
    pub async fn recv(&mut self) -> Result<Arc<TimelineEvent>, Missed> {
        let missed = self.missed.swap(0, Ordering::Relaxed);
        if missed > 0 {
            return Err(Missed(missed));
        }
        match self.rx.recv().await {
            Some(e) => Ok(e),
            None => std::future::pending().await,
        }
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let mut r = self.followers.registry();
        r.unlink(self.id, &self.keys);
        r.followers.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::model::EventPayload;

    fn event(seq: i64, customer: Uuid, conversation: Option<Uuid>) -> Arc<TimelineEvent> {
        Arc::new(TimelineEvent {
            seq,
            id: Uuid::new_v4(),
            customer_id: customer,
            conversation_id: conversation,
            occurred_at: chrono::Utc::now(),
            payload: EventPayload::Csat { score: 5 },
        })
    }

    #[tokio::test]
    async fn followers_get_their_events_once_and_no_others() {
        let followers = Followers::default();
        let (ann, bo, chat) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let mut both = followers.add();
        both.follow(&[Key::Customer(ann), Key::Conversation(chat)]);
        let mut other = followers.add();
        other.follow(&[Key::Customer(bo)]);
        followers.publish(&event(1, ann, Some(chat)));
        followers.publish(&event(2, bo, None));
        // After a merge the conversation's events carry another customer.
        followers.publish(&event(3, bo, Some(chat)));
        let seqs = |f: &mut Follower| {
            std::iter::from_fn(|| f.rx.try_recv().ok().map(|e| e.seq)).collect::<Vec<_>>()
        };
        assert_eq!(seqs(&mut both), vec![1, 3]);
        assert_eq!(seqs(&mut other), vec![2, 3]);
    }

    #[tokio::test]
    async fn a_full_queue_is_reported_and_keys_go_with_their_followers() {
        let followers = Followers::default();
        let ann = Uuid::new_v4();
        let mut f = followers.add();
        f.follow(&[Key::Customer(ann)]);
        for seq in 0..FOLLOWER_QUEUE as i64 + 3 {
            followers.publish(&event(seq, ann, None));
        }
        assert_eq!(f.recv().await.unwrap_err(), Missed(3));
        assert_eq!(f.recv().await.unwrap().seq, 0);
        f.follow(&[Key::Conversation(Uuid::new_v4())]);
        assert_eq!(followers.keys_in_use(), 1, "the customer key is gone");
        drop(f);
        assert_eq!(followers.keys_in_use(), 0);
        followers.publish(&event(9, ann, None));
    }
}
