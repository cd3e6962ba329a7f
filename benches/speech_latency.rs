//! Live transcription latency with one real call: how long after a caller stops
//! speaking their words appear in the timeline as a `transcript` event.
//!
//! For each model (`tiny.en`, `base`) it starts the release server binary with its
//! own data dir and the demo hotline always open, and a sipp caller
//! (`tests/sipp/ivr_audio.xml`) presses 2 (English) and 2 (support queue), waits a
//! second and then plays ONE pcap of G.711 A-law RTP (20 ms packets) that holds
//! N English sentences (espeak-ng en-us 150 wpm, telephone band by sox, each
//! 1.3–7 s long) separated by pauses (3 s by default). The pause packets carry
//! encoded silence, as most phones send; with `SWITCHBOARD_BENCH_DTX=1` no packets
//! are sent in the pauses (silence suppression) and the server makes the gap
//! silence itself (which adds its 60 ms gap detection to the latency). The pauses
//! are long enough that, on an idle host, the worker is free again when the next
//! sentence ends: this is one call's latency, not queueing.
//!
//! Clock and error bars. The scenario logs sipp's wall clock (`[timestamp]`, µs)
//! in the same action that starts `play_pcap_audio`; sipp then sends packet k of
//! the pcap at that instant + 20·k ms (it paces by the pcap's timestamps from the
//! start, without drift). Since the pcap is built here, we know which packet
//! carries each sentence's last speech frame (last 20 ms frame above the server's
//! speech threshold, RMS 520, as `media::endpoint` judges). So
//!
//!   end of speech = sipp log time + 20 ms · (index of that packet)
//!   latency       = occurred_at of the utterance's last transcript piece − end of speech
//!
//! Both clocks are this host's wall clock (sipp's gettimeofday, the server's
//! `occurred_at`, µs, stamped just before the event's INSERT). The reference is
//! exact to the time sipp takes from logging to sending the first packet (thread
//! start, well under 1 ms) plus its send jitter (sub-ms on an idle host; a few ms
//! while whisper holds both cores). The latency therefore includes: the
//! endpointer's 800 ms pause (the server cannot know the utterance ended before
//! that), the queue to the worker, A-law→16 kHz resampling, whisper, and the
//! timeline INSERT up to its timestamp (not the commit, ~1 ms on SQLite). The
//! "after endpoint" column subtracts those 800 ms.
//!
//! Columns per sentence: `speech` (first to last loud frame), `latency` (as above),
//! `after_ep` (latency − 800 ms: from the endpointer's decision), `first` (the same
//! for the utterance's first piece; pieces are written one after the other), and
//! `tl_est`, the estimate the timeline alone allows:
//! `occurred_at − (call_offered.occurred_at + end_ms)`. Its reference is off by the
//! delay from the call_offered event to the start of the recording (the pcap starts
//! a steady ~3.51 s after call_offered, so that part is small) and mostly by how far
//! whisper's segment end time is from the real end of speech: hundreds of ms
//! either way, which is why it is not the figure reported.
//!
//! `SWITCHBOARD_MODEL_DIR=/root/.cache/switchboard-models/installed cargo bench --bench speech_latency`
//! (`-- tiny.en` or `-- base` for one model). `SWITCHBOARD_BENCH_UTTERANCES` (1–10,
//! default 10), `SWITCHBOARD_BENCH_PAUSE_MS` (default 3000). Needs espeak-ng, sox
//! and sipp (sip-tester); without them or the models it says so and skips.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use switchboard::media::g711::{self, Law};

const MODELS: &[&str] = &["tiny.en", "base"];
const SENTENCES: &[&str] = &[
    "Hi, I need some help with my order.",
    "It was supposed to arrive last Tuesday, but nothing has come yet.",
    "Yes, that is right.",
    "The order number is four five seven two nine one.",
    "I would like to change the delivery address to my office on Main Street, please.",
    "Can you tell me when the parcel will arrive?",
    "My phone number is the same one I used when I placed the order last month.",
    "If it cannot be delivered this week, I would rather cancel the whole order and get a refund to my credit card.",
    "Thank you very much for your help.",
    "I will wait for your email with the new tracking number and the expected delivery date for the package. Goodbye.",
];
const CALLER: &str = "+8613700001111";
const FRAME: usize = 160;
/// The endpointer's speech threshold and pause (`src/media/endpoint.rs`).
const SPEECH_RMS: f64 = 520.0;
const PAUSE_MS: i64 = 800;
/// Silence in the pcap before the first sentence and after the last.
const LEAD_MS: usize = 1000;
const TAIL_MS: usize = 4000;

