//! Hot reload: breaking a dialplan on disk keeps the last good version for new
//! calls and reports the error; fixing it activates the new version.

mod common;

use std::time::Duration;

use common::{Backend, Server, repo};
use serde_json::Value;

async fn status(server: &Server, token: &str) -> Value {
    reqwest::Client::new()
        .get(server.url("/api/v1/dialplans"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn call_support(server: &Server) -> bool {
    server
        .sipp(&[
            "-sf",
            "ivr_support.xml",
            "-s",
            "4000",
            "-m",
            "1",
            "-d",
            "500",
        ])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("sipp")
        .success()
}

#[tokio::test]
async fn a_broken_dialplan_never_replaces_a_good_one() {
    let plans = tempfile::tempdir().unwrap();
    let file = plans.path().join("hotline.yaml");
    let good = std::fs::read_to_string(repo("dialplans/hotline.yaml")).unwrap();
    std::fs::write(&file, &good).unwrap();
    let dir = plans.path().display().to_string();
    let server = Server::start_with(
        Backend::Sqlite,
        &[
            ("SWITCHBOARD_DIALPLANS_DIR", &dir),
            ("SWITCHBOARD_DIALPLAN_VARS", "open=always"),
        ],
    )
    .await;
    let admin = server.token_for("boss", "admin");
    assert_eq!(status(&server, &admin).await["version"], 1);

    // A call is running while the file breaks.
    let running = {
        server
            .sipp(&[
                "-sf",
                "ivr_support.xml",
                "-s",
                "4000",
                "-m",
                "1",
                "-d",
                "4000",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    tokio::time::sleep(Duration::from_millis(800)).await;
    std::fs::write(&file, good.replace("on_fail: operator", "on_fail: nowhere")).unwrap();
    let mut report = Value::Null;
    for _ in 0..50 {
        report = status(&server, &admin).await;
        if !report["problems"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let problems = report["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.as_str().unwrap().contains("no step named `nowhere`")),
        "{report}"
    );
    assert!(
        problems[0]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}:", file.display())),
        "file:line:col: {report}"
    );
    assert_eq!(report["version"], 1, "the good version stays in force");

    let running = tokio::task::spawn_blocking(move || {
        let mut r = running;
        r.wait()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(running.success(), "the running call went on");
    assert!(
        call_support(&server),
        "a new call uses the last good version"
    );

    std::fs::write(&file, good.replace("timeout: 6", "timeout: 7")).unwrap();
    for _ in 0..50 {
        if status(&server, &admin).await["version"] == 2 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the fixed dialplan was not activated");
}
