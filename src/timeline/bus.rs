//! The in-process event bus: every committed timeline event is published here so the
//! workspace, the supervisor view and other parts get live updates. Bounded: a
//! subscriber that falls behind is told it lagged and re-reads from the store.
//! A socket showing one chat follows just its customer or conversation
//! (`follower`, see `follow`) instead of hearing every event.

use std::sync::Arc;

use tokio::sync::broadcast;

use super::follow::{Follower, Followers};
use super::model::TimelineEvent;

/// How many events a slow subscriber may fall behind before it is told it lagged.
pub const BUS_CAPACITY: usize = 4096;

#[derive(Clone, Debug)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<TimelineEvent>>,
    followers: Followers,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    pub fn new() -> EventBus {
        let (tx, _) = broadcast::channel(BUS_CAPACITY);
        EventBus {
            tx,
            followers: Followers::default(),
        }
    }

    /// Publishes an event that is already committed. Having no subscriber is normal.
    pub fn publish(&self, event: TimelineEvent) {
        let event = Arc::new(event);
        self.followers.publish(&event);
        let _no_subscriber_is_fine = self.tx.send(event);
    }

    /// Every event from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<TimelineEvent>> {
        self.tx.subscribe()
    }

    /// The events of the customers and conversations it will follow.
    pub fn follower(&self) -> Follower {
        self.followers.add()
    }
}
