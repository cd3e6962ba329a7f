//! Editing dialplans through the API: reading a plan's source, checking a candidate
//! text against the whole folder exactly as a reload would, and saving it only when
//! the folder stays free of errors — written atomically (temporary file, fsync,
//! rename), recorded in the history, then activated. A rollback saves an old
//! version again, through the same checks.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use uuid::Uuid;

use super::history::{History, HistoryError, NewVersion, sha256_hex};
use super::load::{Diagnostic, is_plan_file, load_dir_with};
use super::registry::Registry;

/// The largest dialplan text a save takes.
pub const MAX_TEXT_BYTES: usize = 256 * 1024;
/// The longest plan name.
pub const MAX_NAME_LEN: usize = 64;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    #[error("a dialplan name is 1 to 64 of a-z, 0-9, `_` and `-`, not `{0}`")]
    BadName(String),
    #[error("the dialplan text is {0} bytes; at most {MAX_TEXT_BYTES} are allowed")]
    TooLarge(usize),
    #[error("no dialplan named `{0}`")]
    UnknownPlan(String),
    #[error("dialplan `{plan}` has no version {id}")]
    UnknownVersion { plan: String, id: Uuid },
    #[error("dialplan `{0}` changed since it was opened; reload it and apply the edit again")]
    Stale(String),
    #[error("{0} already holds another dialplan")]
    FileTaken(String),
    #[error("{}", first_error(.0))]
    Invalid(Vec<Diagnostic>),
    #[error("saved, but the dialplans folder was not activated: {}", first_error(.0))]
    NotActivated(Vec<Diagnostic>),
    #[error("cannot access {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    History(#[from] HistoryError),
}

fn first_error(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .find(|d| !d.warning)
        .map(ToString::to_string)
        .unwrap_or_else(|| "invalid dialplan".into())
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> EditError + '_ {
    move |source| EditError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// A plan's file as it is on disk.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub path: PathBuf,
    pub text: String,
    pub sha256: String,
}

/// A save: the new text, the sha256 of the text it was edited from (checked when
/// given), and who saved it why.
#[derive(Debug, Clone, Copy)]
pub struct Save<'a> {
    pub text: &'a str,
    pub base_sha256: Option<&'a str>,
    pub author: &'a str,
    pub comment: &'a str,
}

/// A save that was written and activated.
#[derive(Debug, Clone)]
pub struct Saved {
    /// The registry's version now in force.
    pub version: u64,
    /// The history entry of the saved text.
    pub id: Uuid,
    pub sha256: String,
    pub warnings: Vec<Diagnostic>,
}

/// Plan names are `[a-z0-9_-]{1,64}`: safe as a file name and in a URL.
pub fn check_name(name: &str) -> Result<(), EditError> {
    let ok = (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(EditError::BadName(name.chars().take(80).collect()))
    }
}

fn check_size(text: &str) -> Result<(), EditError> {
    if text.len() > MAX_TEXT_BYTES {
        return Err(EditError::TooLarge(text.len()));
    }
    Ok(())
}

/// The file holding plan `name`: the one whose `name:` says so, else a file called
/// `<name>.yaml` (or `.yml`) whose own name cannot be read, so a broken file can
/// still be opened and fixed.
pub fn locate(dir: &Path, name: &str) -> Option<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| is_plan_file(p))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut fallback = None;
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        match declared_name(&text) {
            Some(n) if n == name => return Some(file),
            None if fallback.is_none() && file.file_stem().is_some_and(|s| s == name) => {
                fallback = Some(file)
            }
            _ => {}
        }
    }
    fallback
}

/// The `name:` of a dialplan text, when the YAML can be read that far.
fn declared_name(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Named {
        name: String,
    }
    serde_saphyr::from_str::<Named>(text).ok().map(|n| n.name)
}

/// Where plan `name` is (or would be) saved, and its text on disk if it exists.
fn target(dir: &Path, name: &str) -> Result<(PathBuf, Option<String>), EditError> {
    if let Some(path) = locate(dir, name) {
        let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
        return Ok((path, Some(text)));
    }
    let path = dir.join(format!("{name}.yaml"));
    if path.exists() {
        return Err(EditError::FileTaken(path.display().to_string()));
    }
    Ok((path, None))
}

/// Plan `name` as it is on disk.
pub fn source(registry: &Registry, name: &str) -> Result<Source, EditError> {
    check_name(name)?;
    let path = locate(registry.dir(), name).ok_or_else(|| EditError::UnknownPlan(name.into()))?;
    let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
    Ok(Source {
        name: name.into(),
        sha256: sha256_hex(&text),
        path,
        text,
    })
}

/// Every problem the folder would have with `text` as plan `name`, the plan's own
/// first; any error would stop a save. Nothing is written.
pub fn check(registry: &Registry, name: &str, text: &str) -> Result<Vec<Diagnostic>, EditError> {
    check_name(name)?;
    check_size(text)?;
    let (path, _) = target(registry.dir(), name)?;
    Ok(validate(registry, &path, name, text))
}

