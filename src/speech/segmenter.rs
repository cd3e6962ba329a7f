//! Cutting one side of a running call into utterances for live transcription,
//! sans-IO: fed that side's 20 ms frames as they are recorded, it gives each
//! utterance with its time from the start of the recording. One `Endpointer`
//! after another, each waiting as long as it takes for speech.

use std::time::Duration;

use crate::media::endpoint::{Endpoint, Endpointer, FRAME};

/// Longest utterance handed over at once (whisper hears 30 s at most).
const MAX_UTTERANCE: Duration = Duration::from_secs(20);
/// Waiting for speech never ends on its own.
const NO_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// One utterance: samples at 8 kHz, starting `start_ms` into the recording.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub start_ms: i64,
    pub samples: Vec<i16>,
    /// Cut short (at the maximum length, or by the end of the call).
    pub partial: bool,
}

impl Segment {
    pub fn end_ms(&self) -> i64 {
        self.start_ms + (self.samples.len() / 8) as i64
    }
}

pub struct Segmenter {
    endpointer: Endpointer,
    frames: i64,
}

impl Default for Segmenter {
    fn default() -> Self {
        Segmenter {
            endpointer: Endpointer::new(NO_TIMEOUT, MAX_UTTERANCE),
            frames: 0,
        }
    }
}

impl Segmenter {
    /// Takes the side's next frame; gives an utterance when one has ended.
    pub fn push(&mut self, frame: &[i16; FRAME]) -> Option<Segment> {
        self.frames += 1;
        match self.endpointer.push(frame) {
            Endpoint::Pending => None,
            Endpoint::Silence => {
                self.restart();
                None
            }
            Endpoint::Utterance(samples) => {
                let partial = self.endpointer.was_cut();
                self.restart();
                Some(self.segment(samples, partial))
            }
        }
    }

    /// The utterance still in progress when the call ends.
    pub fn finish(self) -> Option<Segment> {
        let frames = self.frames;
        self.endpointer.finish().map(|samples| Segment {
            start_ms: frames * 20 - (samples.len() / 8) as i64,
            samples,
            partial: true,
        })
    }

    fn restart(&mut self) {
        self.endpointer = Endpointer::new(NO_TIMEOUT, MAX_UTTERANCE);
    }

    fn segment(&self, samples: Vec<i16>, partial: bool) -> Segment {
        let len_ms = (samples.len() / 8) as i64;
        Segment {
            start_ms: (self.frames * 20 - len_ms).max(0),
            samples,
            partial,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone() -> [i16; FRAME] {
        std::array::from_fn(|i| ((i as f64 * 0.3).sin() * 8000.0) as i16)
    }

    #[test]
    fn utterances_come_one_after_another_with_their_times() {
        let mut seg = Segmenter::default();
        let mut out = Vec::new();
        let mut feed = |f: [i16; FRAME], n: usize, out: &mut Vec<Segment>| {
            for _ in 0..n {
                out.extend(seg.push(&f));
            }
        };
        feed([0; FRAME], 100, &mut out); // 2 s of silence
        feed(tone(), 50, &mut out); // 1 s of speech at 2.0 s
        feed([0; FRAME], 100, &mut out);
        feed(tone(), 25, &mut out); // 0.5 s at 5.0 s
        feed([0; FRAME], 60, &mut out);
        assert_eq!(
            out.len(),
            2,
            "{:?}",
            out.iter().map(|s| s.start_ms).collect::<Vec<_>>()
        );
        // Each keeps 200 ms before the onset and the 800 ms pause after it.
        assert_eq!((out[0].start_ms, out[0].end_ms()), (1800, 3800));
        assert_eq!((out[1].start_ms, out[1].end_ms()), (4800, 6300));
        assert!(out.iter().all(|s| !s.partial), "ended by a pause");
    }

    #[test]
    fn speech_cut_off_by_the_end_of_the_call_is_kept() {
        let mut seg = Segmenter::default();
        for _ in 0..10 {
            assert!(seg.push(&[0; FRAME]).is_none());
        }
        for _ in 0..30 {
            assert!(seg.push(&tone()).is_none());
        }
        let last = seg.finish().expect("speech in progress");
        assert_eq!((last.start_ms, last.end_ms()), (0, 800));
        assert!(last.partial, "the hang-up cut it");
        assert!(Segmenter::default().finish().is_none());
    }
}
