//! The agent workspace in headless Chromium (Debian `chromium`, driven by
//! `playwright-core` from `tests/browser`): sign in, search, live timeline.

mod common;

use std::process::Command;

use common::{Backend, Server};
use serde_json::json;

/// Runs one browser script with the given environment; panics with its output on failure.
pub fn run_browser_script(script: &str, env: &[(&str, String)]) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let out = Command::new("node")
        .arg(script)
        .current_dir(&dir)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .env(
            "SWITCHBOARD_ARTIFACTS",
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts"),
        )
        .output()
        .expect("node runs (scripts/test installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{script} failed:\n{text}");
}

#[tokio::test]
async fn workspace_signs_in_and_shows_a_live_timeline() {
    let server = Server::start(Backend::Sqlite).await;
    let token = server.token_for("ann", "agent");
    let http = reqwest::Client::new();
    let customer: serde_json::Value = server.post_json("/api/v1/customers", &token, &json!({"name": "Li Lei", "identities": [{"kind": "phone", "value": "+8613800138000"}]})).await;
    let id = customer["id"].as_str().unwrap().to_string();
    let res = http
        .post(server.url(&format!("/api/v1/customers/{id}/timeline")))
        .bearer_auth(&token)
        .json(&json!({"payload": {"type": "message", "direction": "in", "author": "Li Lei", "text": "where is my order?"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    run_browser_script(
        "workspace.mjs",
        &[
            ("SWITCHBOARD_URL", format!("http://{}", server.http)),
            ("AGENT_NAME", "ann".into()),
            ("AGENT_PASSWORD", "password-of-test".into()),
            ("AGENT_TOKEN", token.clone()),
            ("CUSTOMER_ID", id),
        ],
    );
}

#[tokio::test]
async fn a_widget_chat_reaches_the_agent_inbox_and_the_reply_comes_back() {
    let server = Server::start(Backend::Sqlite).await;
    let admin = server.token_for("boss", "admin");
    let http = reqwest::Client::new();
    let res = http
        .post(server.url("/api/v1/agents"))
        .bearer_auth(&admin)
        .json(&json!({"name": "ann", "password": "password-of-ann", "queues": ["support"], "capacity": {"voice": 1, "chat": 2}}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let token = server.cli(&["token", "create", "ann"], "");
    run_browser_script(
        "inbox.mjs",
        &[
            ("SWITCHBOARD_URL", format!("http://{}", server.http)),
            ("AGENT_NAME", "ann".into()),
            ("AGENT_PASSWORD", "password-of-ann".into()),
            ("AGENT_TOKEN", token),
        ],
    );
}
