//! A call's recording task: the media tasks hand it decoded 20 ms frames of either
//! side with `try_send` (never waiting), and it writes them as a stereo WAV (caller
//! left, agent right; the right channel is silent until an agent joins) with
//! `WavRecorder` off the media path. With live transcription on, each side is
//! also cut into utterances here (`speech::segmenter`) and handed to the
//! transcription workers with `try_send` as the call goes on; an utterance they
//! cannot take is remembered as a stretch of the recording to transcribe after
//! the call. When every sender is dropped, the file is finished and its length
//! reported.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::media::recorder::{RecorderError, WavRecorder, repair};
use crate::speech::SpeechService;
use crate::speech::segmenter::{Segment, Segmenter};
use crate::speech::service::{Job, Stretch, SubmitError};
use crate::timeline::model::Speaker;

/// Frames waiting to be written before new ones are dropped (2 s).
pub const QUEUE: usize = 100;

/// How long the recording thread sleeps between batches of frames: one wake-up
/// per batch instead of one per 20 ms frame keeps hundreds of recordings cheap
/// (the queue holds ten times as much).
const BATCH: std::time::Duration = std::time::Duration::from_millis(100);

/// Samples per channel in one frame (20 ms at 8 kHz).
pub const FRAME: usize = 160;

/// Whose voice a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Caller,
    Agent,
}

/// 20 ms of one side's audio.
#[derive(Debug, Clone, Copy)]
pub struct Frame {
    pub side: Side,
    pub samples: [i16; FRAME],
}

/// Agent frames held while waiting for the caller's frame of the same instant; past
/// this (the caller sends nothing, say on mute) they are written against silence.
const AGENT_AHEAD: usize = 5;

/// Pairs the two sides' frames into interleaved stereo. The caller's stream is the
/// clock; agent frames wait for it a little, never for long.
#[derive(Default)]
pub struct StereoPairer {
    agent: VecDeque<[i16; FRAME]>,
}

impl StereoPairer {
    /// Takes one frame; calls `out` with each stereo frame now complete.
    pub fn push(&mut self, frame: Frame, mut out: impl FnMut(&[i16; 2 * FRAME])) {
        match frame.side {
            Side::Caller => {
                let right = self.agent.pop_front().unwrap_or([0; FRAME]);
                out(&interleave(&frame.samples, &right));
            }
            Side::Agent => {
                self.agent.push_back(frame.samples);
                while self.agent.len() > AGENT_AHEAD {
                    if let Some(right) = self.agent.pop_front() {
                        out(&interleave(&[0; FRAME], &right));
                    }
                }
            }
        }
    }

    /// Whatever agent audio is still waiting, against silence.
    pub fn flush(&mut self, mut out: impl FnMut(&[i16; 2 * FRAME])) {
        while let Some(right) = self.agent.pop_front() {
            out(&interleave(&[0; FRAME], &right));
        }
    }
}

fn interleave(left: &[i16; FRAME], right: &[i16; FRAME]) -> [i16; 2 * FRAME] {
    let mut both = [0i16; 2 * FRAME];
    for i in 0..FRAME {
        both[2 * i] = left[i];
        both[2 * i + 1] = right[i];
    }
    both
}

/// Transcribes a call's recording while it is made.
pub struct LiveTap {
    speech: SpeechService,
    conversation: uuid::Uuid,
    /// The caller's language (`en`, `zh`) once the dialplan has set it.
    language: tokio::sync::watch::Receiver<Option<String>>,
    caller: Segmenter,
    agent: Segmenter,
    /// Utterances the workers could not take.
    missed: Vec<Stretch>,
}

impl LiveTap {
    pub fn new(
        speech: SpeechService,
        conversation: uuid::Uuid,
        language: tokio::sync::watch::Receiver<Option<String>>,
    ) -> LiveTap {
        LiveTap {
            speech,
            conversation,
            language,
            caller: Segmenter::default(),
            agent: Segmenter::default(),
            missed: Vec::new(),
        }
    }

    fn push(&mut self, frame: &Frame) {
        let (speaker, seg) = match frame.side {
            Side::Caller => (Speaker::Caller, &mut self.caller),
            Side::Agent => (Speaker::Agent, &mut self.agent),
        };
        if let Some(segment) = seg.push(&frame.samples) {
            self.submit(speaker, segment);
        }
    }

    fn submit(&mut self, speaker: Speaker, segment: Segment) {
        let stretch = Stretch {
            speaker,
            start_ms: segment.start_ms,
            end_ms: segment.end_ms(),
        };
        let job = Job::Utterance {
            conversation: self.conversation,
            speaker,
            start_ms: segment.start_ms,
            samples: segment.samples,
            partial: segment.partial,
            language: self.language.borrow().clone(),
        };
        match self.speech.submit(job) {
            Ok(()) => {}
            Err(SubmitError::Full | SubmitError::Off) => {
                self.speech
                    .deferred
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.missed.push(stretch);
            }
        }
    }

    /// Hands over the speech still in progress; gives the stretches left over.
    fn finish(mut self) -> Vec<Stretch> {
        let caller = std::mem::take(&mut self.caller).finish();
        let agent = std::mem::take(&mut self.agent).finish();
        for (speaker, seg) in [(Speaker::Caller, caller), (Speaker::Agent, agent)] {
            if let Some(seg) = seg {
                self.submit(speaker, seg);
            }
        }
        self.missed
    }
}

