//! The transcription service: a bounded queue of work (utterances of running
//! calls, finished recordings or stretches of them) and a pool of workers sharing
//! one loaded model (which live recognition for the IVR, `live`, shares too).
//! Calls hand work over with `try_send` and never wait; a full queue is counted,
//! not waited on. Every recognised piece goes into the conversation's timeline as
//! a `transcript` event with its speaker and its time from the start of the call.
//! Without a usable model the server runs and says that transcription is off, and
//! why.

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

/// Work for the transcription workers.
#[derive(Debug, Clone)]
pub enum Job {
    /// A finished recording: all of it (`only: None`), or just these stretches
    /// (utterances live transcription could not take).
    Recording {
        conversation: Uuid,
        path: PathBuf,
        only: Option<Vec<Stretch>>,
    },
    /// One utterance of a running call, `start_ms` into its recording;
    /// `partial` when it was cut short.
    Utterance {
        conversation: Uuid,
        speaker: Speaker,
        start_ms: i64,
        samples: Vec<i16>,
        partial: bool,
        /// The call's language, if known (else the configured one).
        language: Option<String>,
    },
}

/// A stretch of one side of a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stretch {
    pub speaker: Speaker,
    pub start_ms: i64,
    pub end_ms: i64,
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
    /// Work refused because the queue was full.
    pub dropped: Arc<AtomicU64>,
    /// Utterances of running calls left for transcription after the call.
    pub deferred: Arc<AtomicU64>,
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

    /// Counters in the Prometheus text format.
    pub fn render_metrics(&self) -> String {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let counters = [
            (
                "switchboard_speech_pieces_total",
                "Transcript pieces written",
                load(&self.pieces),
            ),
            (
                "switchboard_speech_queue_full_total",
                "Utterances or recordings refused by a full transcription queue",
                load(&self.dropped),
            ),
            (
                "switchboard_speech_deferred_total",
                "Utterances of running calls deferred to after the call",
                load(&self.deferred),
            ),
            (
                "switchboard_speech_listen_heard_total",
                "IVR utterances recognised",
                load(&self.live.heard),
            ),
            (
                "switchboard_speech_listen_refused_total",
                "IVR utterances refused by a full queue",
                load(&self.live.refused),
            ),
        ];
        let mut out = String::new();
        for (name, help, v) in counters {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}\n"
            ));
        }
        let on = u8::from(self.is_on());
        out.push_str(&format!("# HELP switchboard_speech_on Transcription is on (a verified model is loaded)\n# TYPE switchboard_speech_on gauge\nswitchboard_speech_on {on}\n"));
        out
    }

    /// Queues a recording or an utterance without waiting.
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
            if let Err(e) = self.transcribe(job).await {
                tracing::error!(error = %e, "not transcribed");
            }
        }
    }

    async fn transcribe(&self, job: Job) -> Result<(), String> {
        let (recognizer, language) = (self.recognizer.clone(), self.language.clone());
        let (conversation, pieces, partial) = match job {
            Job::Recording {
                conversation,
                path,
                only,
            } => {
                let pieces = tokio::task::spawn_blocking(move || {
                    transcribe_file(&recognizer, &path, only.as_deref(), language.as_deref())
                })
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("recording of {conversation}: {e}"))?;
                (conversation, pieces, false)
            }
            Job::Utterance {
                conversation,
                speaker,
                start_ms,
                samples,
                partial,
                language: call_language,
            } => {
                let language = call_language.or(language);
                let pieces = tokio::task::spawn_blocking(move || {
                    let pcm = audio::to_16k(&samples).map_err(|e| e.to_string())?;
                    transcribe_at(&recognizer, &pcm, start_ms, speaker, language.as_deref())
                })
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("utterance of {conversation}: {e}"))?;
                (conversation, pieces, partial)
            }
        };
        self.append(conversation, pieces, partial).await
    }

    async fn append(
        &self,
        conversation: Uuid,
        pieces: Vec<(Speaker, Piece, String)>,
        partial: bool,
    ) -> Result<(), String> {
        if pieces.is_empty() {
            return Ok(());
        }
        let conv = self
            .store
            .conversation(conversation)
            .await
            .map_err(|e| e.to_string())?;
        for (speaker, piece, language) in pieces {
            let payload = EventPayload::Transcript {
                speaker,
                start_ms: piece.start_ms,
                end_ms: piece.end_ms,
                text: piece.text,
                language,
                partial,
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

/// Both channels of a recording (or the given stretches of them), utterance by
/// utterance, in call order.
fn transcribe_file(
    recognizer: &Recognizer,
    path: &std::path::Path,
    only: Option<&[Stretch]>,
    language: Option<&str>,
) -> Result<Vec<(Speaker, Piece, String)>, String> {
    let (caller, agent) = audio::read_channels(path).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (speaker, samples) in [(Speaker::Caller, caller), (Speaker::Agent, agent)] {
        let cuts: Vec<(usize, usize)> = match only {
            None => {
                let pcm = audio::to_16k(&samples).map_err(|e| e.to_string())?;
                for (start, end) in audio::utterances(&pcm) {
                    let offset = (start * 1000 / audio::RATE) as i64;
                    out.extend(transcribe_at(
                        recognizer,
                        &pcm[start..end],
                        offset,
                        speaker,
                        language,
                    )?);
                }
                continue;
            }
            Some(stretches) => stretches
                .iter()
                .filter(|s| s.speaker == speaker)
                .map(|s| (ms_to_sample(s.start_ms), ms_to_sample(s.end_ms)))
                .collect(),
        };
        for (start, end) in cuts {
            let Some(part) = samples.get(start..end.min(samples.len())) else {
                continue;
            };
            let pcm = audio::to_16k(part).map_err(|e| e.to_string())?;
            let offset = (start / 8) as i64;
            out.extend(transcribe_at(recognizer, &pcm, offset, speaker, language)?);
        }
    }
    out.sort_by_key(|(_, p, _)| p.start_ms);
    Ok(out)
}

fn ms_to_sample(ms: i64) -> usize {
    usize::try_from(ms.max(0)).unwrap_or(0) * 8
}

/// One utterance (16 kHz) that starts `offset_ms` into the call.
fn transcribe_at(
    recognizer: &Recognizer,
    pcm: &[f32],
    offset_ms: i64,
    speaker: Speaker,
    language: Option<&str>,
) -> Result<Vec<(Speaker, Piece, String)>, String> {
    let (pieces, lang) = recognizer
        .transcribe(pcm, language)
        .map_err(|e| e.to_string())?;
    Ok(pieces
        .into_iter()
        .map(|p| {
            let piece = Piece {
                start_ms: offset_ms + p.start_ms,
                end_ms: offset_ms + p.end_ms,
                text: p.text,
            };
            (speaker, piece, lang.clone())
        })
        .collect())
}
