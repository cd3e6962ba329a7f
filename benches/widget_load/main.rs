//! Web chat widget load: many visitors' widget sockets at once, how soon a
//! visitor's message reaches the agent's page, and how many messages per second
//! the server stores. It starts the release server binary with its own data dir
//! (SQLite, speech off, `RUST_LOG=warn`) and drives it from this process, in
//! phases:
//!
//! 1. Setup through the HTTP API, as an admin and agents would: the `support`
//!    queue (where the routing rules put chats) is saved with no wrap-up;
//!    `SWITCHBOARD_BENCH_AGENTS` agents (default: one per 100 visitors) are
//!    created with chat capacity for all the chats, sign in (`/auth/login`, the
//!    session cookie the browser uses), go available and open the workspace's
//!    socket `/api/v1/agent/ws`. An offer arriving there is accepted
//!    (`POST /api/v1/offers/{id}/accept`) and, as the workspace page does for
//!    each chat it shows, the agent opens `/api/v1/events?conversation_id=…`.
//! 2. Connect: `SWITCHBOARD_BENCH_VISITORS` (default 1000) widget sockets on
//!    `/chat/ws`, each saying `hello` (a new visitor) and waiting for `welcome`.
//! 3. Open: each visitor sends its first message (`opened`, then `ack`); the
//!    chats are offered, accepted and followed by the agents' sockets.
//! 4. Latency: for `SWITCHBOARD_BENCH_LATENCY_SECONDS` (20), each visitor sends
//!    at its own steady pace, all together `SWITCHBOARD_BENCH_RATE` messages/s
//!    (default: visitors / 2, one message every 2 s each, within the shipped
//!    per-connection limit), and waits for each `ack`.
//! 5. Throughput: for `SWITCHBOARD_BENCH_LOAD_SECONDS` (20), every visitor sends
//!    its next message as soon as an ack comes back, with up to
//!    `SWITCHBOARD_BENCH_WINDOW` (1) unacknowledged; then the ones in flight are
//!    drained.
//!
//! Figures: visitor → agent page, from the moment a visitor's task sends a
//! message to the moment an agent's events socket reads it (the text carries
//! the send time on this process's clock), p50/p95/p99/max nearest-rank, for the
//! latency phase and for the saturated throughput phase apart; message → ack
//! (the ack is sent only after the commit); acknowledged messages per second
//! over the throughput phase after the first `SWITCHBOARD_BENCH_WARMUP_SECONDS`
//! (2); then the SQLite file is read: the stored message events and client ids
//! must equal the acknowledged messages. Also: the widget sockets open at once,
//! failures by reason (refused sockets, error frames such as `rate_limited`,
//! missing acks), messages that never reached an agent page, lagged event
//! sockets, and per phase the server's CPU time (utime + stime from /proc), the
//! generator's, and the server's RSS (and its peak, VmHWM).
//!
//! The throughput phase sends faster than the shipped `[chat]` limit (2
//! messages/s per connection, bursts of 10), so the harness's config sets
//! `messages_per_second` and `burst` to 1000; the latency phase keeps within the
//! shipped limit. A run needs about 2 file descriptors per visitor in each
//! process (`ulimit -n` is checked; raise it with `ulimit -n 8192`).
//!
//! Clock: both ends are on this host, server and generator share its cores
//! (2 here) and nothing is pinned, so figures include the generator's own load:
//! they are an upper bound of the server's latency. The targets: 1,000
//! widget connections, visitor → agent p99 ≤ 50 ms, ≥ 5,000 messages/s stored
//! on SQLite. The program measures and reports; it exits non-zero only when
//! setup failed or stored and acknowledged counts differ.
//!
//! Measured on this host (2 cores shared with other builds and tests), 1,000
//! sockets, no failure, every acknowledged message stored once; ms, p50 / p95 /
//! p99 / max (README.md has the details):
//!
//! | visitor → agent page, 500 msg/s | stored msg/s | server CPU per message | RSS peak |
//! |---|---|---|---|
//! | 0.8 / 2.6 / 25.4 / 49.1 | 6,471 | 174 µs | 248 MB |
//! | 0.8 / 2.5 / 31.4 / 106.1 | 5,990 | 192 µs | 220 MB |
//! | 1.0 / 14.1 / 42.5 / 155.3 (others took 1.5 cores) | 5,632 | 185 µs | 268 MB |
//!
//! `cargo bench --bench widget_load` (release build). This file runs the
//! phases; `server.rs` starts the server, `agents.rs` and `visitors.rs` are the
//! two sides, `report.rs` prints the figures.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

