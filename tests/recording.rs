//! Call recording: the caller's audio is recorded into a WAV that lands in the
//! timeline, and a server killed mid-call leaves a playable file.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Backend, Server};

fn sipp_audio(server: &Server, hold_ms: u32) -> std::process::Child {
    server
        .sipp(&[
            "-sf",
            "ivr_audio.xml",
            "-s",
            "4000",
            "-m",
            "1",
            "-d",
            &hold_ms.to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("sipp")
}

fn recordings(data: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![data.join("recordings")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path())
            } else {
                out.push(e.path())
            }
        }
    }
    out
}

/// Frames (samples per channel) and the root-mean-square level of the left
/// (caller) and right (agent) channels of a stereo recording.
fn rms(path: &Path) -> (u32, f64, f64) {
    let mut r = hound::WavReader::open(path).expect("a valid WAV");
    assert_eq!(r.spec().channels, 2, "caller left, agent right");
    let samples: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
    let frames = samples.len() / 2;
    let level = |ch: usize| {
        let e: f64 = samples
            .iter()
            .skip(ch)
            .step_by(2)
            .map(|s| f64::from(*s).powi(2))
            .sum();
        (e / frames.max(1) as f64).sqrt()
    };
    (frames as u32, level(0), level(1))
}

#[tokio::test]
async fn the_callers_audio_is_recorded_and_in_the_timeline() {
    let server = Server::start_with(
        Backend::Sqlite,
        &[("SWITCHBOARD_DIALPLAN_VARS", "open=always")],
    )
    .await;
    let status = tokio::task::spawn_blocking({
        let mut child = sipp_audio(&server, 8500);
        move || child.wait()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(status.success());
    let token = server.token_for("ann", "agent");
    let mut recording = None;
    for _ in 0..100 {
        let found: serde_json::Value = server
            .get_json("/api/v1/customers?phone=%2B8613700001111", &token)
            .await;
        if let Some(id) = found["items"][0]["id"].as_str() {
            let page: serde_json::Value = server
                .get_json(
                    &format!("/api/v1/customers/{id}/timeline?limit=200"),
                    &token,
                )
                .await;
            recording = page["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["payload"]["type"] == "recording")
                .cloned();
            if recording.is_some() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let recording = recording.expect("a recording event in the caller's timeline");
    let path = PathBuf::from(recording["payload"]["path"].as_str().unwrap());
    let path = if path.is_absolute() {
        path
    } else {
        server.dir.path().join(path)
    };
    let duration = recording["payload"]["duration_ms"].as_i64().unwrap();
    assert!(
        duration >= 7_000,
        "the whole call, 7 s of speech included: {duration} ms"
    );
    let (frames, level, agent) = rms(&path);
    assert_eq!(i64::from(frames) * 1000 / 8000, duration);
    assert!(
        level > 300.0,
        "the speech is audible in the recording (rms {level})"
    );
    assert_eq!(agent, 0.0, "no agent joined: the right channel is silent");
}

#[tokio::test]
async fn a_killed_server_leaves_a_playable_recording() {
    let mut server = Server::start_with(
        Backend::Sqlite,
        &[("SWITCHBOARD_DIALPLAN_VARS", "open=always")],
    )
    .await;
    let mut call = sipp_audio(&server, 20_000);
    tokio::time::sleep(Duration::from_secs(7)).await;
    server.child.kill().expect("SIGKILL");
    let _ = server.child.wait();
    let _ = call.kill();
    let _ = call.wait();
    let data = server.dir.path().join("data");
    let files = recordings(&data);
    assert_eq!(files.len(), 1, "{files:?}");
    let (samples, level, _) = rms(&files[0]);
    assert!(
        samples >= 8000 * 3,
        "at least the seconds before the kill: {samples} samples"
    );
    assert!(level > 100.0, "with the caller's audio (rms {level})");
}
