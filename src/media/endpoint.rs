//! Finding one utterance in a caller's audio, sans-IO: fed 20 ms frames of 8 kHz
//! samples, it waits for speech to start (up to a timeout), keeps it with a short
//! lead-in, and ends it after a pause or at a maximum length. Time is counted in
//! frames, so tests run without a clock.

use std::time::Duration;

/// Samples per frame (20 ms at 8 kHz).
pub const FRAME: usize = 160;
/// RMS above which a frame counts as speech (about -36 dBFS).
const SPEECH_RMS: f64 = 520.0;
/// Frames of speech in a row that start an utterance (60 ms; clicks do not).
const ONSET_FRAMES: usize = 3;
/// Pause that ends an utterance (800 ms).
const PAUSE_FRAMES: usize = 40;
/// Audio kept from before the onset (200 ms).
const LEAD_FRAMES: usize = 10;

#[derive(Debug, Clone, PartialEq)]
pub enum Endpoint {
    /// Still waiting or still hearing.
    Pending,
    /// No speech started before the timeout.
    Silence,
    /// One utterance, with its lead-in and the pause after it.
    Utterance(Vec<i16>),
}

pub struct Endpointer {
    wait_frames: usize,
    max_frames: usize,
    frames: usize,
    loud_run: usize,
    quiet_run: usize,
    started: bool,
    done: bool,
    cut: bool,
    audio: Vec<i16>,
}

impl Endpointer {
    pub fn new(timeout: Duration, max: Duration) -> Endpointer {
        let frames = |d: Duration| (d.as_millis() / 20).max(1) as usize;
        Endpointer {
            wait_frames: frames(timeout),
            max_frames: frames(max),
            frames: 0,
            loud_run: 0,
            quiet_run: 0,
            started: false,
            done: false,
            cut: false,
            audio: Vec::with_capacity(frames(max) * FRAME),
        }
    }

    /// Takes the next 20 ms of the caller's audio; after it has decided, it
    /// ignores further audio.
    pub fn push(&mut self, frame: &[i16; FRAME]) -> Endpoint {
        let decided = self.decide(frame);
        if decided != Endpoint::Pending {
            self.done = true;
        }
        decided
    }

    fn decide(&mut self, frame: &[i16; FRAME]) -> Endpoint {
        if self.done {
            return Endpoint::Pending;
        }
        self.frames += 1;
        let loud = rms(frame) > SPEECH_RMS;
        self.audio.extend_from_slice(frame);
        if !self.started {
            self.loud_run = if loud { self.loud_run + 1 } else { 0 };
            if self.loud_run >= ONSET_FRAMES {
                self.started = true;
                self.frames = self.loud_run;
                let keep = (self.loud_run + LEAD_FRAMES) * FRAME;
                let cut = self.audio.len().saturating_sub(keep);
                self.audio.drain(..cut);
            } else {
                let keep = (self.loud_run + LEAD_FRAMES) * FRAME;
                if self.audio.len() > keep * 4 {
                    let cut = self.audio.len() - keep;
                    self.audio.drain(..cut);
                }
                if self.frames >= self.wait_frames {
                    return Endpoint::Silence;
                }
            }
            return Endpoint::Pending;
        }
        self.quiet_run = if loud { 0 } else { self.quiet_run + 1 };
        if self.quiet_run >= PAUSE_FRAMES || self.frames >= self.max_frames {
            self.cut = self.quiet_run < PAUSE_FRAMES;
            return Endpoint::Utterance(std::mem::take(&mut self.audio));
        }
        Endpoint::Pending
    }
}

impl Endpointer {
    /// Whether the utterance given was cut at the maximum length (speech went on).
    pub fn was_cut(&self) -> bool {
        self.cut
    }

    /// The utterance in progress, if speech had started (at the end of a call).
    pub fn finish(self) -> Option<Vec<i16>> {
        (self.started && !self.done).then_some(self.audio)
    }
}

fn rms(frame: &[i16]) -> f64 {
    let sum: f64 = frame.iter().map(|s| f64::from(*s).powi(2)).sum();
    (sum / frame.len() as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone() -> [i16; FRAME] {
        std::array::from_fn(|i| ((i as f64 * 0.3).sin() * 8000.0) as i16)
    }

    fn run(ep: &mut Endpointer, frames: &[[i16; FRAME]]) -> Vec<Endpoint> {
        frames
            .iter()
            .map(|f| ep.push(f))
            .filter(|e| *e != Endpoint::Pending)
            .collect()
    }

    #[test]
    fn silence_until_the_timeout() {
        let mut ep = Endpointer::new(Duration::from_secs(1), Duration::from_secs(5));
        let quiet = [[7i16; FRAME]; 49];
        assert!(run(&mut ep, &quiet).is_empty());
        assert_eq!(ep.push(&[0; FRAME]), Endpoint::Silence);
    }

    #[test]
    fn an_utterance_ends_after_a_pause_with_its_lead_in() {
        let mut ep = Endpointer::new(Duration::from_secs(5), Duration::from_secs(10));
        let mut frames = vec![[0i16; FRAME]; 30];
        frames.extend(vec![tone(); 50]);
        frames.extend(vec![[0i16; FRAME]; 39]);
        assert!(
            run(&mut ep, &frames).is_empty(),
            "a 780 ms pause is not the end"
        );
        let Endpoint::Utterance(audio) = ep.push(&[0; FRAME]) else {
            panic!("the 800 ms pause ends it")
        };
        assert_eq!(audio.len(), (LEAD_FRAMES + 50 + 40) * FRAME);
        assert!(audio[..LEAD_FRAMES * FRAME].iter().all(|s| *s == 0));
    }

    #[test]
    fn clicks_do_not_start_speech_and_long_speech_is_cut() {
        let mut ep = Endpointer::new(Duration::from_secs(2), Duration::from_secs(1));
        let mut frames = Vec::new();
        for _ in 0..10 {
            frames.extend([tone(), tone(), [0; FRAME]]);
        }
        assert!(run(&mut ep, &frames).is_empty(), "40 ms bursts are clicks");
        let out = run(&mut ep, &vec![tone(); 60]);
        let [Endpoint::Utterance(audio)] = out.as_slice() else {
            panic!("{out:?}")
        };
        assert_eq!(audio.len(), (LEAD_FRAMES + 50) * FRAME, "cut at max (1 s)");
        assert!(ep.was_cut());
    }
}