mod agents;
mod report;
mod server;
#[path = "../support/mod.rs"]
mod support;
mod visitors;

use agents::{agent, connect, message_text, setup};
use report::{Report, sample, status_kb};
use server::Server;
use visitors::{VisitorResult, visitor};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        // `cargo test --benches` runs this too: a 1,000-socket load is not a test.
        println!("widget_load: run it with `cargo bench --bench widget_load`");
        return;
    }
    let settings = Settings::from_env();
    if let Err(e) = check_fd_limit(settings.visitors) {
        eprintln!("widget_load: {e}");
        std::process::exit(2);
    }
    let work = tempfile::tempdir().expect("temp dir");
    let server = match Server::start(work.path()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("widget_load: {e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let outcome = runtime.block_on(run(&settings, &server));
    let warnings = server.log_lines();
    if !warnings.is_empty() {
        println!(
            "\nserver log ({} warning/error lines), last ones:",
            warnings.len()
        );
        for line in warnings.iter().rev().take(10).rev() {
            println!("  {line}");
        }
    }
    match outcome {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(e) => {
            eprintln!("widget_load: {e}");
            std::process::exit(2);
        }
    }
}

#[derive(Debug, Clone)]
struct Settings {
    visitors: usize,
    agents: usize,
    rate: f64,
    latency: Duration,
    load: Duration,
    warmup: Duration,
    window: usize,
}

impl Settings {
    fn from_env() -> Settings {
        let num = support::env_f64;
        let visitors = num("SWITCHBOARD_BENCH_VISITORS", 1000.0) as usize;
        let secs = |name: &str, default: f64| Duration::from_secs_f64(num(name, default));
        let load = secs("SWITCHBOARD_BENCH_LOAD_SECONDS", 20.0);
        Settings {
            visitors,
            agents: num("SWITCHBOARD_BENCH_AGENTS", visitors.div_ceil(100) as f64) as usize,
            rate: num("SWITCHBOARD_BENCH_RATE", visitors as f64 / 2.0),
            latency: secs("SWITCHBOARD_BENCH_LATENCY_SECONDS", 20.0),
            warmup: secs("SWITCHBOARD_BENCH_WARMUP_SECONDS", 2.0).min(load / 2),
            load,
            window: num("SWITCHBOARD_BENCH_WINDOW", 1.0) as usize,
        }
    }

    /// Chats per agent: all of them, spread over the agents (at most 255 each).
    fn chat_capacity(&self) -> usize {
        self.visitors.div_ceil(self.agents.max(1))
    }
}

/// Each visitor and each chat's agent socket hold a descriptor in both processes.
fn check_fd_limit(visitors: usize) -> Result<(), String> {
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<usize>().ok());
    let needed = 2 * visitors + 256;
    match soft {
        Some(n) if n < needed => Err(format!(
            "open files are limited to {n}, {visitors} visitors need about {needed}: run `ulimit -n {}` first",
            needed.next_power_of_two()
        )),
        _ => Ok(()),
    }
}

/// The process's clock origin: message texts carry microseconds since it.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn micros_now() -> u64 {
    epoch().elapsed().as_micros() as u64
}

/// What the run is doing; visitors and agents watch it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Connect,
    Open,
    Latency { until: Instant },
    Load { until: Instant },
    Done,
}

/// Which phase a message was sent in (a letter in its text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tag {
    Open,
    Latency,
    Load,
}

impl Tag {
    fn letter(self) -> char {
        match self {
            Tag::Open => 'o',
            Tag::Latency => 'l',
            Tag::Load => 'x',
        }
    }

    fn from_letter(c: char) -> Option<Tag> {
        [Tag::Open, Tag::Latency, Tag::Load]
            .into_iter()
            .find(|t| t.letter() == c)
    }
}

/// What every task records into.
#[derive(Default)]
struct Shared {
    /// Widget sockets open now, and the most at once.
    open: AtomicUsize,
    peak: AtomicUsize,
    /// Visitors welcomed, whose first message was acknowledged, done with
    /// their phases (or failed on the way).
    welcomed: AtomicUsize,
    opened: AtomicUsize,
    finished: AtomicUsize,
    /// Messages acknowledged after the chat's first (which an agent's page
    /// reads from the history, not its socket), and read on an events socket.
    acked: AtomicUsize,
    delivered: AtomicUsize,
    /// Conversations an agent's events socket follows.
    followed: AtomicUsize,
    /// `lagged` frames on agents' event sockets.
    lagged: AtomicUsize,
    /// Visitor → agent page, ms, by the phase the message was sent in.
    to_agent: Mutex<BTreeMap<Tag, Vec<f64>>>,
    failures: Mutex<BTreeMap<String, usize>>,
}

