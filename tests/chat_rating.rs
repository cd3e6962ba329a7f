//! A visitor rates a resolved chat over the widget's WebSocket: no rating before
//! the conversation is resolved, a rating request when it is, out-of-range
//! scores refused, one rating stored as a `csat` event, a second one refused.

mod common;

use std::time::Duration;

use common::{Backend, Server};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn send(ws: &mut Ws, frame: Value) {
    ws.send(Message::text(frame.to_string())).await.unwrap();
}

/// The next frame of `kind` (skipping others), within 10 s.
async fn next(ws: &mut Ws, kind: &str) -> Value {
    let wait = async {
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Text(t) = m {
                let v: Value = serde_json::from_str(&t).unwrap();
                if v["type"] == kind {
                    return v;
                }
            }
        }
        panic!("the socket closed before a `{kind}` frame");
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap_or_else(|_| panic!("no `{kind}` frame"))
}

#[tokio::test]
async fn a_resolved_chat_is_rated_once() {
    let server = Server::start(Backend::Sqlite).await;
    let token = server.token_for("sup", "supervisor");
    let url = format!("ws://{}/chat/ws", server.http);
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    send(&mut ws, json!({"type": "hello", "name": "Li Lei"})).await;
    let welcome = next(&mut ws, "welcome").await;
    let conv = welcome["conversation"].as_str().unwrap().to_string();
    send(
        &mut ws,
        json!({"type": "message", "client_id": "c1", "text": "hi"}),
    )
    .await;
    next(&mut ws, "ack").await;

    send(&mut ws, json!({"type": "rate", "score": 5})).await;
    assert_eq!(next(&mut ws, "error").await["code"], "not_resolved");

    let res = reqwest::Client::new()
        .put(server.url(&format!("/api/v1/conversations/{conv}/status")))
        .bearer_auth(&token)
        .json(&json!({"status": "resolved"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let ask = next(&mut ws, "rate_request").await;
    assert_eq!(ask["conversation"], conv.as_str());
    assert_eq!(ask["scale"], 5);

    for bad in [0, 6] {
        send(&mut ws, json!({"type": "rate", "score": bad})).await;
        assert_eq!(
            next(&mut ws, "error").await["code"],
            "invalid",
            "score {bad}"
        );
    }
    send(&mut ws, json!({"type": "rate", "score": 5})).await;
    assert_eq!(next(&mut ws, "rated").await["score"], 5);
    send(&mut ws, json!({"type": "rate", "score": 1})).await;
    assert_eq!(next(&mut ws, "error").await["code"], "already_rated");

    let c = server
        .get_json(&format!("/api/v1/conversations/{conv}"), &token)
        .await;
    let page = server
        .get_json(
            &format!(
                "/api/v1/customers/{}/timeline",
                c["customer_id"].as_str().unwrap()
            ),
            &token,
        )
        .await;
    let scores: Vec<&Value> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["payload"]["type"] == "csat")
        .map(|e| &e["payload"]["score"])
        .collect();
    assert_eq!(scores, [&json!(5)], "one rating stored");
}
