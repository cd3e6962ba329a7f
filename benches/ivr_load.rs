//! IVR load: many concurrent calls in the demo hotline, and how soon each prompt
//! starts. It starts the release server binary with its own data dir (hotline
//! always open, speech off, `RUST_LOG=warn`, the shipped defaults otherwise, so
//! every call is also recorded) and a load generator in this process: N calls
//! (`SWITCHBOARD_BENCH_CALLS`, default 500) at a steady rate
//! (`SWITCHBOARD_BENCH_CPS`, default 100/s), each a task with its own SIP and RTP
//! UDP socket on 127.0.0.1, like one phone:
//!
//! - INVITE to 4000 offering PCMU and telephone-event (timer A retransmission),
//!   ACK on the 200 (again on each retransmitted 200) at `t_ack`;
//! - 20 ms PCMU silence from `t_ack` on (the server hangs up silent calls);
//! - 2 s into the welcome prompt, key `2` (English) as RFC 4733 events paced
//!   every 20 ms in place of audio, the first at `t_digit`;
//! - BYE after the hold time (`SWITCHBOARD_BENCH_HOLD_MS`, default 10000, from
//!   `t_ack`), expecting 200 (timer E retransmission).
//!
//! Figures: `ACK → RTP`, the first server RTP packet received after `t_ack` (the
//! server starts the welcome prompt on its 200 OK, before the ACK, so this is
//! the next packet of a prompt already playing; `200 → prompt` is the time from
//! the 200 to the welcome prompt's first packet, the one with the marker bit);
//! `digit → prompt`, from `t_digit` to the first packet with the marker bit after
//! it, the first packet of the main menu (the marker is set per prompt, RFC 3551
//! §4.1); `RTP gap`, each call's longest gap between two server packets (20 ms
//! when the server keeps pace). The server sends on a 20 ms tick per call, so a
//! prompt waits up to 20 ms for its first packet by design. Percentiles are
//! nearest-rank over the calls. Also: calls started, completed, failed (with
//! the reasons), the peak number of calls up at once, and the CPU time of the
//! server (utime + stime from /proc) and of the generator, per call.
//!
//! Clock: both ends are on this host; times are tokio `Instant`s taken in the
//! generator when a task sends or wakes with a packet. The server and the
//! generator share the host's cores (2 here) and nothing is pinned, so the
//! figures include the generator's own load and scheduling delays: they are an
//! upper bound of the server's latency. The target is p99 ≤ 100 ms from
//! the ACK and from the digit; this program measures and reports, it does not
//! assert (it exits non-zero only if a call failed to set up).
//!
//! `cargo bench --bench ivr_load` (release build). `SWITCHBOARD_BENCH_RECORD=0`
//! turns call recording off (`media.record_calls`) to see what it costs.
//!
//! Measured on this host (2 cores, idle otherwise), ms, p50 / p90 / p99 / max:
//!
//! | calls | ACK → RTP | digit → main menu | server CPU per call |
//! |---|---|---|---|
//! | 500 | 0.8 / 19.9 / 22.3 / 26.4 | 11.4 / 20.2 / 24.5 / 28.7 | 29.1 ms |
//! | 500 | 0.9 / 20.2 / 24.8 / 30.2 | 12.2 / 20.6 / 26.5 / 34.4 | 29.3 ms |
//! | 500, recording off | 0.7 / 17.6 / 20.9 / 23.4 | 11.7 / 19.4 / 22.3 / 22.9 | 23.8 ms |
//! | 200 | 0.6 / 19.7 / 20.7 / 22.9 | 10.9 / 18.4 / 24.9 / 25.8 | 32.2 ms |
//!
//! A prompt waits for its call's next 20 ms tick, hence the ~20 ms p90. With
//! builds taking 0.6–1.2 cores of the host, the server's ticks slipped (each
//! call's longest gap between server packets: p50 90–230 ms) and the digit's
//! p99 reached 91–125 ms; half the server's CPU was then call recording, whose
//! writer thread woke for every 20 ms frame (it now takes 100 ms batches).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use switchboard::media::dtmf::{self, EventPacket};
use switchboard::media::g711::Law;
use switchboard::media::rtp;
use switchboard::sdp::{SessionDescription, session::connection_address};
use switchboard::sip::{Message, Method, parse};
use tokio::net::UdpSocket;
use tokio::time::{Instant, MissedTickBehavior};

