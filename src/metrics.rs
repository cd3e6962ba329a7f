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

#[cfg(test)]
mod tests {
    use super::*;

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
