//! Audio for and from the browser tests: a tone for a fake microphone, and the
//! levels of a stereo call recording while both sides were bridged.

use std::path::Path;

/// A 3 s sine of `hz` at 48 kHz as `<dir>/<name>.wav`, for Chromium's fake
/// microphone (which loops it); the file's path.
pub fn tone(dir: &Path, name: &str, hz: u32) -> String {
    let wav = dir.join(format!("{name}.wav"));
    let ok = std::process::Command::new("sox")
        .args(["-n", "-r", "48000", "-c", "1", "-b", "16"])
        .arg(&wav)
        .args(["synth", "3", "sine", &hz.to_string(), "vol", "0.5"])
        .status()
        .expect("sox (scripts/test installs it)");
    assert!(ok.success());
    wav.display().to_string()
}

/// RMS of the left and right channels over the frames where the agent was on the
/// call (right channel not silent), and how many such frames.
pub fn bridged_levels(path: &str) -> (f64, f64, usize) {
    let mut r = hound::WavReader::open(path).expect("a valid WAV");
    assert_eq!(r.spec().channels, 2, "stereo recording");
    let s: Vec<i16> = r.samples::<i16>().map(|x| x.unwrap()).collect();
    let (mut l2, mut r2, mut n) = (0f64, 0f64, 0usize);
    for frame in s.chunks(320) {
        if frame.iter().skip(1).step_by(2).any(|v| *v != 0) {
            for pair in frame.chunks(2) {
                l2 += f64::from(pair[0]).powi(2);
                r2 += f64::from(pair[1]).powi(2);
                n += 1;
            }
        }
    }
    let n1 = n.max(1) as f64;
    ((l2 / n1).sqrt(), (r2 / n1).sqrt(), n / 160)
}
