//! Audio for the recogniser: a call recording's channels (caller left, agent
//! right) as 8 kHz samples, resampled once to whisper's 16 kHz with rubato, and
//! cut into utterances by energy with a short hangover and a maximum length, so
//! silence costs nothing and no segment exceeds whisper's 30 s window.

use std::path::Path;

use audioadapter_buffers::direct::SequentialSliceOfVecs;
use rubato::{Fft, FixedSync, Resampler};

/// Whisper's sample rate.
pub const RATE: usize = 16_000;
/// Analysis frame for the energy detector (20 ms).
const FRAME: usize = RATE / 50;
/// RMS above which a frame counts as speech (about -36 dBFS).
const SPEECH_RMS: f32 = 0.016;
/// Silence that ends an utterance.
const HANGOVER_FRAMES: usize = 25;
/// Shortest utterance worth transcribing.
const MIN_FRAMES: usize = 15;
/// Longest utterance; longer speech is cut here.
const MAX_FRAMES: usize = 20 * 50;
/// Audio kept before and after the speech.
const PAD_FRAMES: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("recording {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("recording {0}: expected 8 kHz 16-bit audio")]
    Format(String),
    #[error("resampling: {0}")]
    Resample(String),
}

/// The caller's and the agent's samples of a recording (the agent's are empty
/// for a mono file).
pub fn read_channels(path: &Path) -> Result<(Vec<i16>, Vec<i16>), AudioError> {
    let name = path.display().to_string();
    let read = |e: hound::Error| AudioError::Read {
        path: name.clone(),
        reason: e.to_string(),
    };
    let mut r = hound::WavReader::open(path).map_err(read)?;
    let spec = r.spec();
    if spec.sample_rate != 8000 || spec.bits_per_sample != 16 {
        return Err(AudioError::Format(name));
    }
    let samples: Vec<i16> = r.samples::<i16>().collect::<Result<_, _>>().map_err(read)?;
    if spec.channels == 1 {
        return Ok((samples, Vec::new()));
    }
    let ch = usize::from(spec.channels);
    let left = samples.iter().step_by(ch).copied().collect();
    let right = samples.iter().skip(1).step_by(ch).copied().collect();
    Ok((left, right))
}

/// 8 kHz telephone audio to 16 kHz floats in [-1, 1].
pub fn to_16k(samples: &[i16]) -> Result<Vec<f32>, AudioError> {
    if samples.is_empty() {
        return Ok(Vec::new());
    }
    let err = |e: &dyn std::fmt::Display| AudioError::Resample(e.to_string());
    let mut resampler =
        Fft::<f32>::new(8000, RATE, 1024, 1, 1, FixedSync::Input).map_err(|e| err(&e))?;
    let input = vec![
        samples
            .iter()
            .map(|s| f32::from(*s) / 32768.0)
            .collect::<Vec<f32>>(),
    ];
    let len = samples.len();
    let out_len = resampler.process_all_needed_output_len(len);
    let mut output = vec![vec![0f32; out_len]];
    let inp = SequentialSliceOfVecs::new(&input, 1, len).map_err(|e| err(&e))?;
    let mut out = SequentialSliceOfVecs::new_mut(&mut output, 1, out_len).map_err(|e| err(&e))?;
    let (_, produced) = resampler
        .process_all_into_buffer(&inp, &mut out, len, None)
        .map_err(|e| err(&e))?;
    let mut pcm = output.swap_remove(0);
    pcm.truncate(produced);
    Ok(pcm)
}

/// Where the speech is: `(start, end)` sample ranges of 16 kHz audio.
pub fn utterances(pcm: &[f32]) -> Vec<(usize, usize)> {
    let voiced: Vec<bool> = pcm
        .chunks(FRAME)
        .map(|f| (f.iter().map(|s| s * s).sum::<f32>() / f.len() as f32).sqrt() > SPEECH_RMS)
        .collect();
    let mut out = Vec::new();
    let mut start = None;
    let mut silent = 0;
    for (i, &v) in voiced.iter().enumerate() {
        match (start, v) {
            (None, true) => (start, silent) = (Some(i), 0),
            (Some(s), _) => {
                silent = if v { 0 } else { silent + 1 };
                if silent >= HANGOVER_FRAMES || i + 1 - s >= MAX_FRAMES {
                    push(&mut out, s, i + 1 - silent, voiced.len());
                    start = None;
                }
            }
            (None, false) => {}
        }
    }
    if let Some(s) = start {
        push(&mut out, s, voiced.len() - silent, voiced.len());
    }
    out.into_iter()
        .map(|(a, b)| (a * FRAME, (b * FRAME).min(pcm.len())))
        .collect()
}

fn push(out: &mut Vec<(usize, usize)>, start: usize, end: usize, frames: usize) {
    if end.saturating_sub(start) >= MIN_FRAMES {
        out.push((
            start.saturating_sub(PAD_FRAMES),
            (end + PAD_FRAMES).min(frames),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(ms: usize, amp: f32) -> Vec<f32> {
        (0..RATE * ms / 1000)
            .map(|i| amp * (i as f32 * 0.3).sin())
            .collect()
    }

    #[test]
    fn finds_speech_between_silences() {
        let mut pcm = tone(1000, 0.0);
        pcm.extend(tone(1500, 0.3));
        pcm.extend(tone(2000, 0.001));
        pcm.extend(tone(100, 0.3)); // a click: too short
        pcm.extend(tone(1000, 0.0));
        let u = utterances(&pcm);
        assert_eq!(u.len(), 1, "{u:?}");
        let (a, b) = u[0];
        assert!((RATE - FRAME * PAD_FRAMES..=RATE).contains(&a));
        assert!((RATE * 5 / 2..=RATE * 5 / 2 + FRAME * PAD_FRAMES).contains(&b));
    }

    #[test]
    fn long_speech_is_cut_and_silence_is_nothing() {
        assert!(utterances(&tone(3000, 0.0)).is_empty());
        let u = utterances(&tone(45_000, 0.3));
        assert!(u.len() >= 3, "{u:?}");
        assert!(u.iter().all(|(a, b)| b - a <= RATE * 21));
    }

    #[test]
    fn resamples_to_twice_the_length() {
        let pcm = to_16k(&vec![1000i16; 8000]).unwrap();
        assert!((pcm.len() as i64 - 16000).abs() < 100, "{}", pcm.len());
        assert!(to_16k(&[]).unwrap().is_empty());
    }
}
