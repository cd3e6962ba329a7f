//! The supervisor view in Chromium: the live queue figures and agents' states
//! follow what happens (a chat waits in support and is offered to ann).

mod common;

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
