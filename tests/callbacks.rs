//! Voicemail and callbacks end to end: a sipp caller leaves a message on a
//! dialplan's `voicemail` step; the message lands in the caller's timeline
//! (playable through the API) and a callback waits in the support queue; the
//! agent takes it, and the server dials the customer through the trunk (a sipp
//! UAS) and bridges them to the agent's desk phone (another sipp). A busy line
//! is retried after the delay and given up after the last try, across a
//! restart of the server.

mod common;

use std::process::{Child, Stdio};
use std::time::Duration;

use common::{Backend, Server, of_type};
use serde_json::{Value, json};

const CALLER: &str = "+8613900002222";

/// A dialplan that takes every call to voicemail, with a callback in support.
const VOICEMAIL_PLAN: &str = r#"
name: messages
match: { default: true }
language: en
start: message
steps:
  message:
    voicemail: { prompts: [closed], queue: support, max_seconds: 30 }
    next: bye
  bye:
    hangup: {}
"#;

/// Calls to 4100 wait in support, which offers a callback after 2 s.
const QUEUE_PLAN: &str = r#"
name: waiting
match: { dids: ["4100"] }
language: en
start: wait
steps:
  wait:
    queue:
      name: support
      music: moh
      callback: { after: 2, prompts: [callback_offer], key: "1", confirm: callback_confirmed, timeout: 6 }
"#;

/// A server with the voicemail dialplan, the trunk at `trunk_port`, and agent
/// ann (available, in support); returns it with ann's id and token.
async fn server_with_trunk(
    backend: Backend,
    trunk_port: u16,
    extra: &[(&str, &str)],
) -> (Server, String, String) {
    let plans = tempfile::tempdir().unwrap();
    std::fs::write(plans.path().join("messages.yaml"), VOICEMAIL_PLAN).unwrap();
    std::fs::write(plans.path().join("waiting.yaml"), QUEUE_PLAN).unwrap();
    let plans_dir = plans.keep().display().to_string();
    let trunk = format!("127.0.0.1:{trunk_port}");
    let mut env = vec![
        ("SWITCHBOARD_DIALPLANS_DIR", plans_dir.as_str()),
        ("SWITCHBOARD_TRUNK_ADDRESS", trunk.as_str()),
        // The sipp lines here expect INVITEs only.
        ("SWITCHBOARD_TRUNK_OPTIONS_SECONDS", "0"),
    ];
    env.extend_from_slice(extra);
    let server = Server::start_with(backend, &env).await;
    let admin = server.token_for("boss", "admin");
    let agent = server
        .post_json(
            "/api/v1/agents",
            &admin,
            &json!({"name": "ann", "password": "password-of-ann", "queues": ["support"]}),
        )
        .await;
    let id = agent["id"].as_str().unwrap().to_string();
    let token = server.cli(&["token", "create", "ann"], "");
    (server, id, token)
}

