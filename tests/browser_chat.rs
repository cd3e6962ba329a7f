//! The web chat widget end to end in headless Chromium: with no agent online it
//! takes a message to be answered by e-mail; then a visitor chats, an agent
//! replies, reload keeps history, a server restart loses no message.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Backend, Server};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn widget_chat_survives_reload_and_server_restart() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut server =
        Server::start_with(Backend::Sqlite, &[("SWITCHBOARD_HTTP_LISTEN", &listen)]).await;
    let token = server.token_for("ann", "agent");
    // An agent of the queue, offline at first so the widget starts in offline mode.
    let admin = server.token_for("boss", "admin");
    let agent =
        serde_json::json!({"name": "bob", "password": "password-of-bob", "queues": ["support"]});
    let agent = server.post_json("/api/v1/agents", &admin, &agent).await;
    let agent_id = agent["id"].as_str().expect("agent id").to_string();
    let control = tempfile::tempdir().unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let mut node = Command::new("node")
        .arg("chat.mjs")
        .current_dir(&dir)
        .env("SWITCHBOARD_URL", format!("http://{listen}"))
        .env("AGENT_TOKEN", &token)
        .env("ADMIN_TOKEN", &admin)
        .env("AGENT_ID", &agent_id)
        .env("CONTROL_DIR", control.path())
        .env(
            "SWITCHBOARD_ARTIFACTS",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts"),
        )
        .spawn()
        .expect("node runs");
    // Serve the script's stop/start requests (the "network drop").
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = node.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "browser script did not finish");
        if control.path().join("stop").exists() && !control.path().join("stopped").exists() {
            server.stop();
            std::fs::write(control.path().join("stopped"), "").unwrap();
        }
        if control.path().join("start").exists() && !control.path().join("started").exists() {
            std::thread::sleep(Duration::from_secs(1));
            server.restart();
            std::fs::write(control.path().join("started"), "").unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "chat.mjs failed");
}
