//! The recogniser: one whisper model loaded once and shared by every worker; each
//! transcription gets its own decoding state. Output text is trimmed, empty and
//! bracketed non-speech markers (`[BLANK_AUDIO]`, `(music)`) are dropped.

use std::path::Path;

use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

#[derive(Debug, thiserror::Error)]
pub enum RecognizerError {
    #[error("speech model {path}: {reason}")]
    Load { path: String, reason: String },
    #[error("transcription failed: {0}")]
    Decode(String),
}

/// One piece of recognised speech, times relative to the audio given.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
}

pub struct Recognizer {
    ctx: WhisperContext,
    threads: i32,
    english_only: bool,
}

impl Recognizer {
    pub fn load(
        path: &Path,
        threads: usize,
        english_only: bool,
    ) -> Result<Recognizer, RecognizerError> {
        whisper_rs::install_logging_hooks();
        let ctx = WhisperContext::new_with_params(path, WhisperContextParameters::default())
            .map_err(|e| RecognizerError::Load {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
        Ok(Recognizer {
            ctx,
            threads: i32::try_from(threads.max(1)).unwrap_or(1),
            english_only,
        })
    }

    /// Transcribes 16 kHz mono audio; `language` is `en`, `zh`, or `None` to detect.
    pub fn transcribe(
        &self,
        pcm: &[f32],
        language: Option<&str>,
    ) -> Result<(Vec<Piece>, String), RecognizerError> {
        let decode = |e: whisper_rs::WhisperError| RecognizerError::Decode(e.to_string());
        let mut state = self.ctx.create_state().map_err(decode)?;
        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        let language = if self.english_only {
            Some("en")
        } else {
            language
        };
        params.set_language(Some(language.unwrap_or("auto")));
        params.set_n_threads(self.threads);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        params.set_no_context(true);
        params.set_suppress_blank(true);
        params.set_audio_ctx(audio_ctx(pcm.len()));
        state.full(params, pcm).map_err(decode)?;
        let detected = whisper_rs::get_lang_str(state.full_lang_id_from_state())
            .unwrap_or("en")
            .to_string();
        let mut pieces = Vec::new();
        for seg in state.as_iter() {
            let text = seg.to_str_lossy().map_err(decode)?.trim().to_string();
            let text = if detected == "zh" {
                super::chinese::to_simplified(&text)
            } else {
                text
            };
            if is_speech(&text) {
                pieces.push(Piece {
                    start_ms: seg.start_timestamp() * 10,
                    end_ms: seg.end_timestamp() * 10,
                    text,
                });
            }
        }
        Ok((pieces, detected))
    }
}

/// Encoder positions for `samples` of 16 kHz audio: whisper's window is 30 s
/// (1500 positions, 50 per second) whatever the length, which makes a 3 s
/// utterance cost as much as 30 s. Encoding only the audio there is, plus a
/// second of margin, in steps of 128, is several times faster for short speech.
fn audio_ctx(samples: usize) -> i32 {
    const FULL: usize = 1500;
    let positions = (samples / 320 + 50).div_ceil(128) * 128;
    positions.min(FULL) as i32
}

/// Whisper marks non-speech as `[BLANK_AUDIO]`, `(music)`, `*silence*`.
fn is_speech(text: &str) -> bool {
    let t = text.trim();
    let marker = [('[', ']'), ('(', ')'), ('*', '*')]
        .iter()
        .any(|(a, b)| t.starts_with(*a) && t.ends_with(*b));
    !t.is_empty() && !marker
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_audio_encodes_fewer_positions() {
        assert_eq!(super::audio_ctx(16_000 * 3), 256);
        assert_eq!(super::audio_ctx(16_000 * 10), 640);
        assert_eq!(super::audio_ctx(16_000 * 30), 1500);
        assert_eq!(super::audio_ctx(0), 128);
    }

    #[test]
    fn non_speech_markers_are_dropped() {
        for t in ["[BLANK_AUDIO]", "(music)", " *silence* ", ""] {
            assert!(!super::is_speech(t), "{t}");
        }
        assert!(super::is_speech("I want to check my order."));
    }
}
