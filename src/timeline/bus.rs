//! The in-process event bus: every committed timeline event is published here so the
//! workspace, the supervisor view and other parts get live updates. Bounded: a
//! subscriber that falls behind is told it lagged and re-reads from the store.

use std::sync::Arc;

use tokio::sync::broadcast;

use super::model::TimelineEvent;

/// How many events a slow subscriber may fall behind before it is told it lagged.
pub const BUS_CAPACITY: usize = 4096;

#[derive(Clone, Debug)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<TimelineEvent>>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl EventBus {
    pub fn new() -> EventBus {
        let (tx, _) = broadcast::channel(BUS_CAPACITY);
        EventBus { tx }
    }

    /// Publishes an event that is already committed. Having no subscriber is normal.
    pub fn publish(&self, event: TimelineEvent) {
        let _no_subscriber_is_fine = self.tx.send(Arc::new(event));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<TimelineEvent>> {
        self.tx.subscribe()
    }
}
