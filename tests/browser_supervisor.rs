//! The supervisor view in Chromium: the live queue figures and agents' states
//! follow what happens (a chat waits in support and is offered to ann).

mod common;

use common::audio::tone;
use common::{BrowserRun, Server};
use serde_json::json;

#[tokio::test]
async fn a_supervisor_watches_a_chat_wait_and_be_offered() {
    let server = Server::hotline_with_agents(&["ann"]).await;
    server.token_for("sue", "supervisor");
    let admin = server.token_for("chief", "admin");
    let agents = server.get_json("/api/v1/agents", &admin).await;
    let ann = agents["items"][0]["id"].as_str().unwrap().to_string();
    let ann_token = server.cli(&["token", "create", "ann"], "");
    let http = reqwest::Client::new();
    let res = http
        .put(server.url(&format!("/api/v1/agents/{ann}/state")))
        .bearer_auth(&ann_token)
        .json(&json!({"state": "available"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let browser = BrowserRun::start(
        "supervisor.mjs",
        &[
            ("SWITCHBOARD_URL", format!("http://{}", server.http)),
            ("SUPERVISOR_NAME", "sue".into()),
            ("SUPERVISOR_PASSWORD", "password-of-test".into()),
        ],
    );
    let customer = server
        .post_json("/api/v1/customers", &admin, &json!({"name": "Wang Fang"}))
        .await;
    server
        .post_json(
            "/api/v1/conversations",
            &admin,
            &json!({"customer_id": customer["id"], "channel": "chat", "queue": "support", "text": "hello?"}),
        )
        .await;
    browser.finish().await;
}

/// Frames (20 ms) of the recording's right channel (what the caller heard) in
/// which a 1 kHz tone carries most of the energy.
fn tone_frames_heard_by_caller(path: &str) -> usize {
    let mut r = hound::WavReader::open(path).expect("a valid WAV");
    let rate = r.spec().sample_rate as f64;
    let right: Vec<f64> = r
        .samples::<i16>()
        .map(|x| f64::from(x.unwrap()))
        .skip(1)
        .step_by(2)
        .collect();
    let n = (rate * 0.02) as usize;
    let coeff = 2.0 * (2.0 * std::f64::consts::PI * 1000.0 / rate).cos();
    right
        .chunks(n)
        .filter(|f| {
            let (mut s1, mut s2) = (0.0, 0.0);
            for x in *f {
                (s1, s2) = (x + coeff * s1 - s2, s1);
            }
            let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
            let energy: f64 = f.iter().map(|x| x * x).sum();
            // A pure tone's Goertzel power is about energy × n / 2.
            energy > 1e6 && power > 0.15 * energy * f.len() as f64 / 2.0
        })
        .count()
}

#[tokio::test]
async fn a_supervisor_listens_whispers_and_barges_into_a_call() {
    let server = Server::hotline_with_agents(&["ann"]).await;
    server.token_for("sue", "supervisor");
    let dir = server.dir.path();
    let env = vec![
        ("SWITCHBOARD_URL", format!("http://{}", server.http)),
        ("AGENT_PASSWORD", "password-of-ann".to_string()),
        ("AGENT_VOICE_WAV", tone(dir, "agent-voice", 600)),
        ("SUPERVISOR_NAME", "sue".to_string()),
        ("SUPERVISOR_PASSWORD", "password-of-test".to_string()),
        ("SUPERVISOR_VOICE_WAV", tone(dir, "supervisor-voice", 1000)),
    ];
    let browser = BrowserRun::start("monitor.mjs", &env);
    let caller = server
        .sipp(&["-sf", "caller_talks.xml", "-s", "4000", "-m", "1"])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("sipp");
    browser.finish().await;
    assert!(caller.success(), "the caller's call did not go through");

    let token = server.token_for("sup", "supervisor");
    let items = server
        .phone_timeline_until("+8613912345678", &token, |items| {
            items.iter().any(|e| e["payload"]["type"] == "recording")
        })
        .await;
    let modes: Vec<&str> = common::of_type(&items, "call_monitored")
        .iter()
        .filter(|e| e["payload"]["supervisor"] == "sue" && e["payload"]["agent"] == "ann")
        .filter_map(|e| e["payload"]["mode"].as_str())
        .collect();
    assert_eq!(modes, ["listen", "whisper", "barge"], "{items:#?}");
    let path = common::of_type(&items, "recording")[0]["payload"]["path"]
        .as_str()
        .expect("the recording's path")
        .to_string();
    let frames = tone_frames_heard_by_caller(&path);
    assert!(
        frames >= 25,
        "the caller heard the barging supervisor in {frames} frames"
    );
}