#[path = "support/mod.rs"]
mod support;
use support::{cpu_seconds, host_busy_seconds, own_cpu_seconds, percentile};

const T1: Duration = Duration::from_millis(500);
/// Timers B and F: 64·T1.
const TRANSACTION_TIMEOUT: Duration = Duration::from_secs(32);
const DIGIT_AFTER: Duration = Duration::from_secs(2);
const DTMF_PT: u8 = 101;
const PCMU_PT: u8 = 0;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        // `cargo test --benches` runs this too: a 500-call load is not a test.
        println!("ivr_load: run it with `cargo bench --bench ivr_load`");
        return;
    }
    let settings = Settings::from_env();
    let work = tempfile::tempdir().expect("temp dir");
    let server = match Server::start(work.path()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("ivr_load: {e}");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let cpu_before = (
        cpu_seconds(server.child.id()),
        own_cpu_seconds(),
        host_busy_seconds(),
    );
    let started = std::time::Instant::now();
    let (results, peak) = runtime.block_on(load(&settings, server.sip));
    let wall = started.elapsed();
    let cpu_after = (
        cpu_seconds(server.child.id()),
        own_cpu_seconds(),
        host_busy_seconds(),
    );
    let cpu = Cpu {
        server: cpu_after.0 - cpu_before.0,
        generator: cpu_after.1 - cpu_before.1,
        host: cpu_after.2 - cpu_before.2,
    };
    let report = Report::new(&settings, &results, peak, cpu, wall);
    report.print();
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
    if report.setup_failed > 0 {
        std::process::exit(1);
    }
}

#[derive(Debug, Clone)]
struct Settings {
    calls: usize,
    cps: f64,
    hold: Duration,
}

impl Settings {
    fn from_env() -> Settings {
        let num = support::env_f64;
        Settings {
            calls: num("SWITCHBOARD_BENCH_CALLS", 500.0) as usize,
            cps: num("SWITCHBOARD_BENCH_CPS", 100.0),
            hold: Duration::from_millis(num("SWITCHBOARD_BENCH_HOLD_MS", 10_000.0) as u64)
                .max(DIGIT_AFTER + Duration::from_secs(1)),
        }
    }
}

/// The server under test, stopped (SIGTERM, then kill) when dropped.
struct Server {
    child: Child,
    sip: SocketAddr,
    log: PathBuf,
}

impl Server {
    fn start(dir: &Path) -> Result<Server, String> {
        let repo = |p: &str| Path::new(env!("CARGO_MANIFEST_DIR")).join(p);
        if std::env::var("SWITCHBOARD_BENCH_RECORD").is_ok_and(|v| v == "0") {
            // The server reads config/switchboard.toml from its working directory.
            std::fs::create_dir_all(dir.join("config")).map_err(|e| e.to_string())?;
            std::fs::write(
                dir.join("config/switchboard.toml"),
                "[media]\nrecord_calls = false\n",
            )
            .map_err(|e| e.to_string())?;
        }
        let log = dir.join("server.log");
        let stderr = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("serve")
            .env("SWITCHBOARD_DATA_DIR", dir.join("data"))
            .env("SWITCHBOARD_HTTP_LISTEN", "127.0.0.1:0")
            .env("SWITCHBOARD_SIP_LISTEN", "127.0.0.1:0")
            .env("SWITCHBOARD_DIALPLANS_DIR", repo("dialplans"))
            .env("SWITCHBOARD_SOUNDS_DIR", repo("sounds"))
            .env("SWITCHBOARD_DIALPLAN_VARS", "open=always")
            .env("SWITCHBOARD_SPEECH_MODEL", "")
            .env("RUST_LOG", "warn")
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("starting the server: {e}"))?;
        let stdout = child.stdout.take().expect("stdout");
        let mut server = Server {
            child,
            sip: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
        };
        server.sip = sip_address(stdout).ok_or_else(|| {
            format!(
                "the server printed no SIP address; log:\n{}",
                server.log_lines().join("\n")
            )
        })?;
        Ok(server)
    }

    /// The log's warnings and errors.
    fn log_lines(&self) -> Vec<String> {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        log.lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            .map(String::from)
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        support::stop(&mut self.child);
    }
}

