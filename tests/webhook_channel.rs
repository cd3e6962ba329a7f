//! The generic webhook channel against the real server: a platform posts signed
//! JSON messages (bad signature 401, stale 403, bad field 400, a resend stored
//! once) into a `social` conversation of the customer `hook:<user>`; an agent's
//! reply is posted, signed, to a local HTTP server standing in for the platform.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use common::{Backend, Server};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

const SECRET: &str = "platform-secret-0123";

fn signature(timestamp: &str, body: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    m.update(timestamp.as_bytes());
    m.update(b".");
    m.update(body);
    format!("sha256={}", hex::encode(m.finalize().into_bytes()))
}

async fn post(server: &Server, body: &Value, age_seconds: i64, sign: bool) -> (u16, Value) {
    let body = body.to_string();
    let ts = (chrono::Utc::now().timestamp() - age_seconds).to_string();
    let sig = if sign {
        signature(&ts, body.as_bytes())
    } else {
        "sha256=00".into()
    };
    let res = reqwest::Client::new()
        .post(server.url("/channels/webhook"))
        .header("x-switchboard-timestamp", &ts)
        .header("x-switchboard-signature", sig)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let code = res.status().as_u16();
    (code, res.json().await.unwrap_or(Value::Null))
}

type Got = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

async fn receive(State(got): State<Got>, headers: HeaderMap, body: Bytes) -> &'static str {
    got.lock().unwrap().push((headers, body));
    "ok"
}

async fn platform() -> (String, Got) {
    let got: Got = Arc::default();
    let app = axum::Router::new()
        .route("/replies", axum::routing::post(receive))
        .with_state(got.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/replies"), got)
}

#[tokio::test]
async fn platform_messages_in_and_signed_replies_out() {
    let (url, got) = platform().await;
    let server = Server::start_with(
        Backend::Sqlite,
        &[
            ("SWITCHBOARD_WEBHOOK_SECRET", SECRET),
            ("SWITCHBOARD_WEBHOOK_URL", &url),
        ],
    )
    .await;
    let msg = json!({"id": "m-1", "user": "u-42", "name": "Li Na", "text": "Is my refund done?"});
    let (code, first) = post(&server, &msg, 0, true).await;
    assert_eq!(code, 200, "{first}");
    assert_eq!(first["duplicate"], false);
    let (code, again) = post(&server, &msg, 0, true).await;
    assert_eq!((code, &again["duplicate"]), (200, &json!(true)));
    assert_eq!(again["seq"], first["seq"]);
    assert_eq!(post(&server, &msg, 0, false).await.0, 401);
    assert_eq!(post(&server, &msg, 3600, true).await.0, 403);
    let (code, err) = post(
        &server,
        &json!({"id": "m-2", "user": "u-42", "text": ""}),
        0,
        true,
    )
    .await;
    assert_eq!(code, 400);
    assert!(err["error"].as_str().unwrap().starts_with("text"), "{err}");
    let second = json!({"id": "m-3", "user": "u-42", "text": "Order 77"});
    let (code, next) = post(&server, &second, 0, true).await;
    assert_eq!(code, 200);
    assert_eq!(
        next["conversation"], first["conversation"],
        "one open conversation"
    );

    let agent = server.token_for("ann", "agent");
    let conv_id = first["conversation"].as_str().unwrap();
    let conv = server
        .get_json(&format!("/api/v1/conversations/{conv_id}"), &agent)
        .await;
    assert_eq!(
        (conv["channel"].as_str(), conv["queue"].as_str()),
        (Some("social"), Some("support"))
    );
    let customer = conv["customer_id"].as_str().unwrap();
    let who = server
        .get_json(&format!("/api/v1/customers/{customer}"), &agent)
        .await;
    assert_eq!(who["name"], "Li Na");
    assert_eq!(
        who["identities"][0],
        json!({"kind": "external", "value": "hook:u-42", "verified": false})
    );

    let reply = server
        .post_json(
            &format!("/api/v1/conversations/{conv_id}/messages"),
            &agent,
            &json!({"text": "Yes, it was refunded today."}),
        )
        .await;
    for _ in 0..100 {
        if !got.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = got.lock().unwrap();
    assert_eq!(got.len(), 1);
    let (headers, body) = &got[0];
    let ts = headers["x-switchboard-timestamp"].to_str().unwrap();
    assert_eq!(
        headers["x-switchboard-signature"].to_str().unwrap(),
        signature(ts, body)
    );
    let sent: Value = serde_json::from_slice(body).unwrap();
    assert_eq!(
        sent,
        json!({"conversation": conv_id, "user": "u-42", "id": reply["seq"], "author": "ann",
            "text": "Yes, it was refunded today."})
    );
}
