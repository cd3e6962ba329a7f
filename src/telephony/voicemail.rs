//! A voicemail message: the caller's audio, copied by the IVR media task while a
//! `voicemail` step records, written to a mono 8 kHz WAV off the async runtime.
//! Like call recordings, the header is rewritten at every flush, so a killed
//! server leaves a playable file (and startup repairs the rest).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::media::recorder::WavRecorder;

/// 20 ms frames the writer may fall behind before the media task drops one.
const QUEUE: usize = 100;
/// The writer takes what has come this often.
const BATCH: Duration = Duration::from_millis(100);

/// Where a conversation's voicemail message goes (under `recordings/`, so the
/// startup repair covers it).
pub fn path_for(data_dir: &Path, conversation: uuid::Uuid) -> PathBuf {
    let day = chrono::Utc::now().format("%Y/%m/%d").to_string();
    data_dir
        .join("recordings")
        .join("voicemail")
        .join(day)
        .join(format!("{conversation}.wav"))
}

/// A message being recorded: the frame sender for the media task, and the
/// writer, which yields the message's length in ms (`None`: not written).
pub struct Message {
    pub frames: mpsc::Sender<[i16; 160]>,
    pub path: PathBuf,
    writer: JoinHandle<Option<i64>>,
}

impl Message {
    /// Creates the file and starts its writer.
    pub fn start(path: PathBuf) -> Message {
        let (frames, mut rx) = mpsc::channel::<[i16; 160]>(QUEUE);
        let file = path.clone();
        let writer = tokio::task::spawn_blocking(move || {
            let mut rec = match WavRecorder::create(&file, 1) {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!(error = %e, "voicemail not recorded");
                    return None;
                }
            };
            let mut batch = Vec::with_capacity(QUEUE);
            while rx.blocking_recv_many(&mut batch, QUEUE) > 0 {
                for frame in batch.drain(..) {
                    if let Err(e) = rec.write(&frame) {
                        tracing::error!(error = %e, "voicemail cut short");
                        return None;
                    }
                }
                std::thread::sleep(BATCH);
            }
            match rec.finish() {
                Ok(ms) => Some(ms),
                Err(e) => {
                    tracing::error!(error = %e, "voicemail not finished cleanly");
                    None
                }
            }
        });
        Message {
            frames,
            path,
            writer,
        }
    }

    /// Closes the message once the media task has let go of its sender; returns
    /// its path and length, or `None` if it could not be written.
    pub async fn finish(self) -> Option<(PathBuf, i64)> {
        drop(self.frames);
        match tokio::time::timeout(Duration::from_secs(5), self.writer).await {
            Ok(Ok(Some(ms))) => Some((self.path, ms)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_become_a_mono_wav_of_their_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(dir.path(), uuid::Uuid::new_v4());
        let msg = Message::start(path.clone());
        for i in 0..50 {
            msg.frames.send([i as i16; 160]).await.unwrap();
        }
        let (written, ms) = msg.finish().await.unwrap();
        assert_eq!(written, path);
        assert_eq!(ms, 1000);
        let reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.spec().channels, 1);
        assert_eq!(reader.spec().sample_rate, 8000);
        assert_eq!(reader.len(), 8000);
    }
}