async fn set_available(server: &Server, agent: &str, token: &str) {
    let res = reqwest::Client::new()
        .put(server.url(&format!("/api/v1/agents/{agent}/state")))
        .bearer_auth(token)
        .json(&json!({"state": "available"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// The customer's phone behind the trunk: sipp as UAS on `port`, `calls` calls.
fn customer_line(server: &Server, port: u16, scenario: &str, calls: u32) -> Child {
    let log = std::fs::File::create(server.dir.path().join("trunk.log")).unwrap();
    common::sipp_uas(port, scenario, calls, log.into())
}

/// The caller leaves a message: sipp talks, then hangs up.
async fn leave_message(server: &Server) {
    let caller = server
        .sipp(&[
            "-sf",
            "voicemail_caller.xml",
            "-s",
            "4000",
            "-m",
            "1",
            "-d",
            "9000",
        ])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(caller.status.success(), "the caller's call completed");
}

/// The customer's timeline (oldest first) once `done` holds for it.
async fn timeline_until(
    server: &Server,
    token: &str,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<Value> {
    server.phone_timeline_until(CALLER, token, done).await
}

#[tokio::test]
async fn a_voicemail_is_kept_and_its_callback_connects_the_customer_to_the_agent() {
    let trunk_port = common::free_udp_port();
    let (server, agent, token) = server_with_trunk(Backend::Sqlite, trunk_port, &[]).await;
    let admin = server.token_for("boss2", "admin");
    leave_message(&server).await;

    let items = timeline_until(&server, &token, |items| {
        !of_type(items, "callback_requested").is_empty() && !of_type(items, "voicemail").is_empty()
    })
    .await;
    let voicemail = of_type(&items, "voicemail")[0];
    assert!(
        voicemail["payload"]["duration_ms"].as_i64().unwrap() >= 2000,
        "the message holds what the caller said: {voicemail}"
    );
    let audio = reqwest::Client::new()
        .get(server.url(&format!(
            "/api/v1/events/{}/audio",
            voicemail["id"].as_str().unwrap()
        )))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(audio.status(), 200);
    let wav = hound::WavReader::new(std::io::Cursor::new(audio.bytes().await.unwrap())).unwrap();
    assert_eq!((wav.spec().channels, wav.spec().sample_rate), (1, 8000));
    assert!(wav.len() >= 16_000, "at least 2 s of audio");
    let energy: f64 = wav
        .into_samples::<i16>()
        .map(|s| f64::from(s.unwrap()).powi(2))
        .sum();
    assert!(energy > 0.0, "the message is not silence");

    let request = of_type(&items, "callback_requested")[0];
    assert_eq!(request["payload"]["number"], CALLER);
    assert_eq!(request["payload"]["queue"], "support");
    let callback = request["payload"]["callback"].as_str().unwrap().to_string();
    let conv = server
        .get_json(&format!("/api/v1/conversations/{callback}"), &token)
        .await;
    assert_eq!(conv["status"], "queued");
    assert_eq!(conv["channel"], "voice");

    // The customer answers and hangs up after 3 s; ann's desk phone takes it.
    let line = customer_line(&server, trunk_port, "agent_hangs_up.xml", 1);
    let phone = server.desk_phone("ann", &admin).await;
    set_available(&server, &agent, &token).await;
    let offer = server.first_offer(&agent, &token).await;
    assert_eq!(offer["conversation"], callback.as_str());
    server.accept(&offer, &token).await;
    assert!(
        common::wait_child(line).await.success(),
        "the customer's line answered and hung up: {}",
        std::fs::read_to_string(server.dir.path().join("trunk.log")).unwrap_or_default()
    );
    assert!(
        common::wait_child(phone).await.success(),
        "ann's phone was rung and hung up"
    );

    let items = timeline_until(&server, &token, |items| {
        items.iter().any(|e| {
            e["conversation_id"] == callback.as_str() && e["payload"]["type"] == "call_ended"
        }) && !of_type(items, "callback_attempt").is_empty()
    })
    .await;
    let attempt = of_type(&items, "callback_attempt")[0];
    assert_eq!(attempt["payload"]["outcome"], "answered");
    assert_eq!(attempt["payload"]["attempt"], 1);
    assert!(
        items
            .iter()
            .any(|e| e["conversation_id"] == callback.as_str()
                && e["payload"]["type"] == "call_answered"
                && e["payload"]["agent"] == "ann"),
        "the callback was bridged to ann"
    );
    let conv = server
        .get_json(&format!("/api/v1/conversations/{callback}"), &token)
        .await;
    assert_eq!(conv["status"], "resolved");
}

#[tokio::test]
async fn a_busy_customer_is_tried_again_after_the_delay_then_given_up_even_across_a_restart() {
    let trunk_port = common::free_udp_port();
    // On PostgreSQL: the callbacks table and its restart recovery there.
    let (mut server, agent, token) = server_with_trunk(
        Backend::Postgres,
        trunk_port,
        &[("SWITCHBOARD_CALLBACK_RETRY_SECONDS", "2")],
    )
    .await;
    leave_message(&server).await;
    let items = timeline_until(&server, &token, |items| {
        !of_type(items, "callback_requested").is_empty()
    })
    .await;
    let callback = of_type(&items, "callback_requested")[0]["payload"]["callback"]
        .as_str()
        .unwrap()
        .to_string();

    // The waiting callback survives a restart.
    server.restart();
    let line = customer_line(&server, trunk_port, "busy.xml", 3);
    set_available(&server, &agent, &token).await;
    for attempt in 1..=3 {
        let offer = server.first_offer(&agent, &token).await;
        assert_eq!(offer["conversation"], callback.as_str(), "try {attempt}");
        server.accept(&offer, &token).await;
        timeline_until(&server, &token, |items| {
            of_type(items, "callback_attempt").len() >= attempt
        })
        .await;
    }
    assert!(
        common::wait_child(line).await.success(),
        "three INVITEs reached the busy line"
    );
    let items = timeline_until(&server, &token, |items| {
        of_type(items, "callback_attempt").len() == 3
    })
    .await;
    for a in of_type(&items, "callback_attempt") {
        assert_eq!(a["payload"]["outcome"], "busy");
    }
    let conv = server
        .get_json(&format!("/api/v1/conversations/{callback}"), &token)
        .await;
    assert_eq!(conv["status"], "abandoned", "given up after the last try");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let offers = server
        .get_json(&format!("/api/v1/agents/{agent}/offers"), &token)
        .await;
    assert_eq!(offers["items"], json!([]), "no fourth try");
}

#[tokio::test]
async fn a_waiting_caller_who_takes_the_callback_offer_keeps_their_place() {
    let trunk_port = common::free_udp_port();
    let (server, agent, token) = server_with_trunk(Backend::Sqlite, trunk_port, &[]).await;
    // The caller waits in support, hears the offer after 2 s and presses 1
    // (every 2 s until the server hangs up after confirming).
    let two = r#"<nop><action><exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_2.pcap"/></action></nop>"#;
    let scenario = server.scenario(
        "caller_rates.xml",
        &[
            ("+8613912345678", CALLER),
            (two, ""),
            ("<pause milliseconds=\"1500\"/>", ""),
            ("dtmf_2833_4.pcap", "dtmf_2833_1.pcap"),
        ],
    );
    let started = std::time::Instant::now();
    let out = server
        .sipp(&["-sf", &scenario, "-s", "4100", "-m", "1"])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "the caller's call completed");
    let items = timeline_until(&server, &token, |items| {
        !of_type(items, "callback_requested").is_empty() && !of_type(items, "call_ended").is_empty()
    })
    .await;
    let request = of_type(&items, "callback_requested")[0];
    assert_eq!(request["payload"]["number"], CALLER);
    assert_eq!(request["payload"]["queue"], "support");
    assert!(
        items
            .iter()
            .any(|e| e["payload"]["type"] == "call_ended" && e["payload"]["cause"] == "callback"),
        "the call ended as a callback: {items:#?}"
    );
    // The callback waits with the time the caller already waited.
    let callback = request["payload"]["callback"].as_str().unwrap();
    let line = customer_line(&server, trunk_port, "busy.xml", 1);
    set_available(&server, &agent, &token).await;
    let offer = server.first_offer(&agent, &token).await;
    assert_eq!(offer["conversation"], callback);
    let waited = offer["waited_seconds"].as_u64().unwrap();
    let since_call = started.elapsed().as_secs();
    assert!(
        waited + 1 >= since_call,
        "the offer counts the wait from the caller's place in line: waited {waited} s, call started {since_call} s ago"
    );
    server.accept(&offer, &token).await;
    assert!(
        common::wait_child(line).await.success(),
        "the customer was dialled"
    );
}
