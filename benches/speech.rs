//! Speech recognition benchmark: our pipeline's processing time per clip of
//! telephone speech, for each installed model (`tiny.en`, `base`) with 2 threads.
//!
//! The clips are made once at start: English sentences spoken by espeak-ng (en-us,
//! 150 wpm), cut to the telephone band at 8 kHz by sox (as `tests/common`'s
//! `speech_pcap`), and A-law encoded (what arrives in RTP). Each timed iteration
//! does what the server does with an utterance: A-law decode → `audio::to_16k` →
//! `Recognizer::transcribe` (language `en`, the call's language after the caller
//! pressed 2). Three cases per model:
//!
//! - `clip_10s`: a ~10 s clip of three sentences;
//! - `utterance_3s`: a ~3 s utterance (the IVR `listen` case), with the encoder
//!   context sized to the audio (`recognizer.rs`, `audio_ctx`: 256 positions);
//! - `utterance_3s_full_ctx`: the same audio through whisper-rs directly with the
//!   same parameters but whisper's default context (1500 positions = 30 s), to
//!   show what that sizing saves.
//!
//! Besides criterion's estimates it prints, per case, the transcript, its word
//! error rate and the real-time factor (audio seconds / median processing seconds).
//!
//! `SWITCHBOARD_MODEL_DIR=/root/.cache/switchboard-models/installed cargo bench --bench speech`
//! (`-- tiny.en` or `-- base` for one model). Without the model dir, a model file,
//! espeak-ng or sox it prints why and skips.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use switchboard::media::g711::{self, Law};
use switchboard::speech::audio;
use switchboard::speech::model;
use switchboard::speech::recognizer::Recognizer;
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

const THREADS: usize = 2;
const MODELS: &[&str] = &["tiny.en", "base"];
const CLIP_10S: &str = "Hello, I am calling about my order. It was supposed to arrive last \
    Tuesday, but nothing has come yet. Could you please check the delivery status for me?";
const UTTERANCE_3S: &str = "I want to check the status of my order please";

/// A clip as it arrives in RTP: 8 kHz A-law, with what was said.
struct Clip {
    said: &'static str,
    alaw: Vec<u8>,
}

impl Clip {
    fn seconds(&self) -> f64 {
        self.alaw.len() as f64 / 8000.0
    }
}

/// Why the benchmark cannot run here, if it cannot.
fn missing_tools() -> Option<String> {
    for (tool, arg) in [("espeak-ng", "--version"), ("sox", "--version")] {
        let ok = Command::new(tool)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            return Some(format!("{tool} is not installed"));
        }
    }
    None
}

/// `text` spoken by espeak-ng, telephone band at 8 kHz, A-law encoded.
fn make_clip(dir: &Path, name: &str, text: &'static str) -> Result<Clip, String> {
    let raw = dir.join(format!("{name}-raw.wav"));
    let tel = dir.join(format!("{name}-8k.wav"));
    let run = |c: &mut Command| -> Result<(), String> {
        let out = c.output().map_err(|e| format!("{c:?}: {e}"))?;
        out.status
            .success()
            .then_some(())
            .ok_or_else(|| format!("{c:?}: {}", String::from_utf8_lossy(&out.stderr)))
    };
    run(Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&raw)
        .arg(text))?;
    run(Command::new("sox")
        .arg(&raw)
        .args(["-r", "8000", "-c", "1", "-b", "16"])
        .arg(&tel)
        .args(["highpass", "300", "lowpass", "3400", "norm", "-3"]))?;
    let samples: Vec<i16> = hound::WavReader::open(&tel)
        .map_err(|e| e.to_string())?
        .samples::<i16>()
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let mut alaw = vec![0u8; samples.len()];
    g711::encode(Law::Alaw, &samples, &mut alaw);
    Ok(Clip { said: text, alaw })
}