/// Reads the banner line `sip        udp:ADDR ...` (the server keeps writing to
/// stdout, so a thread keeps reading it).
fn sip_address(stdout: std::process::ChildStdout) -> Option<SocketAddr> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let addr = line.trim().strip_prefix("sip        udp:").and_then(|r| {
                r.split_whitespace()
                    .next()
                    .and_then(|a| a.parse::<SocketAddr>().ok())
            });
            if let (Some(a), false) = (addr, sent) {
                let _ = tx.send(a);
                sent = true;
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(60)).ok()
}

/// Calls up at once, and the most at any time.
#[derive(Default)]
struct Live {
    now: AtomicUsize,
    peak: AtomicUsize,
}

impl Live {
    fn up(&self) {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(n, Ordering::SeqCst);
    }

    fn down(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Starts the calls at the steady rate and waits for all of them.
async fn load(s: &Settings, sip: SocketAddr) -> (Vec<CallResult>, usize) {
    let live = Arc::new(Live::default());
    let mut rate = tokio::time::interval(Duration::from_secs_f64(1.0 / s.cps));
    let mut tasks = Vec::with_capacity(s.calls);
    for i in 0..s.calls {
        rate.tick().await;
        tasks.push(tokio::spawn(call(i, sip, s.hold, live.clone())));
    }
    let mut results = Vec::with_capacity(s.calls);
    for t in tasks {
        results.push(
            t.await
                .unwrap_or_else(|e| CallResult::failed(&format!("task: {e}"))),
        );
    }
    (results, live.peak.load(Ordering::SeqCst))
}

/// What one call measured.
#[derive(Debug, Default)]
struct CallResult {
    set_up: bool,
    completed: bool,
    failure: Option<String>,
    from_ack: Option<Duration>,
    /// From the 200 to the welcome prompt's first packet (negative: read first).
    ok_to_prompt: Option<f64>,
    from_digit: Option<Duration>,
    max_gap: Option<Duration>,
}

impl CallResult {
    fn failed(reason: &str) -> CallResult {
        CallResult {
            failure: Some(reason.to_string()),
            ..CallResult::default()
        }
    }
}

/// One caller's dialog and sockets.
struct Phone {
    sip: UdpSocket,
    rtp: UdpSocket,
    server: SocketAddr,
    call_id: String,
    from: String,
    /// The To header with the server's tag, once answered.
    to: String,
    /// The server's Contact URI (the remote target) and its address.
    target: String,
    target_addr: SocketAddr,
    branch: u32,
    id: usize,
}

async fn call(id: usize, server: SocketAddr, hold: Duration, live: Arc<Live>) -> CallResult {
    let mut result = CallResult::default();
    let mut phone = match Phone::new(id, server).await {
        Ok(p) => p,
        Err(e) => return CallResult::failed(&e),
    };
    let answered = match phone.invite().await {
        Ok(a) => a,
        Err(e) => return CallResult::failed(&e),
    };
    result.set_up = true;
    live.up();
    let media = phone.media(answered, hold, &mut result).await;
    let bye = phone.bye().await;
    live.down();
    result.failure = media.err().or(bye.err());
    result.completed = result.failure.is_none();
    result
}

/// The 200 OK: where to send RTP, when it came, and the early packets' times.
struct Answered {
    remote_rtp: SocketAddr,
    at: Instant,
    /// The first server RTP packet with the marker bit read before the ACK.
    early_prompt: Option<Instant>,
}

impl Phone {
    async fn new(id: usize, server: SocketAddr) -> Result<Phone, String> {
        let bind = || UdpSocket::bind("127.0.0.1:0");
        let sip = bind().await.map_err(|e| format!("SIP socket: {e}"))?;
        let rtp = bind().await.map_err(|e| format!("RTP socket: {e}"))?;
        Ok(Phone {
            sip,
            rtp,
            server,
            call_id: format!("ivr-load-{id}-{:08x}@127.0.0.1", rand::random::<u32>()),
            from: format!("<sip:+1555{id:07}@127.0.0.1>;tag=c{id}"),
            to: "<sip:4000@127.0.0.1>".into(),
            target: format!("sip:4000@{server}"),
            target_addr: server,
            branch: 0,
            id,
        })
    }

    fn local(&self, sock: &UdpSocket) -> SocketAddr {
        sock.local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// A request in the dialog (or the INVITE), with a new branch unless ACK.
    fn request(&mut self, method: &str, cseq: u32, body: &str) -> Bytes {
        if method != "ACK" {
            self.branch += 1;
        }
        let sip = self.local(&self.sip);
        let mut m = format!(
            "{method} {target} SIP/2.0\r\nVia: SIP/2.0/UDP {sip};branch=z9hG4bK-{id}-{b};rport\r\n\
             Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {cid}\r\nCSeq: {cseq} {method}\r\n\
             Contact: <sip:+1555{id:07}@{sip}>\r\n",
            target = self.target,
            id = self.id,
            b = self.branch,
            from = self.from,
            to = self.to,
            cid = self.call_id,
        );
        if !body.is_empty() {
            m.push_str("Content-Type: application/sdp\r\n");
        }
        m.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        Bytes::from(m)
    }

    fn offer(&self) -> String {
        let rtp = self.local(&self.rtp);
        format!(
            "v=0\r\no=- {id} 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {port} RTP/AVP {PCMU_PT} {DTMF_PT}\r\na=rtpmap:0 PCMU/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n",
            id = self.id,
            port = rtp.port(),
        )
    }

    /// INVITE until a final response (timer A until a provisional one, timer B);
    /// on 200 reads the dialog and the SDP answer and sends the ACK.
    async fn invite(&mut self) -> Result<Answered, String> {
        let offer = self.offer();
        let invite = self.request("INVITE", 1, &offer);
        let deadline = Instant::now() + TRANSACTION_TIMEOUT;
        let mut retransmit = Some(T1);
        let mut next = Instant::now();
        let mut early_prompt = None;
        let mut buf = vec![0u8; 65536];
        let mut rbuf = [0u8; 1500];
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return Err("INVITE timed out".into()),
                _ = tokio::time::sleep_until(next), if retransmit.is_some() => {
                    self.sip.send_to(&invite, self.server).await.map_err(|e| format!("send INVITE: {e}"))?;
                    let interval = retransmit.unwrap_or(T1);
                    next += interval;
                    retransmit = Some(interval * 2);
                }
                r = self.rtp.recv_from(&mut rbuf) => {
                    let marker = r.ok().and_then(|(n, _)| rtp::parse(&rbuf[..n]).ok()).is_some_and(|h| h.marker);
                    if marker && early_prompt.is_none() {
                        early_prompt = Some(Instant::now());
                    }
                }
                r = self.sip.recv_from(&mut buf) => {
                    let Some(msg) = r.ok().and_then(|(n, _)| parse::parse(&Bytes::copy_from_slice(&buf[..n])).ok()) else { continue };
                    if msg.method() != Some(Method::Invite) || msg.is_request() {
                        continue;
                    }
                    match msg.status().unwrap_or(0) {
                        100..=199 => retransmit = None,
                        200..=299 => return self.answered(&msg, early_prompt).await,
                        code => return Err(format!("INVITE answered {code}")),
                    }
                }
            }
        }
    }

    /// Takes the dialog from the 200 and sends the ACK.
    async fn answered(
        &mut self,
        ok: &Message,
        early_prompt: Option<Instant>,
    ) -> Result<Answered, String> {
        let at = Instant::now();
        let to = ok.headers.get("To").ok_or("200 without To")?;
        if ok.to().and_then(|t| t.tag().map(String::from)).is_none() {
            return Err("200 without a To tag".into());
        }
        self.to = to.to_string();
        if let Some(contact) = ok.contact() {
            let port = contact.uri.port.unwrap_or(5060);
            if let Ok(addr) = format!("{}:{port}", contact.uri.host).parse() {
                self.target_addr = addr;
            }
            self.target = contact.uri.to_string();
        }
        let remote_rtp = sdp_audio(&ok.body).ok_or("200 without a usable SDP answer")?;
        self.ack().await?;
        Ok(Answered {
            remote_rtp,
            at,
            early_prompt,
        })
    }

    async fn ack(&mut self) -> Result<(), String> {
        let ack = self.request("ACK", 1, "");
        self.sip
            .send_to(&ack, self.target_addr)
            .await
            .map(|_| ())
            .map_err(|e| format!("send ACK: {e}"))
    }

    /// The call's RTP from the ACK until the hold time is over: silence, the key,
    /// and the server's packets timed.
    async fn media(
        &mut self,
        answered: Answered,
        hold: Duration,
        result: &mut CallResult,
    ) -> Result<(), String> {
        let t_ack = Instant::now();
        result.ok_to_prompt = answered.early_prompt.map(|t| signed_ms(t, answered.at));
        let mut tx = Sender::new(answered.remote_rtp, t_ack + DIGIT_AFTER);
        let mut rx = Receiver::new(t_ack);
        // A phone's 20 ms clock has its own phase, not the server's.
        let phase = Duration::from_micros(rand::random_range(0..20_000));
        let mut tick = tokio::time::interval_at(t_ack + phase, Duration::from_millis(20));
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let end = t_ack + hold;
        let (mut buf, mut sbuf) = ([0u8; 1500], vec![0u8; 65536]);
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(end) => break,
                _ = tick.tick() => tx.send(&self.rtp).await?,
                r = self.rtp.recv_from(&mut buf) => {
                    if let Ok((n, _)) = r {
                        rx.packet(&buf[..n], tx.digit_at, answered.at, result);
                    }
                }
                r = self.sip.recv_from(&mut sbuf) => {
                    let Ok((n, _)) = r else { continue };
                    self.in_dialog(&sbuf[..n]).await?;
                }
            }
        }
        result.from_ack = rx.first;
        result.from_digit = rx.prompt;
        result.max_gap = rx.max_gap;
        match (rx.first, tx.digit_at, rx.prompt) {
            (None, _, _) => Err("no RTP from the server".into()),
            (_, Some(_), None) => Err("no prompt after the digit".into()),
            _ => Ok(()),
        }
    }

    /// A message from the server during the call: a retransmitted 200 is ACKed
    /// again; a BYE ends the call early (a failure here).
    async fn in_dialog(&mut self, data: &[u8]) -> Result<(), String> {
        let Ok(msg) = parse::parse(&Bytes::copy_from_slice(data)) else {
            return Ok(());
        };
        match (msg.is_request(), msg.method(), msg.status()) {
            (false, Some(Method::Invite), Some(200..=299)) => self.ack().await,
            (true, Some(Method::Bye), _) => Err("the server hung up".into()),
            _ => Ok(()),
        }
    }

    /// BYE until 200 (timer E from T1, doubling to 4 s; timer F).
    async fn bye(&mut self) -> Result<(), String> {
        let bye = self.request("BYE", 2, "");
        let deadline = Instant::now() + TRANSACTION_TIMEOUT;
        let mut interval = T1;
        let mut next = Instant::now();
        let mut buf = vec![0u8; 65536];
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => return Err("BYE timed out".into()),
                _ = tokio::time::sleep_until(next) => {
                    self.sip.send_to(&bye, self.target_addr).await.map_err(|e| format!("send BYE: {e}"))?;
                    next += interval;
                    interval = (interval * 2).min(Duration::from_secs(4));
                }
                r = self.sip.recv_from(&mut buf) => {
                    let Some(msg) = r.ok().and_then(|(n, _)| parse::parse(&Bytes::copy_from_slice(&buf[..n])).ok()) else { continue };
                    match (msg.is_request(), msg.method(), msg.status()) {
                        (false, Some(Method::Bye), Some(100..=199)) => {}
                        (false, Some(Method::Bye), Some(200..=299)) => return Ok(()),
                        (false, Some(Method::Bye), Some(code)) => return Err(format!("BYE answered {code}")),
                        _ => {}
                    }
                }
            }
        }
    }
}

