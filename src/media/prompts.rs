//! Prompts: every WAV under the sounds folder loaded once into memory as 8 kHz
//! 16-bit samples and shared, so playback never touches the disk. Files that are
//! not 8 kHz mono 16-bit PCM are reported and left out.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PromptError {
    #[error("{path}: cannot read WAV: {reason}")]
    Unreadable { path: String, reason: String },
    #[error(
        "{path}: must be 8000 Hz mono 16-bit PCM, found {rate} Hz, {channels} channel(s), {bits} bits"
    )]
    Format {
        path: String,
        rate: u32,
        channels: u16,
        bits: u16,
    },
}

/// Prompts by path relative to the sounds folder (`en/main_menu.wav`).
#[derive(Debug, Default)]
pub struct PromptCache {
    clips: HashMap<PathBuf, Arc<[i16]>>,
}

impl PromptCache {
    /// Loads every `.wav` below `dir`; returns the cache and the files left out.
    pub fn load(dir: &Path) -> (PromptCache, Vec<PromptError>) {
        let mut cache = PromptCache::default();
        let mut problems = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&d) else {
                continue;
            };
            for e in entries.flatten() {
                let path = e.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|x| x == "wav") {
                    match load_wav(&path) {
                        Ok(samples) => {
                            let rel = path.strip_prefix(dir).unwrap_or(&path).to_path_buf();
                            cache.clips.insert(rel, samples);
                        }
                        Err(err) => problems.push(err),
                    }
                }
            }
        }
        (cache, problems)
    }

    pub fn get(&self, rel: &Path) -> Option<Arc<[i16]>> {
        self.clips.get(rel).cloned()
    }

    pub fn len(&self) -> usize {
        self.clips.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clips.is_empty()
    }
}

/// Reads an 8 kHz mono 16-bit PCM WAV.
pub fn load_wav(path: &Path) -> Result<Arc<[i16]>, PromptError> {
    let name = path.display().to_string();
    let reader = hound::WavReader::open(path).map_err(|e| PromptError::Unreadable {
        path: name.clone(),
        reason: e.to_string(),
    })?;
    let spec = reader.spec();
    if spec.sample_rate != 8000
        || spec.channels != 1
        || spec.bits_per_sample != 16
        || spec.sample_format != hound::SampleFormat::Int
    {
        return Err(PromptError::Format {
            path: name,
            rate: spec.sample_rate,
            channels: spec.channels,
            bits: spec.bits_per_sample,
        });
    }
    reader
        .into_samples::<i16>()
        .collect::<Result<Vec<i16>, _>>()
        .map(Arc::from)
        .map_err(|e| PromptError::Unreadable {
            path: name,
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_shipped_prompts_and_rejects_other_formats() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sounds");
        let (cache, problems) = PromptCache::load(&dir);
        assert!(problems.is_empty(), "{problems:?}");
        let menu = cache
            .get(Path::new("en/main_menu.wav"))
            .expect("main menu prompt");
        assert!(menu.len() > 8000, "longer than a second");
        let tmp = tempfile::tempdir().unwrap();
        let bad = tmp.path().join("stereo.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 44100,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&bad, spec).unwrap();
        w.write_sample(0i16).unwrap();
        w.write_sample(0i16).unwrap();
        w.finalize().unwrap();
        std::fs::write(tmp.path().join("junk.wav"), b"not a wav").unwrap();
        let (cache, problems) = PromptCache::load(tmp.path());
        assert!(cache.is_empty());
        assert_eq!(problems.len(), 2, "{problems:?}");
    }
}