impl Shared {
    fn fail(&self, reason: impl Into<String>) {
        let mut f = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        *f.entry(reason.into()).or_insert(0) += 1;
    }

    fn socket_up(&self) {
        let n = self.open.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(n, Ordering::SeqCst);
    }
}

/// Waits until `done` holds (checked every 50 ms) or `wait` passes.
async fn wait_until(wait: Duration, done: impl Fn() -> bool) -> bool {
    let end = Instant::now() + wait;
    while Instant::now() < end {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    done()
}

/// The whole run; false when stored and acknowledged messages differ.
async fn run(s: &Settings, server: &Server) -> Result<bool, String> {
    epoch();
    let http = reqwest::Client::new();
    let pid = server.child.id();
    let logins = setup(s, server, &http).await?;
    let shared = Arc::new(Shared::default());
    let (phase_tx, phase_rx) = watch::channel(Phase::Connect);
    let base = server.http.clone();
    for login in logins {
        tokio::spawn(agent(
            login,
            http.clone(),
            base.clone(),
            shared.clone(),
            phase_rx.clone(),
        ));
    }
    let mut marks = vec![("setup", sample(pid))];
    // At most 100 handshakes at a time: the listen backlog is finite.
    let connecting = Arc::new(tokio::sync::Semaphore::new(100));
    let period = Duration::from_secs_f64(s.visitors as f64 / s.rate);
    let visitors: Vec<_> = (0..s.visitors)
        .map(|i| {
            let (shared, phase, permits) = (shared.clone(), phase_rx.clone(), connecting.clone());
            tokio::spawn(visitor(
                i,
                base.clone(),
                period,
                s.window,
                shared,
                phase,
                permits,
            ))
        })
        .collect();
    let count = |a: &AtomicUsize| a.load(Ordering::SeqCst);
    let all = s.visitors;
    if !wait_until(Duration::from_secs(120), || {
        count(&shared.welcomed) + count(&shared.finished) >= all
    })
    .await
    {
        println!("not every widget was welcomed within 120 s");
    }
    marks.push(("connect", sample(pid)));
    phase_tx.send_replace(Phase::Open);
    let settled = || {
        let (opened, finished) = (count(&shared.opened), count(&shared.finished));
        opened + finished >= all && count(&shared.followed) >= opened
    };
    if !wait_until(Duration::from_secs(120), settled).await {
        println!(
            "after 120 s: {} chats opened, {} followed by an agent",
            count(&shared.opened),
            count(&shared.followed)
        );
    }
    marks.push(("open", sample(pid)));
    phase_tx.send_replace(Phase::Latency {
        until: Instant::now() + s.latency,
    });
    tokio::time::sleep(s.latency).await;
    // The last latency messages' acks come back before the load starts.
    tokio::time::sleep(Duration::from_millis(500)).await;
    marks.push(("latency", sample(pid)));
    let load_start = Instant::now();
    phase_tx.send_replace(Phase::Load {
        until: load_start + s.load,
    });
    tokio::time::sleep(s.load).await;
    marks.push(("load", sample(pid)));
    // Visitors drain their messages in flight; agents' pages read the last ones.
    wait_until(Duration::from_secs(60), || count(&shared.finished) >= all).await;
    wait_until(Duration::from_secs(10), || {
        count(&shared.delivered) >= count(&shared.acked)
    })
    .await;
    phase_tx.send_replace(Phase::Done);
    let mut results = Vec::new();
    for v in visitors {
        results.push(v.await.map_err(|e| format!("visitor task: {e}"))?);
    }
    let stored = count_stored(&server.database()).await?;
    let peak_rss = status_kb(pid, "VmHWM:") / 1024.0;
    let report = Report::new(s, &results, &shared, &marks, load_start, stored, peak_rss);
    report.print();
    Ok(report.consistent())
}

/// Message events and client ids stored in the SQLite file.
async fn count_stored(db: &Path) -> Result<(i64, i64), String> {
    use sqlx::Connection;
    let url = format!("sqlite://{}?mode=ro", db.display());
    let mut conn = sqlx::SqliteConnection::connect(&url)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let mut count = async |sql: &'static str| {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&mut conn)
            .await
            .map_err(|e| e.to_string())
    };
    let messages = count("SELECT COUNT(*) FROM timeline_events WHERE kind = 'message'").await?;
    let ids = count("SELECT COUNT(*) FROM message_dedup").await?;
    Ok((messages, ids))
}
