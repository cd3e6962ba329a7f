//! A visitor rates a resolved chat over the widget's WebSocket: no rating before
//! the conversation is resolved, a rating request when it is, out-of-range
//! scores refused, one rating stored as a `csat` event, a second one refused. The
//! visitor's next message opens a new chat, whose resolution is rated in turn.

mod common;

use common::chat::Widget;
use common::{Backend, Server};
use serde_json::{Value, json};

/// The `csat` scores in the timeline of the customer of `conv`, with their conversation.
async fn ratings(server: &Server, token: &str, conv: &str) -> Vec<(Value, Value)> {
    let c = server
        .get_json(&format!("/api/v1/conversations/{conv}"), token)
        .await;
    let page = server
        .get_json(
            &format!(
                "/api/v1/customers/{}/timeline",
                c["customer_id"].as_str().unwrap()
            ),
            token,
        )
        .await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["payload"]["type"] == "csat")
        .map(|e| (e["conversation_id"].clone(), e["payload"]["score"].clone()))
        .collect()
}

async fn resolve(server: &Server, token: &str, conv: &str) {
    let res = reqwest::Client::new()
        .put(server.url(&format!("/api/v1/conversations/{conv}/status")))
        .bearer_auth(token)
        .json(&json!({"status": "resolved"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_resolved_chat_is_rated_once() {
    let server = Server::start(Backend::Sqlite).await;
    let token = server.token_for("sup", "supervisor");
    let (mut ws, _) = Widget::hello(&server, json!({"name": "Li Lei"})).await;
    let said = ws.say("c1", "hi").await;
    let conv = said[0]["conversation"].as_str().unwrap().to_string();

    ws.send(json!({"type": "rate", "score": 5})).await;
    assert_eq!(ws.next("error").await["code"], "not_resolved");

    resolve(&server, &token, &conv).await;
    let ask = ws.next("rate_request").await;
    assert_eq!(ask["conversation"], conv.as_str());
    assert_eq!(ask["scale"], 5);

    for bad in [0, 6] {
        ws.send(json!({"type": "rate", "score": bad})).await;
        assert_eq!(ws.next("error").await["code"], "invalid", "score {bad}");
    }
    ws.send(json!({"type": "rate", "score": 5})).await;
    assert_eq!(ws.next("rated").await["score"], 5);
    ws.send(json!({"type": "rate", "score": 1})).await;
    assert_eq!(ws.next("error").await["code"], "already_rated");
    assert_eq!(
        ratings(&server, &token, &conv).await,
        [(json!(conv), json!(5))],
        "one rating stored"
    );

    // The next message opens a new chat; its resolution asks for a rating of it.
    let said = ws.say("c2", "one more question").await;
    assert_eq!(said[0]["type"], "opened", "{said:?}");
    let next = said[0]["conversation"].as_str().unwrap().to_string();
    assert_ne!(next, conv);
    resolve(&server, &token, &next).await;
    assert_eq!(ws.next("rate_request").await["conversation"], next.as_str());
    ws.send(json!({"type": "rate", "score": 3})).await;
    assert_eq!(ws.next("rated").await["score"], 3);
    let mut all = ratings(&server, &token, &conv).await;
    all.sort_by_key(|(_, score)| score.as_i64());
    assert_eq!(
        all,
        [(json!(next), json!(3)), (json!(conv), json!(5))],
        "one rating per conversation"
    );
}
