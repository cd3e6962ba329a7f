//! Per-queue figures: waiting, longest wait, estimated wait for a new item,
//! agents by state, and today's service level.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde::Serialize;
use utoipa::ToSchema;

use uuid::Uuid;

use super::agent::AgentStatus;
use super::engine::Router;
use super::order::Rank;

/// Counters since the start of the day (or of the process).
#[derive(Debug, Clone, Default)]
pub struct QueueCounters {
    pub offered: u64,
    pub answered: u64,
    pub answered_in_sl: u64,
    pub abandoned: u64,
    /// Items that waited the queue's longest wait and overflowed out of it.
    pub overflowed: u64,
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
    /// Items that overflowed out of the queue (to another queue, voicemail or
    /// a callback) after its longest wait.
    pub overflowed_today: u64,
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
        for status in self.statuses_in(queue) {
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
        let estimated = self.estimate(queue, waiting.len() + 1).unwrap_or_else(|| {
            // Nobody staffed: as if one agent were.
            ((waiting.len() as f64 + 1.0) * seconds_per_item(&c)).round() as u64
        });
        Some(QueueStats {
            queue: queue.to_string(),
            waiting: waiting.len(),
            longest_wait_seconds: longest,
            estimated_wait_seconds: estimated,
            agents,
            offered_today: c.offered,
            answered_today: c.answered,
            abandoned_today: c.abandoned,
            overflowed_today: c.overflowed,
            service_level: (c.answered > 0)
                .then(|| 100.0 * c.answered_in_sl as f64 / c.answered as f64),
        })
    }

    /// A waiting item's place in its queue and its estimated wait; `None` when
    /// the item is not waiting.
    pub fn place(&self, item: Uuid) -> Option<Place> {
        let mine = self.waiting_item(item)?;
        let ahead = self
            .waiting_in(&mine.queue)
            .into_iter()
            .filter(|w| Rank::of(w) < Rank::of(mine))
            .count();
        let position = ahead + 1;
        Some(Place {
            position,
            estimated_wait_seconds: self.estimate(&mine.queue, position),
        })
    }

    /// Seconds until the item at `position` is answered, from recent waits and
    /// the agents staffing the queue; `None` when nobody staffs it.
    fn estimate(&self, queue: &str, position: usize) -> Option<u64> {
        let staffed = self
            .statuses_in(queue)
            .filter(|s| !matches!(s, AgentStatus::Offline | AgentStatus::Away { .. }))
            .count();
        if staffed == 0 {
            return None;
        }
        let c = self.counters.get(queue).cloned().unwrap_or_default();
        Some((position as f64 * seconds_per_item(&c) / staffed as f64).round() as u64)
    }

    /// The states of the agents who serve `queue`.
    fn statuses_in<'a>(&'a self, queue: &'a str) -> impl Iterator<Item = AgentStatus> + 'a {
        self.agents
            .values()
            .filter(move |a| a.profile.queues.iter().any(|q| q == queue))
            .filter_map(|a| self.agent(a.profile.id).map(|(_, s)| s))
    }
}

/// Seconds each waiting item adds to the wait: the recent average wait of
/// answered items, or 30 s before the first answer.
fn seconds_per_item(c: &QueueCounters) -> f64 {
    if c.answered > 0 {
        c.avg_wait.max(1.0)
    } else {
        30.0
    }
}

/// Where a waiting item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// 1 is next.
    pub position: usize,
    pub estimated_wait_seconds: Option<u64>,
}

/// A gauge's name, help text, and its value for one queue (none: left out).
type Gauge = (&'static str, &'static str, fn(&QueueStats) -> Option<f64>);

/// Per-queue gauges in the Prometheus text format: waiting items, longest and
/// estimated wait, agents by state, today's offered/answered/abandoned/overflowed
/// and service level (0–1, absent before the first answer).
pub fn render_prometheus(stats: &[QueueStats]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let gauges: [Gauge; 8] = [
        (
            "switchboard_queue_waiting",
            "Items waiting in the queue",
            |s| Some(s.waiting as f64),
        ),
        (
            "switchboard_queue_longest_wait_seconds",
            "Wait of the oldest waiting item",
            |s| Some(s.longest_wait_seconds as f64),
        ),
        (
            "switchboard_queue_estimated_wait_seconds",
            "Estimated wait of a new item",
            |s| Some(s.estimated_wait_seconds as f64),
        ),
        (
            "switchboard_queue_offered_today",
            "Items offered today",
            |s| Some(s.offered_today as f64),
        ),
        (
            "switchboard_queue_answered_today",
            "Items answered today",
            |s| Some(s.answered_today as f64),
        ),
        (
            "switchboard_queue_abandoned_today",
            "Items abandoned today",
            |s| Some(s.abandoned_today as f64),
        ),
        (
            "switchboard_queue_overflowed_today",
            "Items that overflowed out of the queue today",
            |s| Some(s.overflowed_today as f64),
        ),
        (
            "switchboard_queue_service_level_ratio",
            "Share answered within the target today",
            |s| s.service_level.map(|p| p / 100.0),
        ),
    ];
    for (name, help, value) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for s in stats {
            if let Some(v) = value(s) {
                let _ = writeln!(out, "{name}{{queue=\"{}\"}} {v}", label(&s.queue));
            }
        }
    }
    let name = "switchboard_queue_agents";
    let _ = writeln!(
        out,
        "# HELP {name} Agents serving the queue, by state\n# TYPE {name} gauge"
    );
    for s in stats {
        for (state, n) in &s.agents {
            let _ = writeln!(
                out,
                "{name}{{queue=\"{}\",state=\"{state}\"}} {n}",
                label(&s.queue)
            );
        }
    }
    out
}

/// A label value with `\`, `"` and newlines escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_gauges_render_with_escaped_labels() {
        let s = QueueStats {
            queue: "vip \"gold\"".into(),
            waiting: 2,
            longest_wait_seconds: 40,
            estimated_wait_seconds: 60,
            agents: BTreeMap::from([("available".to_string(), 1), ("busy".to_string(), 3)]),
            offered_today: 9,
            answered_today: 7,
            abandoned_today: 1,
            overflowed_today: 4,
            service_level: Some(85.0),
        };
        let text = render_prometheus(&[s]);
        assert!(
            text.contains("switchboard_queue_waiting{queue=\"vip \\\"gold\\\"\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "switchboard_queue_service_level_ratio{queue=\"vip \\\"gold\\\"\"} 0.85\n"
            )
        );
        assert!(
            text.contains(
                "switchboard_queue_agents{queue=\"vip \\\"gold\\\"\",state=\"busy\"} 3\n"
            )
        );
        assert!(text.contains("# TYPE switchboard_queue_abandoned_today gauge\n"));
        assert!(
            text.contains("switchboard_queue_overflowed_today{queue=\"vip \\\"gold\\\"\"} 4\n")
        );
    }
}
