//! A queue's overflow taking a waiting caller out of the line, end to end with
//! sipp: in a queue that overflows to voicemail after 1 s the caller hears the
//! greeting and the beep and leaves a message, which lands in the timeline
//! with the `overflowed` event; in one that overflows to a callback the call
//! ends as a callback that keeps the caller's place in the queue; a call that
//! went back to its queue because its agent could not be reached overflows
//! from there too.

mod common;

use std::process::Stdio;

use common::{Backend, Server, of_type};
use serde_json::{Value, json};

/// The caller number of both sipp scenarios used here.
const CALLER: &str = "+8613900002222";

/// Calls to 4200 wait in `hold`, calls to 4300 in `later`.
const PLAN: &str = r#"
name: overflowing
match: { dids: ["4200", "4300"] }
language: en
start: pick
steps:
  pick:
    branch:
      - if:
          equals: { did: "4300" }
        goto: later
      - goto: hold
  hold:
    queue: { name: hold, music: moh }
  later:
    queue: { name: later, music: moh }
"#;

/// A server with the plan and the queue `name` overflowing with `action`
/// after `max_wait` seconds; returns it with an admin token.
async fn server_with(name: &str, action: &str, max_wait: u32) -> (Server, String) {
    let plans = tempfile::tempdir().unwrap();
    std::fs::write(plans.path().join("overflowing.yaml"), PLAN).unwrap();
    let plans_dir = plans.keep().display().to_string();
    let server = Server::start_with(
        Backend::Sqlite,
        &[("SWITCHBOARD_DIALPLANS_DIR", plans_dir.as_str())],
    )
    .await;
    let admin = server.token_for("boss", "admin");
    let q = server
        .post_json(
            "/api/v1/queues",
            &admin,
            &json!({"name": name, "max_wait_seconds": max_wait, "overflow": {"action": action}}),
        )
        .await;
    assert_eq!(q["overflow"]["action"], action, "{q}");
    (server, admin)
}

/// The caller's timeline (oldest first) once `done` holds for it.
async fn timeline_until(
    server: &Server,
    token: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    server.phone_timeline_until(CALLER, token, done).await
}

#[tokio::test]
async fn a_caller_past_the_longest_wait_leaves_a_voicemail() {
    let (server, admin) = server_with("hold", "voicemail", 1).await;
    // The caller speaks from 9 s on (after the greeting and the beep that
    // follow the overflow at 1 s) and hangs up at 18 s.
    let scenario = server.scenario(
        "voicemail_caller.xml",
        &[(
            "<pause milliseconds=\"500\"/>",
            "<pause milliseconds=\"9000\"/>",
        )],
    );
    let caller = server
        .sipp(&["-sf", &scenario, "-s", "4200", "-m", "1", "-d", "9000"])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(caller.status.success(), "the caller's call completed");
    let items = timeline_until(&server, &admin, |items| {
        !of_type(items, "voicemail").is_empty() && !of_type(items, "call_ended").is_empty()
    })
    .await;
    let overflowed = of_type(&items, "overflowed");
    assert_eq!(overflowed.len(), 1, "{items:#?}");
    let p = &overflowed[0]["payload"];
    assert_eq!(
        (&p["from"], &p["action"]),
        (&json!("hold"), &json!("voicemail"))
    );
    assert!(p.get("to").is_none(), "{p}");
    let voicemail = of_type(&items, "voicemail")[0];
    assert_eq!(
        voicemail["conversation_id"],
        overflowed[0]["conversation_id"]
    );
    assert!(
        voicemail["payload"]["duration_ms"].as_i64().unwrap() >= 2000,
        "the message holds what the caller said: {voicemail}"
    );
    assert!(
        items.iter().any(|e| e["payload"]["type"] == "ivr_step"
            && e["payload"]["detail"]["overflow"] == "voicemail"),
        "the dialplan noted the overflow"
    );
    let stats = server.get_json("/api/v1/queues/hold/stats", &admin).await;
    assert_eq!(
        (&stats["overflowed_today"], &stats["waiting"]),
        (&json!(1), &json!(0)),
        "{stats}"
    );
}

