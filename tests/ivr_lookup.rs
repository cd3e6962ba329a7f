//! The dialplan `lookup` step against a real HTTP service: a sipp call reaches a
//! plan that POSTs the caller's variables to the service, and the answer's fields
//! pick the branch; an unreachable or failing service takes `on_fail`. Every step,
//! with the answer or the error, is in the caller's timeline.

mod common;

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use common::{Backend, Server};
use serde_json::{Value, json};

type Seen = Arc<Mutex<Vec<Value>>>;

/// A customer service: VIP for one number, 500 for another, regular otherwise.
async fn customers(State(seen): State<Seen>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    seen.lock().unwrap().push(body.clone());
    match body["caller"].as_str() {
        Some("+8613700000001") => (
            StatusCode::OK,
            Json(json!({ "tier": "vip", "name": "Ms Li" })),
        ),
        Some("+8613700000002") => (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({}))),
        _ => (StatusCode::OK, Json(json!({ "tier": "regular" }))),
    }
}

async fn service() -> (String, Seen) {
    let seen = Seen::default();
    let app = axum::Router::new()
        .route("/customers", axum::routing::post(customers))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

fn plan(base: &str) -> String {
    format!(
        r#"name: lookup
match: {{ dids: ["5000"], default: true }}
language: en
start: who
steps:
  who:
    lookup: {{ url: "{base}/customers?did={{did}}", into: customer, timeout_ms: 2000, on_fail: regular }}
    next: route
  route:
    branch:
      - if: {{ equals: {{ customer.tier: vip }} }}
        goto: vip
      - goto: regular
  vip:
    play: {{ prompts: [order_received] }}
    next: bye
  regular:
    play: {{ prompts: [main_menu] }}
    next: bye
  bye:
    hangup: {{}}
"#
    )
}

/// Calls 5000 from `number` (sipp's uac with that caller id) and returns the
/// IVR steps of that caller's timeline, oldest first.
async fn call_from(server: &Server, number: &str) -> Vec<Value> {
    let scenario = server.dir.path().join(format!("uac-{number}.xml"));
    let uac = std::process::Command::new("sipp")
        .args(["-sd", "uac"])
        .output()
        .expect("sipp");
    let text = String::from_utf8_lossy(&uac.stdout)
        .replace("sipp <sip:sipp@", &format!("sipp <sip:{number}@"));
    std::fs::write(&scenario, text).unwrap();
    let ok = server
        .sipp(&[
            "-sf",
            &scenario.display().to_string(),
            "-s",
            "5000",
            "-m",
            "1",
            "-d",
            "1000",
        ])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("sipp");
    assert!(ok.success(), "the call went through");
    let token = server.token_for(&format!("sup{}", &number[number.len() - 1..]), "supervisor");
    for _ in 0..100 {
        let items = server.phone_timeline(number, &token).await;
        let steps: Vec<Value> = items
            .iter()
            .rev()
            .filter(|e| e["payload"]["type"] == "ivr_step")
            .map(|e| e["payload"].clone())
            .collect();
        if steps
            .iter()
            .any(|s| s["step"] == "route" || s["step"] == "regular")
        {
            return steps;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no IVR steps for {number}");
}

fn step<'a>(steps: &'a [Value], name: &str) -> Vec<&'a Value> {
    steps
        .iter()
        .filter(|s| s["step"] == name)
        .map(|s| &s["detail"])
        .collect()
}

// Multi-threaded: the test's HTTP service answers while sipp runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_answer_picks_the_branch_and_a_failure_takes_on_fail() {
    let (base, seen) = service().await;
    let plans = tempfile::tempdir().unwrap();
    std::fs::write(plans.path().join("lookup.yaml"), plan(&base)).unwrap();
    let dir = plans.path().display().to_string();
    let server = Server::start_with(Backend::Sqlite, &[("SWITCHBOARD_DIALPLANS_DIR", &dir)]).await;

    let vip = call_from(&server, "+8613700000001").await;
    let who = step(&vip, "who");
    assert_eq!(who[0]["lookup"], format!("{base}/customers?did=5000"));
    assert_eq!(who[1]["ok"], true, "{vip:?}");
    assert_eq!(who[1]["fields"]["tier"], "vip");
    assert_eq!(step(&vip, "route")[0]["branch"], "vip", "{vip:?}");
    let posted = seen.lock().unwrap()[0].clone();
    assert_eq!(posted["caller"], "+8613700000001");
    assert_eq!(posted["did"], "5000");

    let failing = call_from(&server, "+8613700000002").await;
    let who = step(&failing, "who");
    assert_eq!(who[1]["ok"], false);
    assert_eq!(who[1]["error"], "HTTP 500");
    assert!(
        step(&failing, "route").is_empty(),
        "on_fail skips the branch: {failing:?}"
    );
    assert!(!step(&failing, "regular").is_empty());
}

#[tokio::test]
async fn an_unreachable_service_takes_on_fail() {
    let plans = tempfile::tempdir().unwrap();
    std::fs::write(plans.path().join("lookup.yaml"), plan("http://127.0.0.1:9")).unwrap();
    let dir = plans.path().display().to_string();
    let server = Server::start_with(Backend::Sqlite, &[("SWITCHBOARD_DIALPLANS_DIR", &dir)]).await;
    let steps = call_from(&server, "+8613700000003").await;
    let who = step(&steps, "who");
    assert_eq!(who[1]["ok"], false, "{steps:?}");
    assert!(
        who[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("request failed"),
        "{steps:?}"
    );
}