/// One sentence's place in the pcap, in 20 ms packets.
struct Sentence {
    text: &'static str,
    /// First and last packet with a frame above the speech threshold.
    first_loud: usize,
    last_loud: usize,
}

impl Sentence {
    fn speech_ms(&self) -> i64 {
        (self.last_loud + 1 - self.first_loud) as i64 * 20
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        // `cargo test --benches` runs this too: two 85 s calls are not a test.
        println!("speech_latency: run it with `cargo bench --bench speech_latency`");
        return;
    }
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let Some(model_dir) = std::env::var_os("SWITCHBOARD_MODEL_DIR").map(PathBuf::from) else {
        println!(
            "speech_latency skipped: SWITCHBOARD_MODEL_DIR is not set (e.g. /root/.cache/switchboard-models/installed)"
        );
        return;
    };
    for (tool, arg) in [
        ("espeak-ng", "--version"),
        ("sox", "--version"),
        ("sipp", "-v"),
    ] {
        if Command::new(tool).arg(arg).output().is_err() {
            println!("speech_latency skipped: {tool} is not installed");
            return;
        }
    }
    let dtmf = Path::new("/usr/share/sip-tester/dtmf_2833_2.pcap");
    if !dtmf.exists() {
        println!(
            "speech_latency skipped: {} is missing (sip-tester)",
            dtmf.display()
        );
        return;
    }
    let n: usize = env_num("SWITCHBOARD_BENCH_UTTERANCES", 10).clamp(1, SENTENCES.len());
    let pause_ms: usize = env_num("SWITCHBOARD_BENCH_PAUSE_MS", 3000).max(1000);
    let dtx = std::env::var("SWITCHBOARD_BENCH_DTX").is_ok_and(|v| v == "1");
    let work = tempfile::tempdir().expect("temp dir");
    let (samples, sentences) = speech_stream(work.path(), n, pause_ms);
    let pcap = work.path().join("speech.pcap");
    std::fs::write(&pcap, alaw_rtp_pcap(&samples, dtx)).expect("write pcap");
    println!(
        "{} utterances of {:.1}–{:.1} s of speech, {} ms apart, {:.1} s of RTP{}",
        sentences.len(),
        sentences.iter().map(Sentence::speech_ms).min().unwrap_or(0) as f64 / 1000.0,
        sentences.iter().map(Sentence::speech_ms).max().unwrap_or(0) as f64 / 1000.0,
        pause_ms,
        samples.len() as f64 / 8000.0,
        if dtx {
            " (no packets in the pauses)"
        } else {
            ""
        }
    );
    let mut summary = Vec::new();
    for &model in MODELS {
        if !args.is_empty() && !args.iter().any(|a| model.contains(a.as_str())) {
            continue;
        }
        if !model_dir.join(format!("ggml-{model}.bin")).exists() {
            println!(
                "{model} skipped: no ggml-{model}.bin in {}",
                model_dir.display()
            );
            continue;
        }
        match one_call(model, &model_dir, &pcap, samples.len(), &sentences) {
            Ok(line) => summary.push(line),
            Err(e) => println!("{model}: {e}"),
        }
    }
    if !summary.is_empty() {
        println!("\nsummary (one call, latency from the end of speech to the transcript event):");
        for line in summary {
            println!("  {line}");
        }
    }
}

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The caller's side: lead silence, then each sentence (8 kHz telephone band)
/// followed by `pause_ms` of silence, then a tail; all packet-aligned.
fn speech_stream(dir: &Path, n: usize, pause_ms: usize) -> (Vec<i16>, Vec<Sentence>) {
    let mut samples = vec![0i16; LEAD_MS * 8];
    let mut sentences = Vec::new();
    for (i, text) in SENTENCES.iter().take(n).enumerate() {
        let mut s = telephone_speech(dir, i, text);
        s.resize(s.len().div_ceil(FRAME) * FRAME, 0);
        let base = samples.len() / FRAME;
        let loud: Vec<usize> = s
            .chunks(FRAME)
            .enumerate()
            .filter(|(_, f)| rms(f) > SPEECH_RMS)
            .map(|(k, _)| base + k)
            .collect();
        let (Some(&first_loud), Some(&last_loud)) = (loud.first(), loud.last()) else {
            panic!("espeak-ng made no audible speech for {text:?}");
        };
        sentences.push(Sentence {
            text,
            first_loud,
            last_loud,
        });
        samples.extend_from_slice(&s);
        samples.extend(std::iter::repeat_n(0, pause_ms * 8));
    }
    samples.extend(std::iter::repeat_n(0, TAIL_MS * 8));
    (samples, sentences)
}

