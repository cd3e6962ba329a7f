//! Process-wide counters and gauges, rendered in the Prometheus text format at
//! `/metrics`. Plain atomics: cheap to bump from any task.

use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Metrics {
    pub http_requests: AtomicU64,
    pub http_errors_4xx: AtomicU64,
    pub http_errors_5xx: AtomicU64,
    pub timeline_events_appended: AtomicU64,
    pub event_subscribers: AtomicI64,
    pub event_subscriber_lagged: AtomicU64,
    pub wechat_rejected: AtomicU64,
}

impl Metrics {
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counters = [
            (
                "switchboard_http_requests_total",
                "HTTP requests served",
                &self.http_requests,
            ),
            (
                "switchboard_http_client_errors_total",
                "HTTP responses with a 4xx status",
                &self.http_errors_4xx,
            ),
            (
                "switchboard_http_server_errors_total",
                "HTTP responses with a 5xx status",
                &self.http_errors_5xx,
            ),
            (
                "switchboard_timeline_events_appended_total",
                "Timeline events committed",
                &self.timeline_events_appended,
            ),
            (
                "switchboard_event_subscriber_lagged_total",
                "Times a live subscriber fell behind the bus",
                &self.event_subscriber_lagged,
            ),
            (
                "switchboard_wechat_rejected_total",
                "WeChat callbacks refused (bad signature, stale, malformed)",
                &self.wechat_rejected,
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        }
        let name = "switchboard_event_subscribers";
        let _ = writeln!(
            out,
            "# HELP {name} Live event WebSocket subscribers\n# TYPE {name} gauge\n{name} {}",
            self.event_subscribers.load(Ordering::Relaxed)
        );
        out
    }
}

/// A Prometheus histogram over fixed bucket bounds; plain atomics.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [f64],
    /// One per bound, then +Inf; not cumulative (summed when rendered).
    counts: Vec<AtomicU64>,
    /// Sum of observations, in millionths.
    sum_micro: AtomicU64,
}

impl Histogram {
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum_micro: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, v: f64) {
        let v = v.max(0.0);
        let i = self.bounds.iter().position(|b| v <= *b);
        let slot = &self.counts[i.unwrap_or(self.bounds.len())];
        slot.fetch_add(1, Ordering::Relaxed);
        self.sum_micro
            .fetch_add((v * 1e6) as u64, Ordering::Relaxed);
    }

    /// The exposition of this histogram under `name`.
    pub fn render(&self, name: &str, help: &str, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP {name} {help}
# TYPE {name} histogram"
        );
        let mut total = 0;
        for (i, c) in self.counts.iter().enumerate() {
            total += c.load(Ordering::Relaxed);
            let le = self
                .bounds
                .get(i)
                .map_or("+Inf".to_string(), f64::to_string);
            let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {total}");
        }
        let sum = self.sum_micro.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {total}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let h = Histogram::new(&[1.0, 5.0]);
        for v in [0.5, 2.0, 3.0, 9.0] {
            h.observe(v);
        }
        let mut text = String::new();
        h.render("x", "test", &mut text);
        assert!(
            text.contains("x_bucket{le=\"1\"} 1\nx_bucket{le=\"5\"} 3\nx_bucket{le=\"+Inf\"} 4\n")
        );
        assert!(text.contains("x_sum 14.5\nx_count 4\n"), "{text}");
    }

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        Metrics::inc(&m.http_requests);
        let text = m.render();
        assert!(text.contains(
            "# TYPE switchboard_http_requests_total counter\nswitchboard_http_requests_total 1\n"
        ));
        assert!(text.contains("switchboard_event_subscribers 0"));
    }
}