/// The audio address of an SDP answer.
fn sdp_audio(body: &[u8]) -> Option<SocketAddr> {
    let sd = SessionDescription::parse(std::str::from_utf8(body).ok()?).ok()?;
    let audio = sd.media.iter().find(|m| m.kind == "audio" && m.port != 0)?;
    let c = audio.connection.as_ref().or(sd.connection.as_ref())?;
    format!("{}:{}", connection_address(c)?, audio.port)
        .parse()
        .ok()
}

fn signed_ms(t: Instant, reference: Instant) -> f64 {
    if t >= reference {
        (t - reference).as_secs_f64() * 1000.0
    } else {
        -((reference - t).as_secs_f64() * 1000.0)
    }
}

/// The caller's RTP: PCMU silence every 20 ms, the key's events in their place
/// when it is time.
struct Sender {
    remote: SocketAddr,
    ssrc: u32,
    seq: u16,
    ts: u32,
    digit_due: Instant,
    key: std::vec::IntoIter<EventPacket>,
    /// RTP timestamp of the key's events, once started.
    key_ts: Option<u32>,
    digit_at: Option<Instant>,
}

impl Sender {
    fn new(remote: SocketAddr, digit_due: Instant) -> Sender {
        Sender {
            remote,
            ssrc: rand::random(),
            seq: rand::random(),
            ts: rand::random(),
            digit_due,
            key: dtmf::key_packets('2').unwrap_or_default().into_iter(),
            key_ts: None,
            digit_at: None,
        }
    }