/// The server's processing of one utterance: A-law → 16 kHz floats → text.
fn pipeline(r: &Recognizer, clip: &Clip) -> String {
    let pcm = to_pcm_16k(clip);
    let (pieces, _) = r.transcribe(&pcm, Some("en")).expect("transcribe");
    pieces
        .iter()
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn to_pcm_16k(clip: &Clip) -> Vec<f32> {
    let mut samples = vec![0i16; clip.alaw.len()];
    g711::decode(Law::Alaw, &clip.alaw, &mut samples);
    audio::to_16k(&samples).expect("resample")
}

/// Baseline for the encoder context sizing: the same decoding parameters as
/// `Recognizer::transcribe` (keep in step with `src/speech/recognizer.rs`),
/// except that the encoder gets whisper's default context (1500 positions, 30 s).
struct FullContext {
    ctx: WhisperContext,
    english_only: bool,
}

impl FullContext {
    fn transcribe(&self, clip: &Clip) -> String {
        let pcm = to_pcm_16k(clip);
        let mut state = self.ctx.create_state().expect("state");
        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        let _ = self.english_only; // "en" either way here
        params.set_language(Some("en"));
        params.set_n_threads(THREADS as i32);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        params.set_no_context(true);
        params.set_suppress_blank(true);
        params.set_audio_ctx(0); // 0 = the model's own (1500)
        state.full(params, &pcm).expect("full");
        let mut text = Vec::new();
        for seg in state.as_iter() {
            let t = seg.to_str_lossy().expect("segment").trim().to_string();
            if !t.is_empty() && !t.starts_with('[') && !t.starts_with('(') {
                text.push(t);
            }
        }
        text.join(" ")
    }
}

/// Word error rate of `heard` against `said` (lower case, punctuation ignored).
fn wer(said: &str, heard: &str) -> f64 {
    let words = |s: &str| -> Vec<String> {
        s.split_whitespace()
            .map(|w| {
                w.trim_matches(|c: char| !c.is_alphanumeric())
                    .to_lowercase()
            })
            .filter(|w| !w.is_empty())
            .collect()
    };
    let (a, b) = (words(said), words(heard));
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, wa) in a.iter().enumerate() {
        let mut row = vec![i + 1];
        for (j, wb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(wa != wb);
            row.push(sub.min(prev[j + 1] + 1).min(row[j] + 1));
        }
        prev = row;
    }
    prev[b.len()] as f64 / a.len().max(1) as f64
}

/// Runs one case: an untimed probe (transcript, WER, sizing of the measurement
/// time), criterion's samples (one iteration each), and the real-time factor
/// from the median of the timed iterations.
fn case(
    c: &mut Criterion,
    model: &str,
    name: &str,
    clip: &Clip,
    mut run: impl FnMut(&Clip) -> String,
    summary: &Mutex<Vec<String>>,
) {
    let id = format!("speech/{model}/{name}");
    if !wanted(&id) {
        return;
    }
    let t = Instant::now();
    let heard = run(clip);
    let probe = t.elapsed();
    println!(
        "{id}: {:.2} s of audio heard as {heard:?} (WER {:.2}), first run {:.3} s",
        clip.seconds(),
        wer(clip.said, &heard),
        probe.as_secs_f64()
    );
    let mut group = c.benchmark_group(format!("speech/{model}"));
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        // About two iterations per sample (one would make criterion warn).
        .measurement_time(probe.mul_f64(12.0).max(Duration::from_secs(1)));
    let (busy0, own0) = (cpu_busy_s(), own_cpu_s());
    let mut times = Vec::new();
    let mut heard_as = std::collections::BTreeSet::from([heard]);
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let text = std::hint::black_box(run(clip));
                let d = t.elapsed();
                times.push(d);
                heard_as.insert(text);
                total += d;
            }
            total
        })
    });
    group.finish();
    if times.is_empty() {
        return;
    }
    // CPU others used meanwhile (a build or test on the same machine skews the times).
    let others = match (busy0, cpu_busy_s(), own0, own_cpu_s()) {
        (Some(b0), Some(b1), Some(o0), Some(o1)) => {
            format!(", other processes {:.1} CPU-s", (b1 - b0) - (o1 - o0))
        }
        _ => String::new(),
    };
    times.sort();
    let median = times[times.len() / 2].as_secs_f64();
    // Whisper falls back to sampling at a higher temperature when a greedy
    // decode looks wrong: more than one transcript means some runs decoded twice.
    let line = format!(
        "{id:<38} audio {:>5.2} s  median {:>6.3} s  min {:>6.3} s  max {:>6.3} s  real-time factor {:>5.1}x  ({} runs, {} distinct transcripts{others})",
        clip.seconds(),
        median,
        times[0].as_secs_f64(),
        times[times.len() - 1].as_secs_f64(),
        clip.seconds() / median,
        times.len(),
        heard_as.len()
    );
    if heard_as.len() > 1 {
        for t in &heard_as {
            println!("    heard as {t:?}");
        }
    }
    println!("{line}");
    summary.lock().unwrap().push(line);
}