fn validate(registry: &Registry, path: &Path, name: &str, text: &str) -> Vec<Diagnostic> {
    let (plans, mut diags) = load_dir_with(registry.dir(), registry.sounds(), Some((path, text)));
    if let Some(plan) = plans.iter().find(|p| p.path == path)
        && plan.name() != name
    {
        diags.push(Diagnostic {
            file: path.display().to_string(),
            line: name_line(text),
            col: 1,
            message: format!(
                "the plan is named `{}` but is saved as `{name}`",
                plan.name()
            ),
            warning: false,
        });
    }
    let own = path.display().to_string();
    diags.sort_by_key(|d| d.file != own);
    diags
}

fn name_line(text: &str) -> u64 {
    text.lines()
        .position(|l| l.starts_with("name:"))
        .map_or(1, |i| i as u64 + 1)
}

/// Saves plan `name`: checks the base, validates the folder with the new text, and
/// only without errors writes the file, records the version and reloads.
pub async fn save(
    registry: &Registry,
    history: &History,
    name: &str,
    req: Save<'_>,
) -> Result<Saved, EditError> {
    check_name(name)?;
    check_size(req.text)?;
    let _edit = registry.lock_edits().await;
    let (path, disk) = target(registry.dir(), name)?;
    if let Some(base) = req.base_sha256 {
        let current = disk.as_deref().map(sha256_hex);
        if !current.is_some_and(|c| c.eq_ignore_ascii_case(base.trim())) {
            return Err(EditError::Stale(name.into()));
        }
    }
    let diags = validate(registry, &path, name, req.text);
    if diags.iter().any(|d| !d.warning) {
        return Err(EditError::Invalid(diags));
    }
    if let Some(disk) = &disk {
        record_disk(history, name, disk).await?;
    }
    write_atomic(&path, req.text).map_err(io_error(&path))?;
    let version = NewVersion {
        plan: name,
        text: req.text,
        author: req.author,
        comment: req.comment,
    };
    let recorded = match history.append(version).await {
        Ok(v) => v,
        Err(e) => {
            restore(&path, disk.as_deref());
            return Err(e.into());
        }
    };
    if !registry.reload() {
        return Err(EditError::NotActivated(registry.problems()));
    }
    Ok(Saved {
        version: registry.current().version,
        id: recorded.id,
        sha256: recorded.sha256,
        warnings: diags.into_iter().filter(|d| d.warning).collect(),
    })
}

/// Records the text on disk unless the history already ends with it: the first
/// save keeps the original, and a hand edit between saves is kept too.
async fn record_disk(history: &History, name: &str, disk: &str) -> Result<(), EditError> {
    let latest = history.latest(name).await?;
    if latest.is_some_and(|l| l.sha256 == sha256_hex(disk)) {
        return Ok(());
    }
    history
        .append(NewVersion {
            plan: name,
            text: disk,
            author: "disk",
            comment: "on disk before this edit",
        })
        .await?;
    Ok(())
}

/// Puts the previous file back after a save that could not be recorded.
fn restore(path: &Path, previous: Option<&str>) {
    let result = match previous {
        Some(text) => write_atomic(path, text),
        None => std::fs::remove_file(path),
    };
    if let Err(e) = result {
        tracing::error!(path = %path.display(), error = %e, "cannot restore the dialplan file");
    }
}

/// Saves version `id` of plan `name` again, as a new version.
pub async fn rollback(
    registry: &Registry,
    history: &History,
    name: &str,
    id: Uuid,
    author: &str,
) -> Result<Saved, EditError> {
    check_name(name)?;
    let old = history
        .get(name, id)
        .await?
        .ok_or_else(|| EditError::UnknownVersion {
            plan: name.into(),
            id,
        })?;
    let comment = format!("rollback to {id}");
    let req = Save {
        text: &old.text,
        base_sha256: None,
        author,
        comment: &comment,
    };
    save(registry, history, name, req).await
}

/// A unified diff from `old` to plan `name` as it is on disk now (empty text when
/// the file is gone); empty when they are the same.
pub fn diff_to_disk(registry: &Registry, name: &str, old: &str, old_label: &str) -> String {
    let disk = locate(registry.dir(), name)
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    unified_diff(old, &disk, old_label, "on disk")
}

/// A unified diff of two texts by lines, three lines of context.
pub fn unified_diff(old: &str, new: &str, old_label: &str, new_label: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(old_label, new_label)
        .to_string()
}

/// Writes `text` to `path` so a reader sees the old file or the new one, never a
/// part: a temporary file in the same folder (named so a reload never reads it),
/// synced to disk, renamed over `path`, then the folder synced.
pub fn write_atomic(path: &Path, text: &str) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        file_name.to_string_lossy(),
        Uuid::new_v4().simple()
    ));
    let written = write_then_rename(&tmp, path, text);
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    // Persists the rename itself; not every platform can open a folder.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn write_then_rename(tmp: &Path, path: &Path, text: &str) -> io::Result<()> {
    let mut f = File::create_new(tmp)?;
    if let Ok(meta) = std::fs::metadata(path) {
        f.set_permissions(meta.permissions())?;
    }
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(tmp, path)
}

#[cfg(test)]
#[path = "edit_tests.rs"]
mod tests;
