//! Call recordings as 16-bit 8 kHz WAV files, written incrementally: the RIFF and
//! data sizes in the header are rewritten at every flush (at least once a second),
//! so a killed server leaves a valid, playable file up to the last flush.
//! `repair` fixes the header of a file cut off between flushes.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecorderError {
    #[error("{path}: {reason}")]
    Io { path: String, reason: String },
}

fn io(path: &Path, e: std::io::Error) -> RecorderError {
    RecorderError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

pub const SAMPLE_RATE: u32 = 8000;

pub struct WavRecorder {
    path: PathBuf,
    out: BufWriter<File>,
    channels: u16,
    data_bytes: u32,
    unflushed_frames: u32,
}

impl WavRecorder {
    /// Creates the file (and its folder) with a header for an empty recording.
    pub fn create(path: &Path, channels: u16) -> Result<WavRecorder, RecorderError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| io(path, e))?;
        }
        let file = File::create(path).map_err(|e| io(path, e))?;
        let mut r = WavRecorder {
            path: path.into(),
            out: BufWriter::new(file),
            channels,
            data_bytes: 0,
            unflushed_frames: 0,
        };
        r.out
            .write_all(&header(channels, 0))
            .map_err(|e| io(path, e))?;
        r.flush()?;
        Ok(r)
    }

    /// Appends samples (interleaved when stereo); flushes once per second of audio.
    pub fn write(&mut self, samples: &[i16]) -> Result<(), RecorderError> {
        for s in samples {
            self.out
                .write_all(&s.to_le_bytes())
                .map_err(|e| io(&self.path, e))?;
        }
        self.data_bytes = self.data_bytes.saturating_add((samples.len() * 2) as u32);
        self.unflushed_frames += 1;
        if self.unflushed_frames >= 50 {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes buffered audio and makes the header match it.
    pub fn flush(&mut self) -> Result<(), RecorderError> {
        self.unflushed_frames = 0;
        self.out.flush().map_err(|e| io(&self.path, e))?;
        let file = self.out.get_mut();
        file.seek(SeekFrom::Start(0))
            .map_err(|e| io(&self.path, e))?;
        file.write_all(&header(self.channels, self.data_bytes))
            .map_err(|e| io(&self.path, e))?;
        file.seek(SeekFrom::End(0)).map_err(|e| io(&self.path, e))?;
        Ok(())
    }

    pub fn duration_ms(&self) -> i64 {
        i64::from(self.data_bytes) * 1000 / (i64::from(SAMPLE_RATE) * 2 * i64::from(self.channels))
    }

    /// Flushes and closes; returns the duration in milliseconds.
    pub fn finish(mut self) -> Result<i64, RecorderError> {
        self.flush()?;
        self.out
            .get_ref()
            .sync_all()
            .map_err(|e| io(&self.path, e))?;
        Ok(self.duration_ms())
    }
}

fn header(channels: u16, data_bytes: u32) -> [u8; 44] {
    let mut h = [0u8; 44];
    let block = channels * 2;
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&(36 + data_bytes).to_le_bytes());
    h[8..16].copy_from_slice(b"WAVEfmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes());
    h[22..24].copy_from_slice(&channels.to_le_bytes());
    h[24..28].copy_from_slice(&SAMPLE_RATE.to_le_bytes());
    h[28..32].copy_from_slice(&(SAMPLE_RATE * u32::from(block)).to_le_bytes());
    h[32..34].copy_from_slice(&block.to_le_bytes());
    h[34..36].copy_from_slice(&16u16.to_le_bytes());
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_bytes.to_le_bytes());
    h
}

/// Makes a recording's header match its length (for files cut off by a crash
/// between two flushes). Returns true when it changed the file.
pub fn repair(path: &Path) -> Result<bool, RecorderError> {
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| io(path, e))?;
    let len = f.metadata().map_err(|e| io(path, e))?.len();
    if len < 44 {
        return Ok(false);
    }
    let mut head = [0u8; 44];
    std::io::Read::read_exact(&mut f, &mut head).map_err(|e| io(path, e))?;
    let channels = u16::from_le_bytes([head[22], head[23]]).max(1);
    let block = u64::from(channels) * 2;
    let data = ((len - 44) / block * block).min(u64::from(u32::MAX - 36)) as u32;
    if u32::from_le_bytes([head[40], head[41], head[42], head[43]]) == data {
        return Ok(false);
    }
    f.seek(SeekFrom::Start(0)).map_err(|e| io(path, e))?;
    f.write_all(&header(channels, data))
        .map_err(|e| io(path, e))?;
    f.set_len(44 + u64::from(data)).map_err(|e| io(path, e))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recording_cut_off_without_finish_is_readable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("calls/a.wav");
        let mut r = WavRecorder::create(&path, 1).unwrap();
        let tone: Vec<i16> = (0..160)
            .map(|i| ((i as f32 / 8.0).sin() * 8000.0) as i16)
            .collect();
        for _ in 0..120 {
            r.write(&tone).unwrap();
        }
        // Simulate a kill: the buffered tail is lost, the header is whatever the last flush wrote.
        std::mem::forget(r);
        let reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.spec().sample_rate, 8000);
        let n = reader.duration();
        assert_eq!(n, 100 * 160, "everything up to the last flush (2 s)");
        // Repair takes in whatever reached the disk after the last flush.
        repair(&path).unwrap();
        let after = hound::WavReader::open(&path).unwrap().duration();
        assert!(after >= n);
    }

    #[test]
    fn finish_reports_the_duration() {
        let dir = tempfile::tempdir().unwrap();
        let mut r = WavRecorder::create(&dir.path().join("b.wav"), 2).unwrap();
        for _ in 0..25 {
            r.write(&[100i16; 320]).unwrap();
        }
        assert_eq!(r.finish().unwrap(), 500);
        let reader = hound::WavReader::open(dir.path().join("b.wav")).unwrap();
        assert_eq!((reader.spec().channels, reader.duration()), (2, 4000));
    }
}
