//! CPU and memory samples, and the printed figures.

use super::*;

/// CPU and memory at a moment.
#[derive(Debug, Clone, Copy)]
pub(super) struct Sample {
    pub(super) server_cpu: f64,
    pub(super) own_cpu: f64,
    /// All processes of the host.
    pub(super) host_cpu: f64,
    pub(super) rss_mb: f64,
    pub(super) at: Instant,
}

pub(super) fn sample(pid: u32) -> Sample {
    Sample {
        server_cpu: support::cpu_seconds(pid),
        own_cpu: support::own_cpu_seconds(),
        host_cpu: support::host_busy_seconds(),
        rss_mb: status_kb(pid, "VmRSS:") / 1024.0,
        at: Instant::now(),
    }
}

/// A `kB` line of /proc/<pid>/status (VmRSS, VmHWM).
pub(super) fn status_kb(pid: u32, key: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

/// The figures of a run.
pub(super) struct Report {
    settings: Settings,
    welcomed: usize,
    peak: usize,
    followed: usize,
    failures: BTreeMap<String, usize>,
    welcome: Vec<f64>,
    acks: BTreeMap<Tag, Vec<f64>>,
    to_agent: BTreeMap<Tag, Vec<f64>>,
    sent: usize,
    acked: usize,
    /// Acknowledged after the chat's first message, and read on agent pages.
    acked_followed: usize,
    delivered: usize,
    lagged: usize,
    /// Acks per second after the warm-up, and over the whole load phase.
    rate: f64,
    rate_all: f64,
    stored: (i64, i64),
    marks: Vec<(&'static str, Sample)>,
    peak_rss: f64,
}

impl Report {
    pub(super) fn new(
        s: &Settings,
        results: &[VisitorResult],
        shared: &Shared,
        marks: &[(&'static str, Sample)],
        load_start: Instant,
        stored: (i64, i64),
        peak_rss: f64,
    ) -> Report {
        let mut acks: BTreeMap<Tag, Vec<f64>> = BTreeMap::new();
        for r in results {
            for (tag, v) in &r.acks {
                acks.entry(*tag).or_default().extend(v);
            }
        }
        let (from, to) = (load_start + s.warmup, load_start + s.load);
        let in_window = results
            .iter()
            .flat_map(|r| &r.load_acks)
            .filter(|t| **t >= from && **t < to)
            .count();
        let load_acks = acks.get(&Tag::Load).map_or(0, Vec::len);
        let count = |a: &AtomicUsize| a.load(Ordering::SeqCst);
        Report {
            settings: s.clone(),
            welcomed: results.iter().filter(|r| r.welcome.is_some()).count(),
            peak: count(&shared.peak),
            followed: count(&shared.followed),
            failures: shared
                .failures
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            welcome: results.iter().filter_map(|r| r.welcome).collect(),
            acks,
            to_agent: shared
                .to_agent
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            sent: results.iter().map(|r| r.sent).sum(),
            acked: results.iter().map(|r| r.acked).sum(),
            acked_followed: count(&shared.acked),
            delivered: count(&shared.delivered),
            lagged: count(&shared.lagged),
            rate: in_window as f64 / (s.load - s.warmup).as_secs_f64(),
            rate_all: load_acks as f64 / s.load.as_secs_f64(),
            stored,
            marks: marks.to_vec(),
            peak_rss,
        }
    }

    /// Every acknowledged message is stored once, with its client id.
    pub(super) fn consistent(&self) -> bool {
        self.stored.0 == self.acked as i64 && self.stored.1 == self.acked as i64
    }

    pub(super) fn print(&self) {
        let s = &self.settings;
        println!(
            "\nwidget_load: {} visitors, {} agents ({} chats each), {} CPUs shared by server and generator",
            s.visitors,
            s.agents,
            s.chat_capacity(),
            std::thread::available_parallelism().map_or(0, |n| n.get()),
        );
        println!(
            "widget sockets: welcomed {} of {}, open at once (peak) {}; chats followed by an agent page {}",
            self.welcomed, s.visitors, self.peak, self.followed
        );
        for (reason, n) in &self.failures {
            println!("  failed: {reason}: {n}");
        }
        println!(
            "\n{:<44} {:>7} {:>8} {:>8} {:>8} {:>8}",
            "ms", "n", "p50", "p95", "p99", "max"
        );
        row("connect + hello → welcome", &self.welcome);
        let empty = Vec::new();
        let get = |m: &BTreeMap<Tag, Vec<f64>>, t: Tag| m.get(&t).unwrap_or(&empty).clone();
        row(
            "first message → ack (opens the chat)",
            &get(&self.acks, Tag::Open),
        );
        let steady = format!("latency phase, {:.0} msg/s offered:", s.rate);
        println!("{steady}");
        row("  visitor → agent page", &get(&self.to_agent, Tag::Latency));
        row("  message → ack", &get(&self.acks, Tag::Latency));
        println!("throughput phase, window {}:", s.window);
        row("  visitor → agent page", &get(&self.to_agent, Tag::Load));
        row("  message → ack", &get(&self.acks, Tag::Load));
        println!(
            "\nthroughput: {:.0} acknowledged messages/s ({:.0} s after a {:.0} s warm-up; {:.0}/s over all {:.0} s)",
            self.rate,
            (s.load - s.warmup).as_secs_f64(),
            s.warmup.as_secs_f64(),
            self.rate_all,
            s.load.as_secs_f64()
        );
        println!(
            "messages: sent {}, acknowledged {}; after the first: {} acknowledged, {} read on agent pages; lagged event sockets {}",
            self.sent, self.acked, self.acked_followed, self.delivered, self.lagged
        );
        println!(
            "stored in SQLite: {} message events, {} client ids — {}",
            self.stored.0,
            self.stored.1,
            if self.consistent() {
                "equal to the acknowledged count"
            } else {
                "NOT equal to the acknowledged count"
            }
        );
        println!(
            "\n{:<10} {:>8} {:>12} {:>12} {:>12} {:>8}",
            "phase", "wall s", "server CPU s", "generator s", "others s", "RSS MB"
        );
        for w in self.marks.windows(2) {
            let ((_, a), (name, b)) = (w[0], w[1]);
            let (server, own) = (b.server_cpu - a.server_cpu, b.own_cpu - a.own_cpu);
            println!(
                "{:<10} {:>8.1} {:>12.2} {:>12.2} {:>12.2} {:>8.0}",
                name,
                (b.at - a.at).as_secs_f64(),
                server,
                own,
                (b.host_cpu - a.host_cpu - server - own).max(0.0),
                b.rss_mb
            );
        }
        if let (Some((_, first)), Some((_, last))) = (self.marks.first(), self.marks.last()) {
            let acked = self.acks.get(&Tag::Load).map_or(0, Vec::len).max(1) as f64;
            let load = self
                .marks
                .iter()
                .rev()
                .take(2)
                .map(|(_, m)| m.server_cpu)
                .collect::<Vec<_>>();
            println!(
                "server: {:.2} CPU s in all, {:.0} µs per message in the throughput phase; RSS peak {:.0} MB",
                last.server_cpu - first.server_cpu,
                (load[0] - load[1]) * 1e6 / acked,
                self.peak_rss
            );
        }
        println!(
            "(the issue's targets: 1,000 connections, visitor → agent p99 ≤ 50 ms, ≥ 5,000 messages/s on SQLite)"
        );
    }
}

fn row(name: &str, values: &[f64]) {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let p = |q: f64| support::percentile(&v, q).map_or("-".to_string(), |x| format!("{x:.1}"));
    println!(
        "{:<44} {:>7} {:>8} {:>8} {:>8} {:>8}",
        name,
        v.len(),
        p(0.50),
        p(0.95),
        p(0.99),
        p(1.0)
    );
}
