//! One queue for voice and text: a call through the IVR and a chat from the API
//! wait in the same support queue and are offered to the same agent in turn, the
//! call blocking the chat while the agent holds it (capacity).

mod common;

use std::time::Duration;

use common::{Backend, Server};
use serde_json::{Value, json};

async fn offers(server: &Server, agent: &str, token: &str) -> Vec<Value> {
    let v: Value = server
        .get_json(&format!("/api/v1/agents/{agent}/offers"), token)
        .await;
    v["items"].as_array().cloned().unwrap_or_default()
}

async fn wait_offer(server: &Server, agent: &str, token: &str, channel: &str) -> Value {
    for _ in 0..200 {
        if let Some(o) = offers(server, agent, token)
            .await
            .into_iter()
            .find(|o| o["channel"] == channel)
        {
            return o;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no {channel} offer arrived");
}

#[tokio::test]
async fn a_call_and_a_chat_share_the_queue_and_the_agent() {
    let server = Server::start_with(
        Backend::Sqlite,
        &[("SWITCHBOARD_DIALPLAN_VARS", "open=always")],
    )
    .await;
    let admin = server.token_for("boss", "admin");
    let http = reqwest::Client::new();
    // No wrap-up time, so the agent is free as soon as the call ends.
    let res = http
        .post(server.url("/api/v1/queues"))
        .bearer_auth(&admin)
        .json(&json!({"name": "support", "wrap_up_seconds": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = http
        .post(server.url("/api/v1/agents"))
        .bearer_auth(&admin)
        .json(&json!({"name": "ann", "password": "password-of-ann", "queues": ["support"], "capacity": {"voice": 1, "chat": 1, "voice_blocks_text": true}}))
        .send()
        .await
        .unwrap();
    let agent: Value = res.json().await.unwrap();
    let agent_id = agent["id"].as_str().unwrap().to_string();
    let token = server.cli(&["token", "create", "ann"], "");
    let res = http
        .put(server.url(&format!("/api/v1/agents/{agent_id}/state")))
        .bearer_auth(&token)
        .json(&json!({"state": "available"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    // Ann takes calls on her desk phone.
    let mut phone = server.desk_phone("ann", &admin).await;

    // The caller goes through the IVR to support and waits there 6 s.
    let mut sipp = server
        .sipp(&[
            "-sf",
            "ivr_support.xml",
            "-s",
            "4000",
            "-m",
            "1",
            "-d",
            "6000",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("sipp");
    let call_offer = wait_offer(&server, &agent_id, &token, "voice").await;
    assert_eq!(call_offer["queue"], "support");

    // A chat arrives in the same queue while the call is offered.
    let cust: Value = server
        .post_json("/api/v1/customers", &admin, &json!({"name": "Chen Jing"}))
        .await;
    let chat: Value = server.post_json("/api/v1/conversations", &admin, &json!({"customer_id": cust["id"], "channel": "chat", "queue": "support", "text": "hello?"})).await;
    server.accept(&call_offer, &token).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        offers(&server, &agent_id, &token).await.is_empty(),
        "the call blocks the chat"
    );

    // The caller hangs up; the chat is offered to the same agent.
    let status = tokio::task::spawn_blocking(move || sipp.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "sipp call failed");
    let phone_done = tokio::task::spawn_blocking(move || phone.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(phone_done.success(), "ann's phone answered and was hung up");
    let chat_offer = wait_offer(&server, &agent_id, &token, "chat").await;
    assert_eq!(chat_offer["conversation"], chat["id"]);
    let conv: Value = server
        .get_json(
            &format!(
                "/api/v1/conversations/{}",
                call_offer["conversation"].as_str().unwrap()
            ),
            &token,
        )
        .await;
    assert_eq!(conv["channel"], "voice");
    assert_eq!(conv["queue"], "support");
}
