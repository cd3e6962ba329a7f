//! Routing through the API on the real binary: an agent goes available, chats
//! opened through the API are offered to them one at a time within capacity,
//! accepted, answered and wrapped up; wrong agents are refused; a restart keeps
//! the queue; a chat closed by hand leaves it.

mod common;

use common::{Backend, Server};
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Client {
    http: reqwest::Client,
    base: String,
}

impl Client {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        common::api_request(
            &self.http,
            method,
            format!("{}{path}", self.base),
            token,
            body,
        )
        .await
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, token, None).await
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    async fn wait_offers(&self, agent: &str, token: &str, n: usize) -> Vec<Value> {
        for _ in 0..100 {
            let (_, o) = self
                .get(&format!("/api/v1/agents/{agent}/offers"), token)
                .await;
            let items = o["items"].as_array().cloned().unwrap_or_default();
            if items.len() == n {
                return items;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("agent never had {n} offers");
    }
}

async fn scenario(backend: Backend) {
    let mut server = Server::start(backend).await;
    let admin = server.token_for("boss", "admin");
    let c = Client {
        http: reqwest::Client::new(),
        base: format!("http://{}", server.http),
    };
    let (s, q) = c
        .post(
            "/api/v1/queues",
            &admin,
            json!({"name": "support", "wrap_up_seconds": 0}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{q}");
    assert_eq!(q["strategy"], "best_fit", "the default strategy");
    let (s, rr) = c
        .post(
            "/api/v1/queues",
            &admin,
            json!({"name": "chat", "strategy": "least_occupied"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{rr}");
    assert_eq!(rr["strategy"], "least_occupied");
    let (s, bad) = c
        .post(
            "/api/v1/queues",
            &admin,
            json!({"name": "x", "strategy": "random"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    let (s, bad) = c
        .post(
            "/api/v1/agents",
            &admin,
            json!({"name": "x", "password": "password-of-x", "queues": ["nope"]}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    let (s, ann) = c.post("/api/v1/agents", &admin, json!({"name": "ann", "password": "password-of-ann", "skills": {"billing": 4}, "languages": ["zh", "en"], "capacity": {"voice": 1, "chat": 1}, "queues": ["support"]})).await;
    assert_eq!(s, StatusCode::CREATED, "{ann}");
    let ann_id = ann["id"].as_str().unwrap().to_string();
    let ann_token = server.cli(&["token", "create", "ann"], "");
    let (_, bob) = c
        .post(
            "/api/v1/agents",
            &admin,
            json!({"name": "bob", "password": "password-of-bob", "queues": ["support"]}),
        )
        .await;
    let bob_token = server.cli(&["token", "create", "bob"], "");

    let (s, st) = c
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/agents/{ann_id}/state"),
            &ann_token,
            Some(json!({"state": "available"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{st}");
    assert_eq!(st["status"]["state"], "available");
    let (s, _) = c
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/agents/{ann_id}/state"),
            &bob_token,
            Some(json!({"state": "away", "reason": "prank"})),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "an agent cannot change another agent"
    );

    // Two chats: capacity 1 means one offer at a time.
    let (_, cust) = c
        .post(
            "/api/v1/customers",
            &admin,
            json!({"name": "Li Lei", "identities": [{"kind": "phone", "value": "+8613800138000"}]}),
        )
        .await;
    let cust_id = cust["id"].as_str().unwrap();
    let (s, chat1) = c
        .post(
            "/api/v1/conversations",
            &admin,
            json!({"customer_id": cust_id, "channel": "chat", "queue": "support", "text": "first"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{chat1}");
    let (_, chat2) = c.post("/api/v1/conversations", &admin, json!({"customer_id": cust_id, "channel": "chat", "queue": "support", "text": "second"})).await;
    let (s, _) = c
        .post(
            "/api/v1/conversations",
            &admin,
            json!({"customer_id": cust_id, "channel": "chat", "queue": "nowhere"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let offers = c.wait_offers(&ann_id, &ann_token, 1).await;
    assert_eq!(offers[0]["conversation"], chat1["id"], "oldest first");
    let offer = offers[0]["offer"].as_str().unwrap().to_string();
    let (s, _) = c
        .post(
            &format!("/api/v1/offers/{offer}/accept"),
            &bob_token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "not bob's offer");
    let (s, _) = c
        .post(
            &format!("/api/v1/offers/{offer}/accept"),
            &ann_token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = c
        .post(
            &format!("/api/v1/offers/{offer}/accept"),
            &ann_token,
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "double accept");
    let (_, o) = c
        .get(&format!("/api/v1/agents/{ann_id}/offers"), &ann_token)
        .await;
    assert_eq!(
        o["items"].as_array().unwrap().len(),
        0,
        "at capacity: the second chat waits"
    );
    let chat1_id = chat1["id"].as_str().unwrap();
    let (s, _) = c
        .post(
            &format!("/api/v1/conversations/{chat1_id}/messages"),
            &ann_token,
            json!({"text": "Hello, how can I help?"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    for _ in 0..50 {
        let (_, conv) = c
            .get(&format!("/api/v1/conversations/{chat1_id}"), &ann_token)
            .await;
        if conv["status"] == "assigned" {
            assert_eq!(conv["agent_id"], ann_id.as_str());
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (s, _) = c
        .post(
            &format!("/api/v1/conversations/{chat1_id}/wrap-up"),
            &bob_token,
            json!({"disposition": "answered"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "only the assigned agent wraps up");
    let (s, done) = c
        .post(
            &format!("/api/v1/conversations/{chat1_id}/wrap-up"),
            &ann_token,
            json!({"disposition": "answered", "notes": "asked about order"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{done}");
    assert_eq!(
        (done["status"].as_str(), done["disposition"].as_str()),
        (Some("resolved"), Some("answered"))
    );
    let offers = c.wait_offers(&ann_id, &ann_token, 1).await;
    assert_eq!(
        offers[0]["conversation"], chat2["id"],
        "the second chat comes after the first is done"
    );

    let (_, stats) = c.get("/api/v1/queues/support/stats", &ann_token).await;
    assert_eq!(stats["answered_today"], 1, "{stats}");
    assert_eq!(stats["waiting"], 1);

    // A restart keeps the waiting chat and the agent.
    server.restart();
    let c = Client {
        http: reqwest::Client::new(),
        base: format!("http://{}", server.http),
    };
    let offers = c.wait_offers(&ann_id, &ann_token, 1).await;
    assert_eq!(
        offers[0]["conversation"], chat2["id"],
        "restored after restart"
    );

    // Closing the waiting chat by hand takes it out of routing: the offer is
    // withdrawn and the queue is empty.
    let chat2_id = chat2["id"].as_str().unwrap();
    let (s, closed) = c
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/conversations/{chat2_id}/status"),
            &admin,
            Some(json!({"status": "resolved"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{closed}");
    c.wait_offers(&ann_id, &ann_token, 0).await;
    let (_, stats) = c.get("/api/v1/queues/support/stats", &ann_token).await;
    assert_eq!(stats["waiting"], 0, "{stats}");
    let _ = bob;
}

#[tokio::test]
async fn routing_end_to_end_sqlite() {
    scenario(Backend::Sqlite).await;
}

#[tokio::test]
async fn routing_end_to_end_postgres() {
    scenario(Backend::Postgres).await;
}
