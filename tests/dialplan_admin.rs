//! Editing dialplans over the API with the real binary, on SQLite and PostgreSQL:
//! source, check and save (validated with the whole folder, so a bad dialplan never
//! replaces a good one), stale edits, history with diffs, rollback, new plans,
//! roles and bad input. The server edits a copy of the repo's dialplans folder.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Backend, Server, repo};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Digest;

const SECOND: &str =
    "name: second\nmatch:\n  dids: [\"5000\"]\nstart: bye\nsteps:\n  bye:\n    hangup: {}\n";

struct Ctx {
    server: Server,
    admin: String,
    agent: String,
    plans: tempfile::TempDir,
    http: reqwest::Client,
}

impl Ctx {
    async fn start(backend: Backend) -> Ctx {
        let plans = copy_dialplans();
        let dir = plans.path().display().to_string();
        let server = Server::start_with(backend, &[("SWITCHBOARD_DIALPLANS_DIR", &dir)]).await;
        let admin = server.token_for("boss", "admin");
        let agent = server.token_for("ann", "agent");
        Ctx {
            server,
            admin,
            agent,
            plans,
            http: reqwest::Client::new(),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        common::api_request(&self.http, method, self.server.url(path), token, body).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, &self.admin, None).await
    }

    async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::PUT, path, &self.admin, Some(body)).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, &self.admin, Some(body)).await
    }

    async fn version(&self) -> u64 {
        let (status, report) = self.get("/api/v1/dialplans").await;
        assert_eq!(status, StatusCode::OK, "{report}");
        report["version"].as_u64().expect("version")
    }

    fn hotline(&self) -> PathBuf {
        self.plans.path().join("hotline.yaml")
    }

    fn on_disk(&self) -> String {
        std::fs::read_to_string(self.hotline()).unwrap()
    }
}

/// A temporary copy of the repo's dialplans folder.
fn copy_dialplans() -> tempfile::TempDir {
    let plans = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo("dialplans")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), plans.path().join(entry.file_name())).unwrap();
    }
    plans
}

