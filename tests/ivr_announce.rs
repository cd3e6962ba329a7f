//! Values said and places announced, with real sipp callers: a `say` step reads a
//! number, an amount and a date in one playback; two callers wait in a queue with
//! nobody staffing it and each hears their own place every two seconds (no wait
//! estimate, since nobody could answer), between stretches of music. The
//! announcements are in each caller's timeline, and `/metrics` counts them
//! waiting in the queue.

mod common;

use common::{Backend, Server};
use serde_json::Value;

const PLAN: &str = r#"name: announce
match: { dids: ["5100"], default: true }
language: en
start: total
steps:
  total:
    say:
      - prompt: order_entered
      - number: "1234"
      - amount: "12.5"
      - date: "2026-11-30"
    next: wait
  wait:
    queue: { name: support, announce_every: 2 }
"#;

/// Starts a call to 5100 from `number` that stays `ms` milliseconds.
fn call_from(server: &Server, number: &str, ms: u32) -> std::process::Child {
    let scenario = server.dir.path().join(format!("uac-{number}.xml"));
    let uac = std::process::Command::new("sipp")
        .args(["-sd", "uac"])
        .output()
        .expect("sipp (scripts/test installs it)");
    let text = String::from_utf8_lossy(&uac.stdout)
        .replace("sipp <sip:sipp@", &format!("sipp <sip:{number}@"));
    std::fs::write(&scenario, text).unwrap();
    server
        .sipp(&[
            "-sf",
            &scenario.display().to_string(),
            "-s",
            "5100",
            "-m",
            "1",
            "-d",
            &ms.to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("sipp")
}

/// The details of `step` in the caller's timeline, oldest first.
async fn details(server: &Server, token: &str, number: &str, step: &str) -> Vec<Value> {
    server
        .phone_timeline(number, token)
        .await
        .iter()
        .rev()
        .filter(|e| e["payload"]["type"] == "ivr_step" && e["payload"]["step"] == step)
        .map(|e| e["payload"]["detail"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_hear_values_and_their_own_place_in_the_queue() {
    let plans = tempfile::tempdir().unwrap();
    std::fs::write(plans.path().join("announce.yaml"), PLAN).unwrap();
    let dir = plans.path().display().to_string();
    let server = Server::start_with(Backend::Sqlite, &[("SWITCHBOARD_DIALPLANS_DIR", &dir)]).await;

    let mut first = call_from(&server, "+8613700000011", 22000);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let mut second = call_from(&server, "+8613700000012", 17000);
    // Both wait: the queue's gauges say so.
    let mut metrics = String::new();
    for _ in 0..150 {
        metrics = server.metrics().await;
        if metrics.contains("switchboard_queue_waiting{queue=\"support\"} 2\n") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        metrics.contains("switchboard_queue_waiting{queue=\"support\"} 2\n"),
        "{metrics}"
    );
    assert!(metrics.contains("switchboard_queue_waiting{queue=\"sales\"} 0\n"));
    assert!(
        first.wait().unwrap().success(),
        "the first call went through"
    );
    assert!(
        second.wait().unwrap().success(),
        "the second call went through"
    );

    let token = server.token_for("sup", "supervisor");
    let said = details(&server, &token, "+8613700000011", "total").await;
    assert_eq!(
        said[0]["say"],
        serde_json::json!(["order_entered", "1234", "12.5", "2026-11-30"]),
        "{said:?}"
    );
    assert!(said[0].get("errors").is_none(), "{said:?}");

    let places = |steps: &[Value]| -> Vec<Value> {
        steps
            .iter()
            .filter_map(|d| d.get("announce").cloned())
            .collect()
    };
    let first_places = places(&details(&server, &token, "+8613700000011", "wait").await);
    let second_places = places(&details(&server, &token, "+8613700000012", "wait").await);
    assert!(first_places.len() >= 2, "every 2 s: {first_places:?}");
    assert!(second_places.len() >= 2, "every 2 s: {second_places:?}");
    for p in &first_places {
        assert_eq!(
            p["position"], 1,
            "the first caller is next: {first_places:?}"
        );
        assert!(p["wait_minutes"].is_null(), "nobody staffs the queue: {p}");
    }
    assert!(
        second_places.iter().all(|p| p["position"] == 2),
        "the second caller is behind the first: {second_places:?}"
    );
}
