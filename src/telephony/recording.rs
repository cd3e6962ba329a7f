//! A call's recording task: the media task hands it decoded 20 ms frames with
//! `try_send` (never waiting), and it writes them with `WavRecorder` off the media
//! path. When the media task drops its sender, the file is finished and its length
//! reported.

use std::path::{Path, PathBuf};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::media::recorder::{WavRecorder, repair};

/// Frames waiting to be written before new ones are dropped (2 s).
pub const QUEUE: usize = 100;

pub type Frame = [i16; 160];

/// Starts recording to `path`; returns the frame sender and the task, which yields
/// the duration in milliseconds.
pub fn start(path: PathBuf) -> (mpsc::Sender<Frame>, JoinHandle<Option<i64>>) {
    let (tx, mut rx) = mpsc::channel::<Frame>(QUEUE);
    let task = tokio::task::spawn_blocking(move || {
        let mut rec = match WavRecorder::create(&path, 1) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "recording not started");
                return None;
            }
        };
        while let Some(frame) = rx.blocking_recv() {
            if let Err(e) = rec.write(&frame) {
                tracing::error!(error = %e, "recording stopped early");
                return None;
            }
        }
        match rec.finish() {
            Ok(ms) => Some(ms),
            Err(e) => {
                tracing::error!(error = %e, "recording not finished cleanly");
                None
            }
        }
    });
    (tx, task)
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
