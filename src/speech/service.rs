//! The transcription service: a bounded queue of finished call recordings and a
//! pool of workers sharing one loaded model (which live recognition for the IVR,
//! `live`, shares too). Calls hand recordings over with
//! `try_send` and never wait; a full queue is counted, not waited on. Each channel
//! of a recording is cut into utterances and transcribed, and every piece goes
//! into the conversation's timeline as a `transcript` event with its speaker and
//! its time from the start of the call. Without a usable model the server runs and
//! says that transcription is off, and why.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::audio;
use super::live::LiveRecognition;
use super::model;
use super::recognizer::{Piece, Recognizer};
use crate::config::Config;
use crate::timeline::TimelineStore;
use crate::timeline::model::{EventPayload, NewEvent, Speaker};

/// Recordings waiting for a worker, at most.
const QUEUE: usize = 256;

/// A finished recording to transcribe.
#[derive(Debug, Clone)]
pub struct Job {
    pub conversation: Uuid,
    pub path: PathBuf,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SubmitError {
    #[error("transcription is off")]
    Off,
    #[error("transcription queue is full")]
    Full,
}

#[derive(Clone, Default)]
pub struct SpeechService {
    tx: Option<mpsc::Sender<Job>>,
    /// Utterances the IVR waits for (its own queue and workers).
    pub live: LiveRecognition,
    /// Recordings not transcribed because the queue was full.
    pub dropped: Arc<AtomicU64>,
    /// Transcript pieces written.
    pub pieces: Arc<AtomicU64>,
}

impl SpeechService {
    /// Verifies and loads the configured model and starts the workers; returns an
    /// `off` service (and logs why) when there is no usable model.
    pub async fn start(
        config: &Config,
        store: TimelineStore,
        shutdown: CancellationToken,
    ) -> SpeechService {
        let speech = config.speech.clone();
        if speech.model.is_empty() {
            tracing::info!("transcription is off (speech.model is empty)");
            return SpeechService::default();
        }
        let dir = speech.models_dir(&config.data_dir);
        let name = speech.model.clone();
        let threads = speech.threads;
        let loaded = tokio::task::spawn_blocking(move || -> Result<Recognizer, String> {
            let (path, spec) = model::verified_path(&dir, &name).map_err(|e| e.to_string())?;
            Recognizer::load(&path, threads, spec.english_only).map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
        let recognizer = match loaded {
            Ok(r) => Arc::new(r),
            Err(reason) => {
                tracing::warn!("transcription is off: {reason}");
                return SpeechService::default();
            }
        };
        tracing::info!(model = %speech.model, workers = speech.workers, "transcription is on");
        let (tx, rx) = mpsc::channel(QUEUE);
        let service = SpeechService {
            tx: Some(tx),
            live: LiveRecognition::start(recognizer.clone(), speech.live_workers, shutdown.clone()),
            ..Default::default()
        };
        let rx = Arc::new(Mutex::new(rx));
        let language = match speech.language.as_str() {
            "auto" | "" => None,
            l => Some(l.to_string()),
        };
        for _ in 0..speech.workers.max(1) {
            let worker = Worker {
                recognizer: recognizer.clone(),
                store: store.clone(),
                language: language.clone(),
                pieces: service.pieces.clone(),
            };
            tokio::spawn(worker.run(rx.clone(), shutdown.clone()));
        }
        service
    }

    pub fn is_on(&self) -> bool {
        self.tx.is_some()
    }

    /// Queues a recording without waiting.
    pub fn submit(&self, job: Job) -> Result<(), SubmitError> {
        let tx = self.tx.as_ref().ok_or(SubmitError::Off)?;
        tx.try_send(job).map_err(|_| {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            SubmitError::Full
        })
    }
}

struct Worker {
    recognizer: Arc<Recognizer>,
    store: TimelineStore,
    language: Option<String>,
    pieces: Arc<AtomicU64>,
}

impl Worker {
    async fn run(self, jobs: Arc<Mutex<mpsc::Receiver<Job>>>, shutdown: CancellationToken) {
        loop {
            let job = tokio::select! {
                _ = shutdown.cancelled() => return,
                job = async { jobs.lock().await.recv().await } => match job {
                    Some(j) => j,
                    None => return,
                },
            };
            if let Err(e) = self.transcribe(&job).await {
                tracing::error!(conversation = %job.conversation, error = %e, "recording not transcribed");
            }
        }
    }

    async fn transcribe(&self, job: &Job) -> Result<(), String> {
        let (recognizer, path, language) = (
            self.recognizer.clone(),
            job.path.clone(),
            self.language.clone(),
        );
        let pieces = tokio::task::spawn_blocking(move || {
            transcribe_file(&recognizer, &path, language.as_deref())
        })
        .await
        .map_err(|e| e.to_string())??;
        let conv = self
            .store
            .conversation(job.conversation)
            .await
            .map_err(|e| e.to_string())?;
        for (speaker, piece, language) in pieces {
            let payload = EventPayload::Transcript {
                speaker,
                start_ms: piece.start_ms,
                end_ms: piece.end_ms,
                text: piece.text,
                language,
                partial: false,
            };
            let event = NewEvent {
                conversation_id: Some(conv.id),
                payload,
            };
            self.store
                .append(conv.customer_id, event)
                .await
                .map_err(|e| e.to_string())?;
            self.pieces.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// Both channels of a recording, utterance by utterance, in call order.
fn transcribe_file(
    recognizer: &Recognizer,
    path: &std::path::Path,
    language: Option<&str>,
) -> Result<Vec<(Speaker, Piece, String)>, String> {
    let (caller, agent) = audio::read_channels(path).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (speaker, samples) in [(Speaker::Caller, caller), (Speaker::Agent, agent)] {
        let pcm = audio::to_16k(&samples).map_err(|e| e.to_string())?;
        for (start, end) in audio::utterances(&pcm) {
            let offset = (start * 1000 / audio::RATE) as i64;
            let (pieces, lang) = recognizer
                .transcribe(&pcm[start..end], language)
                .map_err(|e| e.to_string())?;
            out.extend(pieces.into_iter().map(|p| {
                let piece = Piece {
                    start_ms: offset + p.start_ms,
                    end_ms: offset + p.end_ms,
                    text: p.text,
                };
                (speaker, piece, lang.clone())
            }));
        }
    }
    out.sort_by_key(|(_, p, _)| p.start_ms);
    Ok(out)
}
