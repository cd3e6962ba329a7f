//! The dialplans in force: an immutable snapshot swapped atomically on reload. A
//! reload that finds any error keeps the old snapshot and keeps the errors for the
//! log and the API. A call holds the `Arc` of the plan it started with, so an edit
//! never changes a running call. Edits through the API (`edit`) take the registry's
//! edit lock so that two saves never interleave.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use super::load::{Diagnostic, Dialplan, is_plan_file, load_dir};

#[derive(Debug, Default)]
pub struct DialplanSet {
    pub plans: Vec<Arc<Dialplan>>,
    pub version: u64,
}

impl DialplanSet {
    /// The plan for a dialed number: by DID, else the default plan.
    pub fn route(&self, did: &str) -> Option<Arc<Dialplan>> {
        self.plans
            .iter()
            .find(|p| p.file.matching.dids.iter().any(|d| d.value == did))
            .or_else(|| self.plans.iter().find(|p| p.file.matching.default))
            .cloned()
    }
}

/// The shared registry. A std `RwLock`: reads clone an `Arc` and never await.
pub struct Registry {
    dir: PathBuf,
    sounds: PathBuf,
    current: RwLock<Arc<DialplanSet>>,
    problems: RwLock<Vec<Diagnostic>>,
    /// The folder as the last reload read it, so the watcher reloads only on change.
    loaded: Mutex<Fingerprint>,
    edits: tokio::sync::Mutex<()>,
}

type Fingerprint = Vec<(PathBuf, SystemTime, u64)>;

impl Registry {
    /// Loads `dir`; errors leave the registry empty (no plan answers) and reported.
    pub fn load(dir: &Path, sounds: &Path) -> Registry {
        let r = Registry {
            dir: dir.into(),
            sounds: sounds.into(),
            current: RwLock::new(Arc::default()),
            problems: RwLock::new(vec![]),
            loaded: Mutex::new(Vec::new()),
            edits: tokio::sync::Mutex::new(()),
        };
        r.reload();
        r
    }

    pub fn current(&self) -> Arc<DialplanSet> {
        self.current.read().map(|g| g.clone()).unwrap_or_default()
    }

    pub fn problems(&self) -> Vec<Diagnostic> {
        self.problems.read().map(|g| g.clone()).unwrap_or_default()
    }

    /// The dialplans folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The sounds folder prompts are checked against.
    pub fn sounds(&self) -> &Path {
        &self.sounds
    }

    /// Held by a save from its check of the file on disk until its reload.
    pub async fn lock_edits(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.edits.lock().await
    }

    /// Re-reads the folder; activates it only when it has no errors. Returns true
    /// when the new set is active.
    pub fn reload(&self) -> bool {
        if let Ok(mut seen) = self.loaded.lock() {
            *seen = fingerprint(&self.dir);
        }
        let (plans, diags) = load_dir(&self.dir, &self.sounds);
        let failed = diags.iter().any(|d| !d.warning);
        for d in &diags {
            if d.warning {
                tracing::warn!("{d}")
            } else {
                tracing::error!("{d}")
            }
        }
        if let Ok(mut p) = self.problems.write() {
            *p = diags;
        }
        if failed {
            tracing::error!(dir = %self.dir.display(), "dialplans not activated; the previous version stays in force");
            return false;
        }
        let version = self.current().version + 1;
        let set = DialplanSet {
            plans: plans.into_iter().map(Arc::new).collect(),
            version,
        };
        tracing::info!(version, plans = set.plans.len(), "dialplans activated");
        if let Ok(mut c) = self.current.write() {
            *c = Arc::new(set);
        }
        true
    }

    /// Watches the folder (by modification times, once a second) and reloads on change;
    /// a tick during a save is skipped, as the save reloads by itself.
    pub fn watch(self: Arc<Self>, shutdown: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
                // A save in progress reloads by itself once its file is in place.
                let Ok(_edit) = self.edits.try_lock() else {
                    continue;
                };
                let changed = self
                    .loaded
                    .lock()
                    .map(|seen| *seen != fingerprint(&self.dir))
                    .unwrap_or(true);
                if changed {
                    self.reload();
                }
            }
        })
    }
}

/// Names, times and sizes of the dialplan files (not of temporary files beside them).
fn fingerprint(dir: &Path) -> Fingerprint {
    let mut out: Fingerprint = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| is_plan_file(&e.path()))
                .filter_map(|e| {
                    let m = e.metadata().ok()?;
                    Some((e.path(), m.modified().ok()?, m.len()))
                })
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}