#[tokio::test]
async fn a_caller_past_the_longest_wait_becomes_a_callback_keeping_the_place() {
    let (server, admin) = server_with("later", "callback", 1).await;
    // The caller waits on the line until the server hangs up.
    let scenario = server.scenario(
        "caller_rates.xml",
        &[
            ("+8613912345678", CALLER),
            (
                r#"<nop><action><exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_2.pcap"/></action></nop>"#,
                "",
            ),
            (
                r#"<nop><action><exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_4.pcap"/></action></nop>"#,
                "",
            ),
        ],
    );
    let started = std::time::Instant::now();
    let out = server
        .sipp(&["-sf", &scenario, "-s", "4300", "-m", "1"])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "the server hung up the call");
    let items = timeline_until(&server, &admin, |items| {
        !of_type(items, "callback_requested").is_empty() && !of_type(items, "call_ended").is_empty()
    })
    .await;
    let overflowed = of_type(&items, "overflowed");
    assert_eq!(overflowed.len(), 1, "{items:#?}");
    assert_eq!(overflowed[0]["payload"]["action"], "callback");
    assert!(
        of_type(&items, "call_ended")
            .iter()
            .any(|e| e["payload"]["cause"] == "callback"),
        "the call ended as a callback: {items:#?}"
    );
    let request = of_type(&items, "callback_requested")[0];
    assert_eq!(request["payload"]["number"], CALLER);
    assert_eq!(request["payload"]["queue"], "later");
    // The callback waits in `later` with the caller's wait so far, and does not
    // overflow again (nobody is on the line).
    let callback = request["payload"]["callback"].as_str().unwrap();
    let agent = server
        .post_json(
            "/api/v1/agents",
            &admin,
            &json!({"name": "ann", "password": "password-of-ann", "queues": ["later"]}),
        )
        .await;
    let agent = agent["id"].as_str().unwrap();
    let token = server.cli(&["token", "create", "ann"], "");
    let res = reqwest::Client::new()
        .put(server.url(&format!("/api/v1/agents/{agent}/state")))
        .bearer_auth(&token)
        .json(&json!({"state": "available"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let offer = server.first_offer(agent, &token).await;
    assert_eq!(offer["conversation"], callback);
    assert_eq!(offer["queue"], "later");
    let waited = offer["waited_seconds"].as_u64().unwrap();
    assert!(
        waited + 1 >= started.elapsed().as_secs(),
        "the callback keeps the caller's place: waited {waited} s"
    );
    let stats = server.get_json("/api/v1/queues/later/stats", &admin).await;
    assert_eq!(stats["overflowed_today"], 1, "{stats}");
}

#[tokio::test]
async fn a_call_back_in_its_queue_after_a_lost_agent_still_overflows_to_voicemail() {
    let (server, admin) = server_with("hold", "voicemail", 3).await;
    // Ann takes the call but has no phone: the call goes back to the front of
    // `hold` (and ann away), waits 3 s there, and overflows to voicemail.
    let ann = server
        .post_json(
            "/api/v1/agents",
            &admin,
            &json!({"name": "ann", "password": "password-of-ann", "queues": ["hold"]}),
        )
        .await;
    let ann = ann["id"].as_str().unwrap().to_string();
    let token = server.cli(&["token", "create", "ann"], "");
    let res = reqwest::Client::new()
        .put(server.url(&format!("/api/v1/agents/{ann}/state")))
        .bearer_auth(&token)
        .json(&json!({"state": "available"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The caller speaks from 11 s on and hangs up at 20 s.
    let scenario = server.scenario(
        "voicemail_caller.xml",
        &[(
            "<pause milliseconds=\"500\"/>",
            "<pause milliseconds=\"11000\"/>",
        )],
    );
    let caller = server
        .sipp(&["-sf", &scenario, "-s", "4200", "-m", "1", "-d", "9000"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let offer = server.first_offer(&ann, &token).await;
    server.accept(&offer, &token).await;
    assert!(
        common::wait_child(caller).await.success(),
        "the caller's call completed"
    );
    let items = timeline_until(&server, &admin, |items| {
        !of_type(items, "voicemail").is_empty() && !of_type(items, "call_ended").is_empty()
    })
    .await;
    assert!(
        items.iter().any(|e| e["payload"]["type"] == "ivr_step"
            && e["payload"]["step"] == "requeue"
            && e["payload"]["detail"]["reason"] == "agent_unreachable"),
        "the call went back to its queue: {items:#?}"
    );
    let overflowed = of_type(&items, "overflowed");
    assert_eq!(overflowed.len(), 1, "{items:#?}");
    assert_eq!(overflowed[0]["payload"]["action"], "voicemail");
    let voicemail = of_type(&items, "voicemail")[0];
    assert!(
        voicemail["payload"]["duration_ms"].as_i64().unwrap() >= 2000,
        "the message holds what the caller said: {voicemail}"
    );
}