    async fn send(&mut self, sock: &UdpSocket) -> Result<(), String> {
        let mut packet = [0u8; 12 + 160];
        let len = match self.next_event() {
            Some(ev) => {
                let ts = *self.key_ts.get_or_insert(self.ts);
                rtp::write_header(&mut packet, ev.marker, DTMF_PT, self.seq, ts, self.ssrc);
                packet[12..16].copy_from_slice(&ev.payload);
                16
            }
            None => {
                rtp::write_header(&mut packet, false, PCMU_PT, self.seq, self.ts, self.ssrc);
                packet[12..].fill(Law::Ulaw.silence());
                packet.len()
            }
        };
        self.seq = self.seq.wrapping_add(1);
        self.ts = self.ts.wrapping_add(160);
        sock.send_to(&packet[..len], self.remote)
            .await
            .map_err(|e| format!("send RTP: {e}"))?;
        if len == 16 && self.digit_at.is_none() {
            self.digit_at = Some(Instant::now());
        }
        Ok(())
    }

    /// The next event packet while the key is being pressed.
    fn next_event(&mut self) -> Option<EventPacket> {
        if Instant::now() < self.digit_due {
            return None;
        }
        self.key.next()
    }
}

/// Times the server's packets.
struct Receiver {
    t_ack: Instant,
    last: Option<Instant>,
    first: Option<Duration>,
    prompt: Option<Duration>,
    max_gap: Option<Duration>,
}

