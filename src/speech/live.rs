//! Recognising one utterance while the caller waits (the IVR's `listen` step).
//! Utterances go through their own bounded queue to their own workers, so a
//! caller never waits behind the transcription of finished recordings; a full
//! queue is refused at once and the dialplan takes its `unavailable` branch.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::audio;
use super::recognizer::Recognizer;
use super::service::SubmitError;

/// Utterances waiting for a worker, at most.
const QUEUE: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HearError {
    #[error("recognition failed: {0}")]
    Failed(String),
    #[error("recognition stopped (shutdown)")]
    Stopped,
}

pub type Heard = Result<String, HearError>;

struct Utterance {
    samples: Vec<i16>,
    language: Option<String>,
    reply: oneshot::Sender<Heard>,
}

/// The handle calls use; cloning shares the queue.
#[derive(Clone, Default)]
pub struct LiveRecognition {
    tx: Option<mpsc::Sender<Utterance>>,
    /// Utterances refused because the queue was full.
    pub refused: Arc<AtomicU64>,
    /// Utterances recognised.
    pub heard: Arc<AtomicU64>,
}

impl LiveRecognition {
    /// Starts `workers` workers on the shared model.
    pub fn start(
        recognizer: Arc<Recognizer>,
        workers: usize,
        shutdown: CancellationToken,
    ) -> LiveRecognition {
        let (tx, rx) = mpsc::channel(QUEUE);
        let live = LiveRecognition {
            tx: Some(tx),
            ..Default::default()
        };
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..workers.max(1) {
            tokio::spawn(work(
                recognizer.clone(),
                rx.clone(),
                live.heard.clone(),
                shutdown.clone(),
            ));
        }
        live
    }

    pub fn is_on(&self) -> bool {
        self.tx.is_some()
    }

    /// Queues 8 kHz audio in `language` (`en`, `zh`; `None` detects) without
    /// waiting; the text arrives on the returned receiver.
    pub fn hear(
        &self,
        samples: Vec<i16>,
        language: Option<&str>,
    ) -> Result<oneshot::Receiver<Heard>, SubmitError> {
        let tx = self.tx.as_ref().ok_or(SubmitError::Off)?;
        let (reply, rx) = oneshot::channel();
        let utterance = Utterance {
            samples,
            language: language.map(str::to_string),
            reply,
        };
        tx.try_send(utterance).map_err(|_| {
            self.refused.fetch_add(1, Ordering::Relaxed);
            SubmitError::Full
        })?;
        Ok(rx)
    }
}

async fn work(
    recognizer: Arc<Recognizer>,
    queue: Arc<Mutex<mpsc::Receiver<Utterance>>>,
    heard: Arc<AtomicU64>,
    shutdown: CancellationToken,
) {
    loop {
        let u = tokio::select! {
            _ = shutdown.cancelled() => return,
            u = async { queue.lock().await.recv().await } => match u {
                Some(u) => u,
                None => return,
            },
        };
        if u.reply.is_closed() {
            continue; // the call ended or gave up meanwhile
        }
        let r = recognizer.clone();
        let started = std::time::Instant::now();
        let seconds = u.samples.len() as f64 / 8000.0;
        let text =
            tokio::task::spawn_blocking(move || recognise(&r, &u.samples, u.language.as_deref()))
                .await
                .unwrap_or_else(|e| Err(HearError::Failed(e.to_string())));
        if text.is_ok() {
            heard.fetch_add(1, Ordering::Relaxed);
            tracing::info!(
                audio_s = seconds,
                took_ms = started.elapsed().as_millis() as u64,
                "utterance recognised"
            );
        }
        if u.reply.send(text).is_err() {
            tracing::debug!("utterance recognised after its call stopped waiting");
        }
    }
}

/// The words in `samples`, pieces joined (without spaces for Chinese).
fn recognise(r: &Recognizer, samples: &[i16], language: Option<&str>) -> Heard {
    let fail = |e: &dyn std::fmt::Display| HearError::Failed(e.to_string());
    let pcm = audio::to_16k(samples).map_err(|e| fail(&e))?;
    let (pieces, detected) = r.transcribe(&pcm, language).map_err(|e| fail(&e))?;
    let glue = if detected == "zh" { "" } else { " " };
    Ok(pieces
        .iter()
        .map(|p| p.text.as_str())
        .collect::<Vec<_>>()
        .join(glue))
}