fn sha256(text: &str) -> String {
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// The 1-based line of the first `needle` in `text`.
fn line_of(text: &str, needle: &str) -> u64 {
    text.lines().position(|l| l.contains(needle)).expect(needle) as u64 + 1
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// (a) a valid edit is saved, written and activated.
async fn edit_is_saved_and_activated(ctx: &Ctx) -> (Value, String, u64) {
    let (status, src) = ctx.get("/api/v1/dialplans/hotline/source").await;
    assert_eq!(status, StatusCode::OK, "{src}");
    let original = src["text"].as_str().unwrap().to_string();
    assert_eq!(original, ctx.on_disk());
    assert_eq!(src["name"], "hotline");
    assert_eq!(src["file"], ctx.hotline().display().to_string());
    assert_eq!(src["sha256"], sha256(&original));
    let before = ctx.version().await;

    let edited = original.replace("timeout: 6", "timeout: 8");
    let (status, check) = ctx
        .post("/api/v1/dialplans/hotline/check", json!({"text": edited}))
        .await;
    assert_eq!(status, StatusCode::OK, "{check}");
    assert_eq!(check["ok"], true, "{check}");
    assert_eq!(ctx.on_disk(), original, "a check writes nothing");

    let body = json!({"text": edited, "base_sha256": src["sha256"], "comment": "slower main menu"});
    let (status, saved) = ctx.put("/api/v1/dialplans/hotline", body).await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let version = saved["version"].as_u64().unwrap();
    assert!(version > before, "{saved}");
    assert_eq!(saved["sha256"], sha256(&edited));
    assert!(saved["warnings"].as_array().unwrap().is_empty(), "{saved}");
    assert_eq!(ctx.on_disk(), edited);
    assert_eq!(
        file_names(ctx.plans.path()),
        ["hotline.yaml"],
        "no temporary left"
    );

    let (_, report) = ctx.get("/api/v1/dialplans").await;
    assert_eq!(report["version"], version, "{report}");
    assert!(
        report["problems"].as_array().unwrap().is_empty(),
        "{report}"
    );
    assert_eq!(report["plans"][0]["name"], "hotline");
    // The folder watcher does not activate the saved file a second time.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(ctx.version().await, version);
    (src, edited, version)
}

/// (b) invalid plans are refused with their problems; nothing changes.
async fn invalid_edits_change_nothing(ctx: &Ctx, good: &str, version: u64) {
    let sha = sha256(good);
    let broken_yaml = good.replace(
        "options: { \"1\": chinese, \"2\": english }",
        "options: { \"1\": chinese, \"2\": english",
    );
    let unknown_step = good.replace("on_fail: operator", "on_fail: nowhere");
    for (text, expect_line, expect_message) in [
        (&broken_yaml, None, ""),
        (
            &unknown_step,
            Some(line_of(good, "on_fail: operator")),
            "no step named `nowhere`",
        ),
    ] {
        let body = json!({"text": text, "base_sha256": sha});
        let (status, err) = ctx.put("/api/v1/dialplans/hotline", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
        assert_eq!(err["error"]["code"], "invalid_dialplan", "{err}");
        let first = &err["error"]["problems"][0];
        assert_eq!(first["file"], ctx.hotline().display().to_string(), "{err}");
        assert_eq!(first["warning"], false, "{err}");
        assert!(first["line"].as_u64().unwrap() >= 1, "{err}");
        assert!(first["col"].as_u64().unwrap() >= 1, "{err}");
        if let Some(line) = expect_line {
            assert_eq!(first["line"], line, "{err}");
        }
        let message = first["message"].as_str().unwrap();
        assert!(message.contains(expect_message), "{err}");
        assert!(
            err["error"]["message"].as_str().unwrap().contains(message),
            "the message is the first problem: {err}"
        );
        assert_eq!(ctx.on_disk(), good, "the good plan stays on disk");
        assert_eq!(ctx.version().await, version, "the good plan stays in force");

        let (status, check) = ctx
            .post("/api/v1/dialplans/hotline/check", json!({"text": text}))
            .await;
        assert_eq!(status, StatusCode::OK, "{check}");
        assert_eq!(check["ok"], false, "{check}");
        assert_eq!(check["problems"][0]["line"], first["line"], "{check}");
    }
    // A new plan that takes a DID the hotline answers clashes with the folder.
    let clash = SECOND.replace("5000", "4000");
    let (status, err) = ctx
        .put("/api/v1/dialplans/second", json!({"text": clash}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("DID 4000 is already answered by dialplan `hotline`"),
        "{err}"
    );
    assert!(!ctx.plans.path().join("second.yaml").exists());
}

/// (c) an edit of an old text is a conflict.
async fn stale_edit_conflicts(ctx: &Ctx, stale_sha: &Value, good: &str) {
    let body = json!({"text": good.replace("timeout: 8", "timeout: 9"), "base_sha256": stale_sha});
    let (status, err) = ctx.put("/api/v1/dialplans/hotline", body).await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert_eq!(err["error"]["code"], "conflict");
    assert_eq!(ctx.on_disk(), good);
}

/// (d) history, diffs and rollback.
async fn history_diff_and_rollback(ctx: &Ctx, original: &str) {
    let (status, list) = ctx.get("/api/v1/dialplans/hotline/versions").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["author"], "boss");
    assert_eq!(list[0]["comment"], "slower main menu");
    assert_eq!(list[1]["author"], "disk");
    assert_eq!(list[1]["sha256"], sha256(original));
    let disk_id = list[1]["id"].as_str().unwrap().to_string();

    let (status, old) = ctx
        .get(&format!("/api/v1/dialplans/hotline/versions/{disk_id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{old}");
    assert_eq!(old["text"], original);
    let diff = old["diff"].as_str().unwrap();
    assert!(
        diff.contains("-      timeout: 6\n+      timeout: 8\n"),
        "{diff}"
    );

    let (status, back) = ctx
        .post(
            "/api/v1/dialplans/hotline/rollback",
            json!({"version": disk_id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{back}");
    assert_eq!(ctx.on_disk(), original);
    assert_eq!(back["sha256"], sha256(original));
    assert_eq!(ctx.version().await, back["version"].as_u64().unwrap());
    let (_, list) = ctx.get("/api/v1/dialplans/hotline/versions").await;
    assert_eq!(list.as_array().unwrap().len(), 3, "{list}");
    assert_eq!(list[0]["comment"], format!("rollback to {disk_id}"));
    let (_, old) = ctx
        .get(&format!("/api/v1/dialplans/hotline/versions/{disk_id}"))
        .await;
    assert_eq!(old["diff"], "", "the original is on disk again");
}

/// A new name creates `<name>.yaml`.
async fn new_plan_is_created(ctx: &Ctx) {
    let (status, saved) = ctx
        .put("/api/v1/dialplans/second", json!({"text": SECOND}))
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    let file = ctx.plans.path().join("second.yaml");
    assert_eq!(std::fs::read_to_string(file).unwrap(), SECOND);
    let (_, report) = ctx.get("/api/v1/dialplans").await;
    let names: Vec<&str> = report["plans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["hotline", "second"], "{report}");
    let renamed = SECOND.replace("name: second", "name: other");
    let (status, err) = ctx
        .put("/api/v1/dialplans/second", json!({"text": renamed}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    assert_eq!(err["error"]["problems"][0]["line"], 1, "{err}");
}

/// (e) roles and bad input.
async fn roles_and_bad_input(ctx: &Ctx) {
    let text = json!({"text": SECOND});
    let version = json!({"version": uuid::Uuid::new_v4()});
    for (method, path, body) in [
        (Method::GET, "/api/v1/dialplans/hotline/source", None),
        (Method::POST, "/api/v1/dialplans/second/check", Some(&text)),
        (Method::PUT, "/api/v1/dialplans/second", Some(&text)),
        (Method::GET, "/api/v1/dialplans/hotline/versions", None),
        (
            Method::POST,
            "/api/v1/dialplans/hotline/rollback",
            Some(&version),
        ),
    ] {
        let (status, err) = ctx.send(method, path, &ctx.agent, body.cloned()).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {err}");
    }
    let res = ctx
        .http
        .put(ctx.server.url("/api/v1/dialplans/hotline"))
        .bearer_auth(&ctx.admin)
        .header("content-type", "application/json")
        .body("{\"text\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let err: Value = res.json().await.unwrap();
    assert_eq!(err["error"]["code"], "bad_request", "{err}");

    let huge = format!("{SECOND}#{}\n", "x".repeat(256 * 1024));
    let (status, err) = ctx
        .put("/api/v1/dialplans/second", json!({"text": huge}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{err}");
    let (status, _) = ctx.get("/api/v1/dialplans/nobody/source").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = ctx.get("/api/v1/dialplans/Bad.Name/source").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = ctx
        .post("/api/v1/dialplans/hotline/rollback", version.clone())
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = ctx.get("/api/v1/dialplans/hotline/versions/x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn scenario(backend: Backend) {
    let ctx = Ctx::start(backend).await;
    let (src, edited, version) = edit_is_saved_and_activated(&ctx).await;
    invalid_edits_change_nothing(&ctx, &edited, version).await;
    stale_edit_conflicts(&ctx, &src["sha256"], &edited).await;
    history_diff_and_rollback(&ctx, src["text"].as_str().unwrap()).await;
    new_plan_is_created(&ctx).await;
    roles_and_bad_input(&ctx).await;
    assert!(
        std::fs::read_to_string(repo("dialplans/hotline.yaml"))
            .unwrap()
            .contains("timeout: 6"),
        "the repo's dialplans are untouched"
    );
}

#[tokio::test]
async fn dialplan_admin_sqlite() {
    scenario(Backend::Sqlite).await;
}

#[tokio::test]
async fn dialplan_admin_postgres() {
    scenario(Backend::Postgres).await;
}

/// The editor page in Chromium: a refused edit with its problem by line, a saved
/// edit, the history's diff and a rollback; the file on disk ends as it began.
#[tokio::test]
async fn an_admin_edits_a_dialplan_in_the_browser() {
    let plans = copy_dialplans();
    let dir = plans.path().display().to_string();
    let server = Server::start_with(Backend::Sqlite, &[("SWITCHBOARD_DIALPLANS_DIR", &dir)]).await;
    server.token_for("boss", "admin");
    let file = plans.path().join("hotline.yaml");
    let before = std::fs::read_to_string(&file).unwrap();
    let out = common::node_script(
        "dialplan_editor.mjs",
        &[
            ("SWITCHBOARD_URL", format!("http://{}", server.http)),
            ("ADMIN_NAME", "boss".into()),
            ("ADMIN_PASSWORD", "password-of-test".into()),
        ],
    )
    .output()
    .expect("node (scripts/test installs it)");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        before,
        "rolled back"
    );
    let admin = server.token_for("boss2", "admin");
    let versions = server
        .get_json("/api/v1/dialplans/hotline/versions", &admin)
        .await;
    assert_eq!(versions.as_array().map(Vec::len), Some(3), "{versions}");
}