fn speech(c: &mut Criterion) {
    let Some(dir) = std::env::var_os("SWITCHBOARD_MODEL_DIR").map(PathBuf::from) else {
        println!(
            "speech bench skipped: SWITCHBOARD_MODEL_DIR is not set (e.g. /root/.cache/switchboard-models/installed, or scripts/fetch-model)"
        );
        return;
    };
    if !dir.is_dir() {
        println!(
            "speech bench skipped: SWITCHBOARD_MODEL_DIR {} is not a directory",
            dir.display()
        );
        return;
    }
    if let Some(why) = missing_tools() {
        println!("speech bench skipped: {why}");
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let clips = make_clip(tmp.path(), "clip10", CLIP_10S)
        .and_then(|a| Ok((a, make_clip(tmp.path(), "utt3", UTTERANCE_3S)?)));
    let (clip10, utt3) = match clips {
        Ok(c) => c,
        Err(e) => {
            println!("speech bench skipped: could not make the test speech: {e}");
            return;
        }
    };
    let summary = Mutex::new(Vec::new());
    for &name in MODELS {
        let cases = ["clip_10s", "utterance_3s", "utterance_3s_full_ctx"];
        if !cases.iter().any(|k| wanted(&format!("speech/{name}/{k}"))) {
            continue;
        }
        let (path, spec) = match model::verified_path(&dir, name) {
            Ok(x) => x,
            Err(e) => {
                println!("speech bench: {name} skipped: {e}");
                continue;
            }
        };
        let r = match Recognizer::load(&path, THREADS, spec.english_only) {
            Ok(r) => r,
            Err(e) => {
                println!("speech bench: {name} skipped: {e}");
                continue;
            }
        };
        case(
            c,
            name,
            "clip_10s",
            &clip10,
            |cl| pipeline(&r, cl),
            &summary,
        );
        case(
            c,
            name,
            "utterance_3s",
            &utt3,
            |cl| pipeline(&r, cl),
            &summary,
        );
        drop(r);
        let full = FullContext {
            ctx: WhisperContext::new_with_params(&path, WhisperContextParameters::default())
                .expect("model loads"),
            english_only: spec.english_only,
        };
        case(
            c,
            name,
            "utterance_3s_full_ctx",
            &utt3,
            |cl| full.transcribe(cl),
            &summary,
        );
    }
    let summary = summary.into_inner().unwrap();
    if !summary.is_empty() {
        println!("\nsummary ({THREADS} threads, {} CPUs):", num_cpus());
        for line in summary {
            println!("  {line}");
        }
    }
}

/// Whether benchmark `id` passes the filter given on the command line (a regex,
/// as criterion reads it), so filtered-out models are not even loaded.
fn wanted(id: &str) -> bool {
    const TAKES_VALUE: &[&str] = &[
        "--save-baseline",
        "-s",
        "--baseline",
        "-b",
        "--baseline-lenient",
        "--load-baseline",
        "--color",
        "-c",
        "--format",
        "--output-format",
        "--plotting-backend",
        "--profile-time",
        "--sample-size",
        "--warm-up-time",
        "--measurement-time",
        "--nresamples",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
    ];
    let mut args = std::env::args().skip(1);
    let mut filter = None;
    while let Some(a) = args.next() {
        if TAKES_VALUE.contains(&a.as_str()) {
            args.next();
        } else if !a.starts_with('-') {
            filter = Some(a);
            break;
        }
    }
    filter.is_none_or(|f| regex::Regex::new(&f).map_or(id.contains(&f), |re| re.is_match(id)))
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

/// CPU seconds this process has used (`/proc/self/stat` utime + stime).
fn own_cpu_s() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let f: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = speech
}
criterion_main!(benches);
