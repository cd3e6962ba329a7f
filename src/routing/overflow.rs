//! Overflow: an item that has waited a queue's `max_wait_seconds` in it takes
//! the queue's `overflow`. To another queue it moves there keeping its enqueue
//! time (its place and its wait for the service level) and its wait there
//! counts anew; it never overflows into a queue it already waited in, so a
//! cycle of overflows ends. A call with a caller on the line can instead leave
//! the line for voicemail or a callback, which the call shell carries out.
//! Offers out for the item are withdrawn first, and the queue left counts it.

use std::time::Instant;

use uuid::Uuid;

use super::engine::{Output, Router, Waiting, WithdrawReason};
use super::model::{Channel, Overflow};

impl Router {
    /// When a waiting item overflows: none if its queue has no overflow or the
    /// overflow cannot take it (a queue it waited in, voicemail for a chat).
    pub(super) fn overflow_at(&self, w: &Waiting) -> Option<Instant> {
        let q = self.queues.get(&w.item.queue)?;
        let max = q.max_wait()?;
        let takes = match q.overflow.as_ref()? {
            Overflow::Queue { queue } => {
                !w.visited.contains(queue) && self.queues.contains_key(queue)
            }
            Overflow::Voicemail | Overflow::Callback => {
                w.item.channel == Channel::Voice && w.item.caller_on_line
            }
        };
        takes.then(|| w.since + max)
    }

    /// Overflows every item whose time has come, oldest deadline first, until
    /// none is due (an item may pass through several queues at once).
    pub(super) fn overflow_due(&mut self, now: Instant) {
        let any = self
            .queues
            .values()
            .any(|q| q.overflow.is_some() && q.max_wait().is_some());
        if !any {
            return;
        }
        loop {
            let mut due: Vec<(Instant, Uuid)> = self
                .waiting
                .values()
                .filter_map(|w| {
                    self.overflow_at(w)
                        .filter(|t| *t <= now)
                        .map(|t| (t, w.item.id))
                })
                .collect();
            if due.is_empty() {
                return;
            }
            due.sort();
            for (at, id) in due {
                self.overflow(at, id);
            }
        }
    }

    /// Takes item `id` out of its queue, which it overflowed at `at`.
    fn overflow(&mut self, at: Instant, id: Uuid) {
        let Some(w) = self.waiting.get(&id) else {
            return;
        };
        let from = w.item.queue.clone();
        let waited = at.saturating_duration_since(w.item.enqueued_at);
        let offers = w.offers.clone();
        let Some(action) = self.queues.get(&from).and_then(|q| q.overflow.clone()) else {
            return;
        };
        for offer in offers {
            self.withdraw(offer, WithdrawReason::Overflowed);
        }
        self.counters.entry(from.clone()).or_default().overflowed += 1;
        match &action {
            Overflow::Queue { queue } => {
                self.waiting.move_to_queue(&id, queue);
                if let Some(w) = self.waiting.get_mut(&id) {
                    w.visited.push(queue.clone());
                    w.since = at;
                }
                self.counters.entry(queue.clone()).or_default().offered += 1;
            }
            Overflow::Voicemail | Overflow::Callback => {
                self.waiting.remove(&id);
            }
        }
        self.out.push_back(Output::Overflowed {
            item: id,
            from,
            action,
            waited,
        });
    }
}

#[cfg(test)]
#[path = "overflow_tests.rs"]
mod tests;
