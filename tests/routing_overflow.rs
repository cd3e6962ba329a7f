//! Overflow and ring-all through the API on the real binary: a chat waits one
//! second in a queue, overflows into a second queue keeping its queued time,
//! is offered to that queue's agent, and its timeline says so; bad overflow
//! settings are refused; a ring-all call rings two agents, one accepts and the
//! other's offer is gone.

mod common;

use std::time::Duration;

use common::{Backend, Server};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Api<'a> {
    server: &'a Server,
    http: reqwest::Client,
}

impl Api<'_> {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        common::api_request(&self.http, method, self.server.url(path), token, body).await
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    /// Creates an agent serving `queues`, available; its id and token.
    async fn agent(&self, admin: &str, name: &str, queues: &[&str]) -> (String, String) {
        let (s, a) = self
            .post(
                "/api/v1/agents",
                admin,
                json!({"name": name, "password": format!("password-of-{name}"), "queues": queues}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{a}");
        let id = a["id"].as_str().unwrap().to_string();
        let token = self.server.cli(&["token", "create", name], "");
        let (s, st) = self
            .send(
                reqwest::Method::PUT,
                &format!("/api/v1/agents/{id}/state"),
                &token,
                Some(json!({"state": "available"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{st}");
        (id, token)
    }

    async fn offers(&self, agent: &str, token: &str, n: usize) -> Vec<Value> {
        for _ in 0..100 {
            let o = self
                .server
                .get_json(&format!("/api/v1/agents/{agent}/offers"), token)
                .await;
            let items = o["items"].as_array().cloned().unwrap_or_default();
            if items.len() == n {
                return items;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("agent never had {n} offers");
    }

    async fn queue(&self, admin: &str, body: Value) -> (StatusCode, Value) {
        self.post("/api/v1/queues", admin, body).await
    }
}

async fn scenario(backend: Backend) {
    let server = Server::start(backend).await;
    let admin = server.token_for("boss", "admin");
    let api = Api {
        server: &server,
        http: reqwest::Client::new(),
    };
    let (s, q) = api
        .queue(&admin, json!({"name": "second", "wrap_up_seconds": 0}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    for (bad, why) in [
        (
            json!({"name": "first", "max_wait_seconds": 1, "overflow": {"action": "queue", "queue": "first"}}),
            "into itself",
        ),
        (
            json!({"name": "first", "max_wait_seconds": 1, "overflow": {"action": "queue", "queue": "nope"}}),
            "unknown queue `nope`",
        ),
        (
            json!({"name": "first", "max_wait_seconds": 1}),
            "go together",
        ),
        (
            json!({"name": "first", "max_wait_seconds": 0, "overflow": {"action": "voicemail"}}),
            "positive",
        ),
    ] {
        let (s, e) = api.queue(&admin, bad).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
        assert!(e.to_string().contains(why), "{e}");
    }
    let (s, q) = api
        .queue(
            &admin,
            json!({"name": "first", "max_wait_seconds": 1, "overflow": {"action": "queue", "queue": "second"}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    assert_eq!(q["overflow"], json!({"action": "queue", "queue": "second"}));
    let (zoe, zoe_token) = api.agent(&admin, "zoe", &["second"]).await;

    let (_, cust) = api
        .post(
            "/api/v1/customers",
            &admin,
            json!({"name": "Wang Fang", "identities": [{"kind": "email", "value": "fang@example.com"}]}),
        )
        .await;
    let cust_id = cust["id"].as_str().unwrap();
    let (s, chat) = api
        .post(
            "/api/v1/conversations",
            &admin,
            json!({"customer_id": cust_id, "channel": "chat", "queue": "first", "text": "anyone?"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{chat}");
    let chat_id = chat["id"].as_str().unwrap();
    let offer = &api.offers(&zoe, &zoe_token, 1).await[0];
    assert_eq!(offer["conversation"], chat["id"]);
    assert_eq!(
        offer["queue"], "second",
        "offered in the queue it overflowed to"
    );
    // The routing actor's writer stores the move after the offer went out.
    let mut conv = Value::Null;
    for _ in 0..50 {
        conv = server
            .get_json(&format!("/api/v1/conversations/{chat_id}"), &admin)
            .await;
        if conv["queue"] == "second" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(conv["queue"], "second", "{conv}");
    assert_eq!(
        conv["queued_at"], chat["queued_at"],
        "the queued time is kept"
    );
    let mut overflowed = Value::Null;
    for _ in 0..50 {
        let page = server
            .get_json(&format!("/api/v1/customers/{cust_id}/timeline"), &admin)
            .await;
        if let Some(e) = page["items"].as_array().and_then(|items| {
            items
                .iter()
                .find(|e| e["payload"]["type"] == "overflowed")
                .cloned()
        }) {
            overflowed = e;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(overflowed["conversation_id"], chat["id"], "{overflowed}");
    let p = &overflowed["payload"];
    assert_eq!(
        (&p["from"], &p["action"], &p["to"]),
        (&json!("first"), &json!("queue"), &json!("second"))
    );
    assert!(p["waited_seconds"].as_u64().unwrap() >= 1, "{p}");
    let stats = server.get_json("/api/v1/queues/first/stats", &admin).await;
    assert_eq!(stats["overflowed_today"], 1, "{stats}");
    assert!(
        server
            .metrics()
            .await
            .contains("switchboard_queue_overflowed_today{queue=\"first\"} 1\n")
    );
    let offer_id = offer["offer"].as_str().unwrap();
    let (s, _) = api
        .post(
            &format!("/api/v1/offers/{offer_id}/accept"),
            &zoe_token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // Ring-all: a call rings both agents; the first accept takes it.
    let (s, q) = api
        .queue(&admin, json!({"name": "ring", "strategy": "ring_all"}))
        .await;
    assert_eq!(
        (s, &q["strategy"]),
        (StatusCode::CREATED, &json!("ring_all"))
    );
    let (amy, amy_token) = api.agent(&admin, "amy", &["ring"]).await;
    let (ben, ben_token) = api.agent(&admin, "ben", &["ring"]).await;
    let (s, call) = api
        .post(
            "/api/v1/conversations",
            &admin,
            json!({"customer_id": cust_id, "channel": "voice", "queue": "ring"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{call}");
    let amy_offer = api.offers(&amy, &amy_token, 1).await.remove(0);
    let ben_offer = api.offers(&ben, &ben_token, 1).await.remove(0);
    assert_eq!(amy_offer["conversation"], call["id"]);
    assert_eq!(ben_offer["conversation"], call["id"]);
    assert_ne!(amy_offer["offer"], ben_offer["offer"]);
    let accept = |o: &Value| format!("/api/v1/offers/{}/accept", o["offer"].as_str().unwrap());
    let (s, _) = api.post(&accept(&ben_offer), &ben_token, json!({})).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    api.offers(&amy, &amy_token, 0).await;
    let (s, e) = api.post(&accept(&amy_offer), &amy_token, json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "a late accept: {e}");
    let call_id = call["id"].as_str().unwrap();
    for _ in 0..50 {
        let conv = server
            .get_json(&format!("/api/v1/conversations/{call_id}"), &admin)
            .await;
        if conv["agent_id"] == json!(ben) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the call was not recorded as ben's");
}

#[tokio::test]
async fn overflow_and_ring_all_sqlite() {
    scenario(Backend::Sqlite).await;
}

#[tokio::test]
async fn overflow_and_ring_all_postgres() {
    scenario(Backend::Postgres).await;
}

/// A voicemail or callback overflow is refused while a language of the sound
/// set lacks the prompts it would play to the caller.
#[tokio::test]
async fn an_overflow_whose_prompts_are_missing_is_refused() {
    let sounds = tempfile::tempdir().unwrap();
    let copied = std::process::Command::new("cp")
        .arg("-r")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/sounds/."))
        .arg(sounds.path())
        .status()
        .unwrap();
    assert!(copied.success());
    // A language recorded only in part: its callback prompt, not its voicemail ones.
    std::fs::create_dir(sounds.path().join("fr")).unwrap();
    std::fs::copy(
        sounds.path().join("en/callback_confirmed.wav"),
        sounds.path().join("fr/callback_confirmed.wav"),
    )
    .unwrap();
    let dir = sounds.path().display().to_string();
    let server = Server::start_with(Backend::Sqlite, &[("SWITCHBOARD_SOUNDS_DIR", &dir)]).await;
    let admin = server.token_for("boss", "admin");
    let api = Api {
        server: &server,
        http: reqwest::Client::new(),
    };
    let voicemail =
        json!({"name": "late", "max_wait_seconds": 30, "overflow": {"action": "voicemail"}});
    let (s, e) = api.queue(&admin, voicemail).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    let why = e.to_string();
    assert!(
        why.contains("fr/voicemail_greeting.wav") && why.contains("fr/beep.wav"),
        "{why}"
    );
    assert!(!why.contains("en/"), "{why}");
    let callback =
        json!({"name": "late", "max_wait_seconds": 30, "overflow": {"action": "callback"}});
    let (s, q) = api.queue(&admin, callback).await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
}
