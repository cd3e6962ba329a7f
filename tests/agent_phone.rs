//! A queued call reaches the agent's registered desk phone: the caller goes
//! through the IVR into support, the agent accepts the offer, the server dials
//! the agent's phone (sipp), bridges, and hangs up the agent when the caller does;
//! when the agent's phone hangs up first, the caller stays for the survey.

mod common;

use std::time::Duration;

use common::{Backend, Server};
use serde_json::{Value, json};

/// A server with ann in support on a desk phone running `phone_scenario`; a
/// sipp caller runs `caller_args`; ann accepts the offer. Waits for both sipp
/// runs to succeed and returns the call's timeline once it has ended (oldest
/// first).
async fn call_through_desk_phone(phone_scenario: &str, caller_args: &[&str]) -> Vec<Value> {
    let server = Server::start_with(
        Backend::Sqlite,
        &[("SWITCHBOARD_DIALPLAN_VARS", "open=always")],
    )
    .await;
    let admin = server.token_for("boss", "admin");
    let http = reqwest::Client::new();
    let agent: Value = server
        .post_json(
            "/api/v1/agents",
            &admin,
            &json!({"name": "ann", "password": "password-of-ann", "queues": ["support"]}),
        )
        .await;
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

    let phone_log = server.dir.path().join("phone.log");
    let mut phone = server.desk_phone_with("ann", &admin, phone_scenario).await;
    let mut caller = server
        .sipp(caller_args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let offer = server.first_offer(&agent_id, &token).await;
    server.accept(&offer, &token).await;

    let caller_ok = tokio::task::spawn_blocking(move || caller.wait())
        .await
        .unwrap()
        .unwrap();
    let phone_ok = tokio::task::spawn_blocking(move || phone.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(caller_ok.success(), "the caller's call completed");
    assert!(
        phone_ok.success(),
        "the phone rang, answered and hung up or was hung up:\n{}",
        std::fs::read_to_string(&phone_log).unwrap_or_default()
    );

    let conv = offer["conversation"].as_str().unwrap();
    for _ in 0..100 {
        let c: Value = server
            .get_json(&format!("/api/v1/conversations/{conv}"), &token)
            .await;
        let page: Value = server
            .get_json(
                &format!(
                    "/api/v1/customers/{}/timeline?limit=100",
                    c["customer_id"].as_str().unwrap()
                ),
                &token,
            )
            .await;
        let mut items = page["items"].as_array().cloned().unwrap_or_default();
        if items.iter().any(|e| e["payload"]["type"] == "call_ended") {
            items.reverse();
            return items;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the call did not end in the timeline");
}

#[tokio::test]
async fn an_accepted_call_rings_the_agents_phone_and_is_bridged() {
    let items = call_through_desk_phone(
        "agent_phone.xml",
        &[
            "-sf",
            "ivr_support.xml",
            "-s",
            "4000",
            "-m",
            "1",
            "-d",
            "6000",
        ],
    )
    .await;
    assert!(
        items
            .iter()
            .any(|e| e["payload"]["type"] == "call_answered" && e["payload"]["agent"] == "ann"),
        "the timeline shows the agent answered"
    );
    let mut legs: Vec<&str> = items
        .iter()
        .filter(|e| e["payload"]["type"] == "call_quality")
        .filter_map(|e| e["payload"]["leg"].as_str())
        .collect();
    legs.sort();
    assert_eq!(legs, ["agent", "caller"], "one quality event per SIP leg");
}

#[tokio::test]
async fn when_the_agents_phone_hangs_up_first_the_caller_rates_the_call() {
    let items = call_through_desk_phone(
        "agent_hangs_up.xml",
        &[
            "-sf",
            "caller_rates.xml",
            "-s",
            "4000",
            "-m",
            "1",
            "-timeout",
            "90",
            "-timeout_error",
        ],
    )
    .await;
    let at = |pred: &dyn Fn(&Value) -> bool| items.iter().position(|e| pred(&e["payload"]));
    let answered = at(&|p| p["type"] == "call_answered");
    let rated = at(&|p| p["type"] == "csat" && p["score"] == 4);
    assert!(answered.is_some(), "the agent answered");
    assert!(rated > answered, "rated 4 after the agent: {items:?}");
    let ended = &items[at(&|p| p["type"] == "call_ended").unwrap()]["payload"];
    assert_eq!(
        ended["cause"], "dialplan_hangup",
        "the dialplan said goodbye"
    );
}