fn rms(frame: &[i16]) -> f64 {
    let sum: f64 = frame.iter().map(|s| f64::from(*s).powi(2)).sum();
    (sum / frame.len() as f64).sqrt()
}

/// `text` spoken by espeak-ng and cut to the telephone band at 8 kHz by sox
/// (the recipe of `tests/common::speech_pcap`).
fn telephone_speech(dir: &Path, i: usize, text: &str) -> Vec<i16> {
    let raw = dir.join(format!("s{i}-raw.wav"));
    let tel = dir.join(format!("s{i}-8k.wav"));
    let ok = Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&raw)
        .arg(text)
        .status()
        .expect("espeak-ng");
    assert!(ok.success(), "espeak-ng failed");
    let ok = Command::new("sox")
        .arg(&raw)
        .args(["-r", "8000", "-c", "1", "-b", "16"])
        .arg(&tel)
        .args(["highpass", "300", "lowpass", "3400", "norm", "-3"])
        .status()
        .expect("sox");
    assert!(ok.success(), "sox failed");
    hound::WavReader::open(&tel)
        .expect("sox output")
        .samples::<i16>()
        .map(|s| s.expect("sample"))
        .collect()
}

/// A pcap (Ethernet, IPv4, UDP) of A-law RTP packets, 20 ms apart, as
/// `tests/common` makes; with `dtx`, all-silent packets are left out (their time
/// still passes).
fn alaw_rtp_pcap(samples: &[i16], dtx: bool) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&[2, 0, 4, 0]);
    for v in [0u32, 0, 65535, 1] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    let mut seq: u16 = 0;
    for (i, chunk) in samples.chunks(FRAME).enumerate() {
        // The first packet is always sent: sipp's clock starts at it.
        if dtx && i > 0 && chunk.iter().all(|s| *s == 0) {
            continue;
        }
        let mut payload = [0xd5u8; FRAME];
        g711::encode(Law::Alaw, chunk, &mut payload[..chunk.len()]);
        let mut rtp = vec![0x80, 8];
        rtp.extend_from_slice(&seq.to_be_bytes());
        seq = seq.wrapping_add(1);
        rtp.extend_from_slice(&((i as u32) * FRAME as u32).to_be_bytes());
        rtp.extend_from_slice(&0x5eed_u32.to_be_bytes());
        rtp.extend_from_slice(&payload);
        let udp_len = 8 + rtp.len();
        let ip_len = 20 + udp_len;
        let mut pkt = vec![0u8; 12];
        pkt.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
        pkt.extend_from_slice(&(ip_len as u16).to_be_bytes());
        pkt.extend_from_slice(&[0, 0, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]);
        pkt.extend_from_slice(&6000u16.to_be_bytes());
        pkt.extend_from_slice(&6000u16.to_be_bytes());
        pkt.extend_from_slice(&(udp_len as u16).to_be_bytes());
        pkt.extend_from_slice(&[0, 0]);
        pkt.extend_from_slice(&rtp);
        // Times start at 1 s, not 0: sipp 3.6 takes a packet that follows one
        // stamped 0.000000 for the first of the file and sends it at once, which
        // would move everything after the first packet 20 ms (or a whole pause)
        // earlier than the stamps say.
        let usec = 1_000_000 + i as u64 * 20_000;
        out.extend_from_slice(&((usec / 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&((usec % 1_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(pkt.len() as u32).to_le_bytes());
        out.extend_from_slice(&(pkt.len() as u32).to_le_bytes());
        out.extend_from_slice(&pkt);
    }
    out
}

/// The server, stopped when dropped.
struct Server {
    child: Child,
    env: Vec<(String, String)>,
    dir: PathBuf,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start(
        model: &str,
        model_dir: &Path,
        dir: &Path,
    ) -> Result<(Server, String, String), String> {
        let repo = |p: &str| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join(p)
                .display()
                .to_string()
        };
        let env: Vec<(String, String)> = [
            (
                "SWITCHBOARD_DATA_DIR",
                dir.join("data").display().to_string(),
            ),
            ("SWITCHBOARD_HTTP_LISTEN", "127.0.0.1:0".into()),
            ("SWITCHBOARD_SIP_LISTEN", "127.0.0.1:0".into()),
            ("SWITCHBOARD_DIALPLANS_DIR", repo("dialplans")),
            ("SWITCHBOARD_SOUNDS_DIR", repo("sounds")),
            ("SWITCHBOARD_DIALPLAN_VARS", "open=always".into()),
            ("SWITCHBOARD_SPEECH_MODEL", model.into()),
            ("SWITCHBOARD_MODEL_DIR", model_dir.display().to_string()),
            ("RUST_LOG", "info".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let log = dir.join("server.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .arg("serve")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(dir)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).map_err(|e| e.to_string())?)
            .spawn()
            .map_err(|e| format!("starting the server: {e}"))?;
        let stdout = child.stdout.take().expect("stdout");
        let server = Server {
            child,
            env,
            dir: dir.to_path_buf(),
            log,
        };
        // The banner: `workspace  http://ADDR/` and `sip        udp:ADDR ...`.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let (mut http, mut sent) = (None, false);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let line = line.trim().to_string();
                if let Some(rest) = line.strip_prefix("workspace  http://") {
                    http = Some(rest.trim_end_matches('/').to_string());
                }
                if let (Some(h), Some(rest), false) =
                    (&http, line.strip_prefix("sip        udp:"), sent)
                {
                    let sip = rest.split_whitespace().next().unwrap_or_default();
                    let _ = tx.send((h.clone(), sip.to_string()));
                    sent = true;
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok((http, sip)) => Ok((server, http, sip)),
            Err(_) => Err(format!(
                "the server printed no addresses; log:\n{}",
                server.log_tail()
            )),
        }
    }

    fn cli(&self, args: &[&str], stdin: &str) -> Result<String, String> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(args)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .map_err(|e| e.to_string())?;
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

/// One call with `model`: the per-utterance table, and the summary line.
fn one_call(
    model: &str,
    model_dir: &Path,
    pcap: &Path,
    stream_samples: usize,
    sentences: &[Sentence],
) -> Result<String, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (server, http, sip) = Server::start(model, model_dir, dir.path())?;
    server.cli(
        &["user", "add", "bench", "--role", "agent"],
        "password-of-bench\n",
    )?;
    let token = server.cli(&["token", "create", "bench"], "")?;
    let stream_ms = stream_samples / 8;
    let scenario = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp/ivr_audio.xml"),
    )
    .map_err(|e| e.to_string())?;
    let play =
        r#"<nop><action><exec play_pcap_audio="/usr/share/sip-tester/g711a.pcap"/></action></nop>"#;
    if !scenario.contains(play) || !scenario.contains("<pause/>") {
        return Err("tests/sipp/ivr_audio.xml changed: no g711a.pcap play or <pause/>".into());
    }
    let scenario = scenario
        .replace(
            play,
            &format!(
                r#"<pause milliseconds="1000"/>
  <nop><action><log message="speech_pcap_start [timestamp]"/><exec play_pcap_audio="{}"/></action></nop>"#,
                pcap.display()
            ),
        )
        .replace(
            "<pause/>",
            &format!(r#"<pause milliseconds="{}"/>"#, stream_ms + 500),
        );
    let scenario_path = dir.path().join("caller.xml");
    std::fs::write(&scenario_path, scenario).map_err(|e| e.to_string())?;
    let sipp_log = dir.path().join("sipp.log");
    println!("\n{model}: calling (about {} s)...", stream_ms / 1000 + 5);
    let busy_before = cpu_busy_s();
    let server_before = process_cpu_s(server.child.id());
    let wall = std::time::Instant::now();
    let status = Command::new("sipp")
        .arg(&sip)
        .args(["-sf"])
        .arg(&scenario_path)
        .args(["-s", "4000", "-m", "1", "-nostdin", "-timeout"])
        .arg(format!("{}", stream_ms / 1000 + 60))
        .args([
            "-timeout_error",
            "-p",
            "0",
            "-mp",
            "0",
            "-trace_logs",
            "-log_file",
        ])
        .arg(&sipp_log)
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("sipp: {e}"))?;
    if !status.success() {
        return Err(format!(
            "the sipp call failed ({status}); server log:\n{}",
            server.log_tail()
        ));
    }
    let t0_us = std::fs::read_to_string(&sipp_log)
        .map_err(|e| format!("{}: {e}", sipp_log.display()))?
        .lines()
        .find(|l| l.starts_with("speech_pcap_start"))
        .and_then(|l| l.split_whitespace().last().and_then(epoch_us))
        .ok_or("no speech_pcap_start time in sipp's log")?;
    // Late pieces (the last utterance ends 4 s before the hang-up) have time to land.
    std::thread::sleep(Duration::from_secs(3));
    if let (Some(b0), Some(b1), Some(s0), Some(s1)) = (
        busy_before,
        cpu_busy_s(),
        server_before,
        process_cpu_s(server.child.id()),
    ) {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        println!(
            "{model}: CPU during the call ({:.0} s wall, {cpus} CPUs): server {:.1} s, everything else {:.1} s \
             (sipp and this bench take well under 1 s; more means another load shared the CPUs)",
            wall.elapsed().as_secs_f64(),
            s1 - s0,
            (b1 - b0) - (s1 - s0)
        );
    }
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let events = rt.block_on(timeline(&http, &token))?;
    drop(server);
    Ok(report(model, t0_us, sentences, &events))
}

/// CPU seconds all CPUs spent busy since boot (Linux `/proc/stat`, 100 ticks/s).
fn cpu_busy_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let cpu: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal
    let busy: u64 = [0, 1, 2, 5, 6, 7].iter().filter_map(|&i| cpu.get(i)).sum();
    Some(busy as f64 / 100.0)
}

/// CPU seconds process `pid` has used (utime + stime of `/proc/PID/stat`).
fn process_cpu_s(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of the file; 12 and 13 after "pid (name)".
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// `1796067672.670902` (sipp's `[timestamp]`, last field) to µs since the epoch.
fn epoch_us(s: &str) -> Option<i64> {
    let (secs, frac) = s.split_once('.')?;
    let frac = format!("{frac:0<6}");
    Some(secs.parse::<i64>().ok()? * 1_000_000 + frac[..6].parse::<i64>().ok()?)
}

/// The caller's timeline, oldest first.
async fn timeline(http: &str, token: &str) -> Result<Vec<serde_json::Value>, String> {
    let client = reqwest::Client::new();
    let get = |path: String| {
        let req = client
            .get(format!("http://{http}{path}"))
            .bearer_auth(token);
        async move {
            req.send()
                .await
                .map_err(|e| e.to_string())?
                .json::<serde_json::Value>()
                .await
                .map_err(|e| e.to_string())
        }
    };
    let q: String = form_urlencoded::byte_serialize(CALLER.as_bytes()).collect();
    let found = get(format!("/api/v1/customers?phone={q}")).await?;
    let id = found["items"][0]["id"]
        .as_str()
        .ok_or_else(|| format!("no customer {CALLER}: {found}"))?;
    let page = get(format!("/api/v1/customers/{id}/timeline?limit=200")).await?;
    let mut items = page["items"].as_array().cloned().unwrap_or_default();
    items.reverse();
    Ok(items)
}

fn occurred_us(e: &serde_json::Value) -> i64 {
    e["occurred_at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.timestamp_micros())
        .unwrap_or(0)
}

/// Nearest-rank percentile of sorted values.
fn percentile(sorted: &[i64], p: f64) -> i64 {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn report(model: &str, t0_us: i64, sentences: &[Sentence], events: &[serde_json::Value]) -> String {
    let offered = events
        .iter()
        .find(|e| e["payload"]["type"] == "call_offered")
        .map(occurred_us)
        .unwrap_or(0);
    let pieces: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["payload"]["type"] == "transcript" && e["payload"]["speaker"] == "caller")
        .collect();
    // Each piece to the sentence nearest its start (sentences are seconds apart).
    let ms = |packet: usize| t0_us + packet as i64 * 20_000;
    let mut of: Vec<Vec<&serde_json::Value>> = vec![Vec::new(); sentences.len()];
    let mut stray = Vec::new();
    for p in &pieces {
        let at = offered + p["payload"]["start_ms"].as_i64().unwrap_or(0) * 1000;
        let dist = |s: &Sentence| {
            let (a, b) = (
                ms(s.first_loud) - 200_000,
                ms(s.last_loud) + PAUSE_MS * 1000,
            );
            if at < a { a - at } else { (at - b).max(0) }
        };
        let best = (0..sentences.len()).min_by_key(|&i| dist(&sentences[i]));
        match best {
            Some(i) if dist(&sentences[i]) < 1_500_000 => of[i].push(p),
            _ => stray.push(p),
        }
    }
    println!(
        "{model}: speech pcap started {:.3} s after call_offered (sipp clock vs server stamp)",
        (t0_us - offered) as f64 / 1e6
    );
    println!(
        "{:>2} {:>6} {:>9} {:>9} {:>9} {:>9}  heard",
        "#", "speech", "latency", "after_ep", "first", "tl_est"
    );
    let mut latencies = Vec::new();
    let mut after_ep = Vec::new();
    let mut missing = 0;
    for (i, (s, ps)) in sentences.iter().zip(&of).enumerate() {
        let end = ms(s.last_loud);
        let Some(last) = ps.iter().max_by_key(|p| occurred_us(p)) else {
            missing += 1;
            println!(
                "{:>2} {:>5.1}s   (no transcript)  said {:?}",
                i + 1,
                s.speech_ms() as f64 / 1000.0,
                s.text
            );
            continue;
        };
        let first = ps.iter().map(|p| occurred_us(p)).min().unwrap_or(0);
        let lat = (occurred_us(last) - end) / 1000;
        let end_ms = ps
            .iter()
            .filter_map(|p| p["payload"]["end_ms"].as_i64())
            .max()
            .unwrap_or(0);
        let tl_est = (occurred_us(last) - (offered + end_ms * 1000)) / 1000;
        let text: Vec<&str> = ps
            .iter()
            .filter_map(|p| p["payload"]["text"].as_str())
            .collect();
        println!(
            "{:>2} {:>5.1}s {:>7}ms {:>7}ms {:>7}ms {:>7}ms  {:?}",
            i + 1,
            s.speech_ms() as f64 / 1000.0,
            lat,
            lat - PAUSE_MS,
            (first - end) / 1000,
            tl_est,
            text.join(" ")
        );
        latencies.push(lat);
        after_ep.push(lat - PAUSE_MS);
    }
    for p in &stray {
        println!("   stray piece (no sentence near it): {}", p["payload"]);
    }
    latencies.sort();
    after_ep.sort();
    if latencies.is_empty() {
        return format!("{model}: no transcripts");
    }
    let line = format!(
        "{model:<8} n={} (missing {missing}): p50 {} ms, max {} ms; after the endpointer's {PAUSE_MS} ms pause: p50 {} ms, max {} ms",
        latencies.len(),
        percentile(&latencies, 0.5),
        latencies[latencies.len() - 1],
        percentile(&after_ep, 0.5),
        after_ep[after_ep.len() - 1],
    );
    println!("{line}");
    line
}
