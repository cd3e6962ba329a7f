//! Click-to-call, end to end: a customer in headless Chromium calls the hotline
//! from `/call` (SIP over WebSocket with WebRTC audio, answered by the server's
//! media gateway), goes through the demo dialplan with the page's keypad, and an
//! agent answers in the workspace softphone; both hear each other, asserted on
//! both browsers' RTP counters and on the stereo recording. The customer, known
//! by the page's anonymous id, has the call, its IVR path and its recording in
//! the timeline.

mod common;

use std::time::Duration;

use common::audio::{bridged_levels, tone};
use common::{BrowserRun, Server};

const CALLER_ID: &str = "clicktest0001";

#[tokio::test]
async fn a_customer_calls_from_the_browser_and_an_agent_answers() {
    let server = Server::hotline_with_agents(&["ann"]).await;
    let dir = server.dir.path();
    let env = vec![
        ("SWITCHBOARD_URL", format!("http://{}", server.http)),
        ("AGENT_PASSWORD", "password-of-ann".to_string()),
        ("AGENT_VOICE_WAV", tone(dir, "agent-voice", 600)),
        ("CALLER_VOICE_WAV", tone(dir, "caller-voice", 350)),
        ("CALLER_ID", CALLER_ID.to_string()),
    ];
    BrowserRun::start("click_to_call.mjs", &env).finish().await;

    let token = server.token_for("sup", "supervisor");
    let found = server
        .get_json(&format!("/api/v1/customers?q=web-{CALLER_ID}"), &token)
        .await;
    let id = found["items"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("the web caller is a customer: {found}"))
        .to_string();
    let mut items = Vec::new();
    for _ in 0..100 {
        let page = server
            .get_json(
                &format!("/api/v1/customers/{id}/timeline?limit=200"),
                &token,
            )
            .await;
        items = page["items"].as_array().cloned().unwrap_or_default();
        if items.iter().any(|e| e["payload"]["type"] == "recording") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        common::of_type(&items, "call_answered")
            .iter()
            .any(|e| e["payload"]["agent"] == "ann"),
        "ann answered: {items:#?}"
    );
    assert!(
        items.iter().any(|e| e["payload"]["step"] == "english"),
        "the caller's keys chose English: {items:#?}"
    );
    let path = common::of_type(&items, "recording")
        .iter()
        .find_map(|e| e["payload"]["path"].as_str())
        .expect("the recording is in the timeline");
    let (left, right, frames) = bridged_levels(path);
    assert!(frames > 100, "2 s or more bridged, got {frames} frames");
    assert!(left > 300.0, "the web caller is heard: rms {left}");
    assert!(right > 300.0, "the agent is heard: rms {right}");
}