impl Receiver {
    fn new(t_ack: Instant) -> Receiver {
        Receiver {
            t_ack,
            last: None,
            first: None,
            prompt: None,
            max_gap: None,
        }
    }

    fn packet(
        &mut self,
        data: &[u8],
        digit_at: Option<Instant>,
        ok_at: Instant,
        result: &mut CallResult,
    ) {
        let Ok(h) = rtp::parse(data) else { return };
        let now = Instant::now();
        if let Some(last) = self.last {
            self.max_gap = self.max_gap.max(Some(now - last));
        }
        self.last = Some(now);
        self.first.get_or_insert(now - self.t_ack);
        if h.marker && result.ok_to_prompt.is_none() && digit_at.is_none() {
            result.ok_to_prompt = Some(signed_ms(now, ok_at));
        }
        if let (true, Some(d), None) = (h.marker, digit_at, self.prompt) {
            self.prompt = Some(now - d);
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Cpu {
    server: f64,
    generator: f64,
    /// All processes of the host.
    host: f64,
}

/// The figures of a run.
struct Report {
    calls: usize,
    cps: f64,
    hold: Duration,
    set_up: usize,
    setup_failed: usize,
    completed: usize,
    reasons: BTreeMap<String, usize>,
    from_ack: Vec<f64>,
    ok_to_prompt: Vec<f64>,
    from_digit: Vec<f64>,
    max_gap: Vec<f64>,
    peak: usize,
    cpu: Cpu,
    wall: Duration,
}

impl Report {
    fn new(s: &Settings, results: &[CallResult], peak: usize, cpu: Cpu, wall: Duration) -> Report {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let mut reasons = BTreeMap::new();
        for r in results {
            if let Some(f) = &r.failure {
                *reasons.entry(f.clone()).or_insert(0) += 1;
            }
        }
        let set_up = results.iter().filter(|r| r.set_up).count();
        Report {
            calls: s.calls,
            cps: s.cps,
            hold: s.hold,
            set_up,
            setup_failed: results.len() - set_up,
            completed: results.iter().filter(|r| r.completed).count(),
            reasons,
            from_ack: results.iter().filter_map(|r| r.from_ack.map(ms)).collect(),
            ok_to_prompt: results.iter().filter_map(|r| r.ok_to_prompt).collect(),
            from_digit: results
                .iter()
                .filter_map(|r| r.from_digit.map(ms))
                .collect(),
            max_gap: results.iter().filter_map(|r| r.max_gap.map(ms)).collect(),
            peak,
            cpu,
            wall,
        }
    }

    fn print(&self) {
        println!(
            "\nivr_load: {} calls at {}/s, hold {:.1} s, {:.1} s wall, {} CPUs shared by server and generator",
            self.calls,
            self.cps,
            self.hold.as_secs_f64(),
            self.wall.as_secs_f64(),
            std::thread::available_parallelism().map_or(0, |n| n.get()),
        );
        println!(
            "calls: started {}, set up {}, completed {}, failed {} (set-up failures {}); peak concurrent {}",
            self.calls,
            self.set_up,
            self.completed,
            self.calls - self.completed,
            self.setup_failed,
            self.peak
        );
        for (reason, n) in &self.reasons {
            println!("  failed: {reason}: {n}");
        }
        println!(
            "\n{:<34} {:>5} {:>8} {:>8} {:>8} {:>8}",
            "ms", "n", "p50", "p90", "p99", "max"
        );
        row("ACK → first RTP packet", &self.from_ack);
        row("200 OK → welcome prompt (marker)", &self.ok_to_prompt);
        row("digit → main menu (marker)", &self.from_digit);
        row("longest gap in server RTP", &self.max_gap);
        let per = |s: f64| s * 1000.0 / self.completed.max(1) as f64;
        println!(
            "\nCPU: server {:.2} s ({:.1} ms per completed call), generator {:.2} s ({:.1} ms per call)",
            self.cpu.server,
            per(self.cpu.server),
            self.cpu.generator,
            per(self.cpu.generator)
        );
        println!(
            "other processes on the host: {:.2} CPU s during the run (a build or test here skews the figures)",
            (self.cpu.host - self.cpu.server - self.cpu.generator).max(0.0)
        );
        println!("(the issue's target: p99 ≤ 100 ms from the ACK and from the digit)");
    }
}

fn row(name: &str, values: &[f64]) {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let p = |q: f64| percentile(&v, q).map_or("-".to_string(), |x| format!("{x:.1}"));
    println!(
        "{:<34} {:>5} {:>8} {:>8} {:>8} {:>8}",
        name,
        v.len(),
        p(0.50),
        p(0.90),
        p(0.99),
        p(1.0)
    );
}