/// A finished recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub duration_ms: i64,
    /// With live transcription: the stretches still to transcribe (else `None`:
    /// all of it).
    pub untranscribed: Option<Vec<Stretch>>,
}

/// Starts recording to `path` (and transcribing it live if `live` is given);
/// returns the frame sender and the task, which yields the finished recording.
pub fn start(
    path: PathBuf,
    live: Option<LiveTap>,
) -> (mpsc::Sender<Frame>, JoinHandle<Option<Finished>>) {
    let (tx, mut rx) = mpsc::channel::<Frame>(QUEUE);
    let task = tokio::task::spawn_blocking(move || {
        let rec = match WavRecorder::create(&path, 2) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "recording not started");
                return None;
            }
        };
        let mut w = Writer {
            rec,
            pairer: StereoPairer::default(),
            live,
            written: 0,
        };
        let started = std::time::Instant::now();
        let mut batch = Vec::with_capacity(QUEUE);
        while rx.blocking_recv_many(&mut batch, QUEUE) > 0 {
            // Frames of the last batch interval may wait that long: not a gap.
            let due = started.elapsed().saturating_sub(BATCH).as_millis() / 20;
            for frame in batch.drain(..) {
                if let Err(e) = w.fill_gap(due as u64).and_then(|()| w.take(frame)) {
                    tracing::error!(error = %e, "recording stopped early");
                    return None;
                }
            }
            std::thread::sleep(BATCH);
        }
        match w.finish() {
            Ok(done) => Some(done),
            Err(e) => {
                tracing::error!(error = %e, "recording not finished cleanly");
                None
            }
        }
    });
    (tx, task)
}

/// Stereo frames the recording may fall behind the clock before the gap is
/// filled with silence (100 ms: more than network jitter).
const GAP_FRAMES: u64 = 5;

/// The recording task's state: file, pairing, live transcription, and the
/// count of stereo frames written (the recording's clock).
struct Writer {
    rec: WavRecorder,
    pairer: StereoPairer,
    live: Option<LiveTap>,
    written: u64,
}

impl Writer {
    fn take(&mut self, frame: Frame) -> Result<(), RecorderError> {
        if let Some(tap) = self.live.as_mut() {
            tap.push(&frame);
        }
        let (rec, written) = (&mut self.rec, &mut self.written);
        let mut result = Ok(());
        self.pairer.push(frame, |both| {
            if result.is_ok() {
                result = rec.write(both);
                *written += 1;
            }
        });
        result
    }

    /// A caller who sends no packets (silence suppression, a gap before the
    /// first audio) is recorded as silence, so times in the recording are times
    /// in the call.
    fn fill_gap(&mut self, due: u64) -> Result<(), RecorderError> {
        while due > self.written + GAP_FRAMES {
            self.take(Frame {
                side: Side::Caller,
                samples: [0; FRAME],
            })?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Finished, RecorderError> {
        let (rec, mut result) = (&mut self.rec, Ok(()));
        self.pairer.flush(|both| {
            if result.is_ok() {
                result = rec.write(both);
            }
        });
        result?;
        let untranscribed = self.live.map(LiveTap::finish);
        let duration_ms = self.rec.finish()?;
        Ok(Finished {
            duration_ms,
            untranscribed,
        })
    }
}

/// Where a conversation's recording goes.
pub fn path_for(data_dir: &Path, conversation: uuid::Uuid) -> PathBuf {
    let day = chrono::Utc::now().format("%Y/%m/%d").to_string();
    data_dir
        .join("recordings")
        .join(day)
        .join(format!("{conversation}.wav"))
}

/// Fixes the headers of recordings cut off by a crash; returns how many changed.
pub fn repair_all(data_dir: &Path) -> usize {
    let mut fixed = 0;
    let mut stack = vec![data_dir.join("recordings")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "wav") {
                match repair(&p) {
                    Ok(true) => fixed += 1,
                    Ok(false) => {}
                    Err(err) => tracing::error!(error = %err, "recording not repaired"),
                }
            }
        }
    }
    fixed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(side: Side, v: i16) -> Frame {
        Frame {
            side,
            samples: [v; FRAME],
        }
    }

    #[test]
    fn pairs_caller_left_agent_right() {
        let mut p = StereoPairer::default();
        let mut out = Vec::new();
        p.push(frame(Side::Caller, 1), |f| out.push(*f));
        p.push(frame(Side::Agent, 2), |f| out.push(*f));
        p.push(frame(Side::Caller, 3), |f| out.push(*f));
        assert_eq!(out.len(), 2);
        assert_eq!((out[0][0], out[0][1]), (1, 0));
        assert_eq!(
            (out[1][0], out[1][1], out[1][318], out[1][319]),
            (3, 2, 3, 2)
        );
        for _ in 0..(AGENT_AHEAD + 2) {
            p.push(frame(Side::Agent, 4), |f| out.push(*f));
        }
        assert_eq!(out.len(), 4, "agent audio is not held forever");
        assert_eq!((out[2][0], out[2][1]), (0, 4));
        p.flush(|f| out.push(*f));
        assert_eq!(out.len(), 2 + AGENT_AHEAD + 2);
    }
}
