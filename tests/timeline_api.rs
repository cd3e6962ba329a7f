//! End to end through the real binary, on SQLite and on PostgreSQL: customers with
//! identities, timeline append and read, merge, roles, sessions and live events.

mod common;

use common::{Backend, Server};
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Api {
    http: reqwest::Client,
    server: Server,
}

impl Api {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, self.server.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.expect("request");
        let status = res.status();
        let text = res.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.send(reqwest::Method::POST, path, Some(token), Some(body))
            .await
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.send(reqwest::Method::GET, path, Some(token), None)
            .await
    }
}

async fn full_scenario(backend: Backend) {
    let server = Server::start(backend).await;
    let agent = server.token_for("ann", "agent");
    let supervisor = server.token_for("sue", "supervisor");
    let api = Api {
        http: reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap(),
        server,
    };

    // Unauthenticated and wrong-role requests are refused.
    let (s, body) = api
        .send(reqwest::Method::GET, "/api/v1/customers", None, None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthenticated");
    let (s, _) = api.get("/api/v1/customers", "sbt_not_a_token").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = api.get("/api/v1/users", &agent).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Create with a phone and an e-mail; both normalised.
    let (s, li) = api
        .post("/api/v1/customers", &agent, json!({"name": "Li Lei", "identities": [
            {"kind": "phone", "value": "+86 138 0013 8000"}, {"kind": "email", "value": "Li@Example.com"}]}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{li}");
    let li_id = li["id"].as_str().unwrap().to_string();
    let kinds: Vec<&str> = li["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"+8613800138000") && kinds.contains(&"li@example.com"),
        "{kinds:?}"
    );

    // Bad input: duplicate identity, unknown field, wrong type, bad phone.
    let (s, body) = api
        .post(
            "/api/v1/customers",
            &agent,
            json!({"name": "X", "identities": [{"kind": "email", "value": "li@example.com"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let (s, body) = api
        .post(
            "/api/v1/customers",
            &agent,
            json!({"name": "X", "colour": "red"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("colour"),
        "{body}"
    );
    let (s, body) = api
        .post("/api/v1/customers", &agent, json!({"name": ["X"]}))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("name"),
        "{body}"
    );
    let (s, _) = api
        .post(
            "/api/v1/customers",
            &agent,
            json!({"name": "X", "identities": [{"kind": "phone", "value": "12"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = api
        .get(
            "/api/v1/customers/00000000-0000-0000-0000-000000000000",
            &agent,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, body) = api.get("/api/v1/customers/not-a-uuid", &agent).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["code"], "bad_request", "a JSON error: {body}");

    // Search by phone, e-mail and free text.
    for q in [
        "phone=%2B8613800138000",
        "email=LI%40example.com",
        "q=lei",
        "q=13800",
    ] {
        let (s, found) = api.get(&format!("/api/v1/customers?{q}"), &agent).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            found["items"][0]["id"],
            li_id.as_str(),
            "search {q}: {found}"
        );
    }

    // Live events for this customer.
    let ws_url = format!("ws://{}/api/v1/events?customer_id={li_id}", api.server.http);
    let mut req =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(ws_url)
            .unwrap();
    req.headers_mut()
        .insert("Authorization", format!("Bearer {agent}").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("websocket");

    // A conversation with a first message, then more events.
    let (s, conv) = api.post("/api/v1/conversations", &agent, json!({"customer_id": li_id, "channel": "chat", "queue": "support", "text": "my order is late"})).await;
    assert_eq!(s, StatusCode::CREATED, "{conv}");
    assert_eq!(conv["status"], "queued");
    let conv_id = conv["id"].as_str().unwrap();
    let appended = [
        json!({"type": "call_offered", "from": "+8613800138000", "to": "4000"}),
        json!({"type": "dtmf", "digits": "2"}),
        json!({"type": "note", "author": "ann", "text": "called about the late order"}),
    ];
    for p in &appended {
        let (s, e) = api
            .post(
                &format!("/api/v1/customers/{li_id}/timeline"),
                &agent,
                json!({"conversation_id": conv_id, "payload": p}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{e}");
    }
    let first = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next())
        .await
        .expect("live event")
        .unwrap()
        .unwrap();
    let first: Value = serde_json::from_str(first.to_text().unwrap()).unwrap();
    assert_eq!(first["payload"]["type"], "message");

    // Read back: newest first, and forward from a cursor.
    let (_, page) = api
        .get(&format!("/api/v1/customers/{li_id}/timeline"), &agent)
        .await;
    let types: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["payload"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["note", "dtmf", "call_offered", "message"]);
    let (_, page) = api
        .get(
            &format!("/api/v1/customers/{li_id}/timeline?limit=2"),
            &agent,
        )
        .await;
    let cursor = page["next_before"].as_i64().expect("next page cursor");
    let (_, older) = api
        .get(
            &format!("/api/v1/customers/{li_id}/timeline?limit=2&before={cursor}"),
            &agent,
        )
        .await;
    let older: Vec<&str> = older["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["payload"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(older, ["call_offered", "message"]);
    let (_, fwd) = api
        .get(
            &format!("/api/v1/customers/{li_id}/timeline?after={cursor}"),
            &agent,
        )
        .await;
    assert_eq!(fwd["items"][0]["payload"]["type"], "note");
    assert_eq!(fwd["items"].as_array().unwrap().len(), 1);

    // A second customer, merged into the first by a supervisor (an agent may not).
    let (_, web) = api
        .post(
            "/api/v1/customers",
            &agent,
            json!({"name": "web visitor", "identities": [{"kind": "chat", "value": "v-42"}]}),
        )
        .await;
    let web_id = web["id"].as_str().unwrap().to_string();
    let (s, _) = api.post(&format!("/api/v1/customers/{web_id}/timeline"), &agent, json!({"payload": {"type": "message", "direction": "in", "author": "visitor", "text": "hello"}})).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = api
        .post(
            &format!("/api/v1/customers/{li_id}/merge"),
            &agent,
            json!({"merge": web_id}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, merged) = api
        .post(
            &format!("/api/v1/customers/{li_id}/merge"),
            &supervisor,
            json!({"merge": web_id}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{merged}");
    assert_eq!(merged["identities"].as_array().unwrap().len(), 3);
    let (_, page) = api
        .get(&format!("/api/v1/customers/{li_id}/timeline"), &agent)
        .await;
    let types: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["payload"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "identity_merged",
            "message",
            "note",
            "dtmf",
            "call_offered",
            "message"
        ]
    );
    let (_, gone) = api
        .get(&format!("/api/v1/customers/{web_id}"), &agent)
        .await;
    assert_eq!(gone["merged_into"], li_id.as_str());
    let (s, _) = api
        .post(
            &format!("/api/v1/customers/{li_id}/merge"),
            &supervisor,
            json!({"merge": web_id}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (_, found) = api.get("/api/v1/customers?q=v-42", &agent).await;
    assert_eq!(found["items"][0]["id"], li_id.as_str());

    // Browser sign-in with a session cookie.
    let (s, _) = api
        .send(
            reqwest::Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"name": "ann", "password": "wrong-password"})),
        )
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, me) = api
        .send(
            reqwest::Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"name": "ann", "password": "password-of-test"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{me}");
    let (s, me) = api
        .send(reqwest::Method::GET, "/api/v1/auth/me", None, None)
        .await;
    assert_eq!((s, me["role"].as_str()), (StatusCode::OK, Some("agent")));

    // Health, readiness, metrics, OpenAPI.
    let (s, _) = api.send(reqwest::Method::GET, "/readyz", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let (_, metrics) = api.send(reqwest::Method::GET, "/metrics", None, None).await;
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("switchboard_timeline_events_appended_total 4"),
        "{metrics}"
    );
    let (_, doc) = api
        .send(reqwest::Method::GET, "/api/openapi.json", None, None)
        .await;
    assert!(doc["paths"]["/api/v1/customers/{id}/timeline"].is_object());

    let mut server = api.server;
    assert!(server.stop().success(), "clean exit on SIGTERM");
}

#[tokio::test]
async fn timeline_end_to_end_sqlite() {
    full_scenario(Backend::Sqlite).await;
}

#[tokio::test]
async fn timeline_end_to_end_postgres() {
    full_scenario(Backend::Postgres).await;
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let server = Server::start(Backend::Sqlite).await;
    let agent = server.token_for("ann", "agent");
    let big = "x".repeat(2 << 20);
    let res = reqwest::Client::new()
        .post(server.url("/api/v1/customers"))
        .bearer_auth(&agent)
        .header("content-type", "application/json")
        .body(format!(r#"{{"name":"{big}"}}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}
