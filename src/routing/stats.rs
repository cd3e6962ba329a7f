//! Per-queue figures: waiting, longest wait, estimated wait for a new item,
//! agents by state, and today's service level.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use utoipa::ToSchema;

use super::agent::AgentStatus;
use super::engine::Router;

/// Counters since the start of the day (or of the process).
#[derive(Debug, Clone, Default)]
pub struct QueueCounters {
    pub offered: u64,
    pub answered: u64,
    pub answered_in_sl: u64,
    pub abandoned: u64,
    /// Exponentially weighted average wait of answered items, in seconds.
    pub avg_wait: f64,
}

impl QueueCounters {
    pub fn record_wait(&mut self, wait: Duration) {
        let w = wait.as_secs_f64();
        self.avg_wait = if self.answered <= 1 {
            w
        } else {
            0.8 * self.avg_wait + 0.2 * w
        };
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueStats {
    pub queue: String,
    pub waiting: usize,
    pub longest_wait_seconds: u64,
    /// Estimated wait for a new item, in seconds.
    pub estimated_wait_seconds: u64,
    pub agents: BTreeMap<String, usize>,
    pub offered_today: u64,
    pub answered_today: u64,
    pub abandoned_today: u64,
    /// Share answered within the target, 0–100; absent before the first answer.
    pub service_level: Option<f64>,
}

impl Router {
    pub fn queue_stats(&self, queue: &str, now: Instant) -> Option<QueueStats> {
        self.queues.get(queue)?;
        let waiting = self.waiting_in(queue);
        let longest = waiting
            .iter()
            .map(|w| now.saturating_duration_since(w.enqueued_at).as_secs())
            .max()
            .unwrap_or(0);
        let mut agents = BTreeMap::new();
        let mut staffed = 0usize;
        for a in self
            .agents
            .values()
            .filter(|a| a.profile.queues.iter().any(|q| q == queue))
        {
            let (_, status) = self.agent(a.profile.id)?;
            if !matches!(status, AgentStatus::Offline | AgentStatus::Away { .. }) {
                staffed += 1;
            }
            let key = match status {
                AgentStatus::Offline => "offline",
                AgentStatus::Available => "available",
                AgentStatus::Away { .. } => "away",
                AgentStatus::Offered => "offered",
                AgentStatus::Busy => "busy",
                AgentStatus::WrapUp => "wrap_up",
            };
            *agents.entry(key.to_string()).or_insert(0) += 1;
        }
        let c = self.counters.get(queue).cloned().unwrap_or_default();
        let per_item = if c.answered > 0 {
            c.avg_wait.max(1.0)
        } else {
            30.0
        };
        let estimated =
            ((waiting.len() as f64 + 1.0) * per_item / staffed.max(1) as f64).round() as u64;
        Some(QueueStats {
            queue: queue.to_string(),
            waiting: waiting.len(),
            longest_wait_seconds: longest,
            estimated_wait_seconds: estimated,
            agents,
            offered_today: c.offered,
            answered_today: c.answered,
            abandoned_today: c.abandoned,
            service_level: (c.answered > 0)
                .then(|| 100.0 * c.answered_in_sl as f64 / c.answered as f64),
        })
    }
}
