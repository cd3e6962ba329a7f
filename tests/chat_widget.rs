//! The web chat widget opens a conversation with the visitor's first message, not
//! when it connects: `hello` alone queues nothing; the first message opens a queued
//! chat holding it (a resend is stored once); after a resolution a reconnect opens
//! nothing until the next message opens a new chat; two tabs of one visitor share
//! one chat, even when both send their first message at once.

mod common;

use std::time::Duration;

use common::chat::Widget;
use common::{Backend, Server};
use serde_json::{Value, json};

/// The customer holding `email`, found through the API.
async fn customer(server: &Server, token: &str, email: &str) -> String {
    let found = server
        .get_json(&format!("/api/v1/customers?email={email}"), token)
        .await;
    found["items"][0]["id"]
        .as_str()
        .expect("the customer")
        .into()
}

/// The customer's conversations, newest first.
async fn conversations(server: &Server, token: &str, customer: &str) -> Vec<Value> {
    let page = server
        .get_json(
            &format!("/api/v1/conversations?customer_id={customer}"),
            token,
        )
        .await;
    page["items"].as_array().cloned().unwrap_or_default()
}

async fn waiting(server: &Server, token: &str) -> u64 {
    let stats = server.get_json("/api/v1/queues/support/stats", token).await;
    stats["waiting"].as_u64().expect("a waiting count")
}

/// The texts of the messages in a conversation's customer timeline.
async fn texts(server: &Server, token: &str, customer: &str, conv: &str) -> Vec<String> {
    let page = server
        .get_json(&format!("/api/v1/customers/{customer}/timeline"), token)
        .await;
    let items = page["items"].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .filter(|e| e["payload"]["type"] == "message" && e["conversation_id"] == conv)
        .map(|e| {
            e["payload"]["text"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

fn kinds(frames: &[Value]) -> Vec<&str> {
    frames
        .iter()
        .map(|f| f["type"].as_str().unwrap_or(""))
        .collect()
}

#[tokio::test]
async fn the_first_message_opens_the_chat_not_hello() {
    let server = Server::start(Backend::Sqlite).await;
    let token = server.token_for("sup", "supervisor");
    let hello = json!({"name": "Wang Fang", "email": "wang@example.com"});
    let (mut ws, welcome) = Widget::hello(&server, hello.clone()).await;
    assert_eq!(welcome["conversation"], Value::Null, "{welcome}");
    assert_eq!(welcome["history"], json!([]));
    let visitor = welcome["visitor"].clone();
    let who = customer(&server, &token, "wang%40example.com").await;
    let (_again, welcome) = Widget::hello(&server, json!({"visitor": visitor})).await;
    assert_eq!(
        welcome["conversation"],
        Value::Null,
        "a reconnect opens nothing"
    );
    assert!(conversations(&server, &token, &who).await.is_empty());
    assert_eq!(waiting(&server, &token).await, 0, "nothing queued");

    let said = ws.say("c1", "Where is my order?").await;
    assert_eq!(kinds(&said), ["opened", "ack"]);
    let conv = said[0]["conversation"].as_str().unwrap().to_string();
    let seq = said[1]["seq"].clone();
    let convs = conversations(&server, &token, &who).await;
    assert_eq!(convs.len(), 1, "{convs:?}");
    assert_eq!(convs[0]["id"], conv.as_str());
    assert_eq!(convs[0]["status"], "queued");
    assert_eq!(convs[0]["queue"], "support");
    assert_eq!(convs[0]["channel"], "chat");
    assert_eq!(waiting(&server, &token).await, 1);

    // A resend, on the same socket and after a reconnect, is stored once.
    let said = ws.say("c1", "Where is my order?").await;
    assert_eq!(kinds(&said), ["ack"]);
    assert_eq!(said[0]["seq"], seq);
    let (mut back, welcome) = Widget::hello(&server, json!({"visitor": visitor})).await;
    assert_eq!(welcome["conversation"], conv.as_str());
    assert_eq!(welcome["history"][0]["text"], "Where is my order?");
    let said = back.say("c1", "Where is my order?").await;
    assert_eq!(kinds(&said), ["ack"]);
    assert_eq!(said[0]["seq"], seq);
    assert_eq!(
        texts(&server, &token, &who, &conv).await,
        ["Where is my order?"]
    );
    assert_eq!(conversations(&server, &token, &who).await.len(), 1);
}

#[tokio::test]
async fn after_a_resolution_the_next_message_opens_a_new_chat() {
    let server = Server::start(Backend::Sqlite).await;
    let token = server.token_for("sup", "supervisor");
    let hello = json!({"name": "Zhao Lei", "email": "zhao@example.com"});
    let (mut ws, welcome) = Widget::hello(&server, hello).await;
    let visitor = welcome["visitor"].clone();
    let who = customer(&server, &token, "zhao%40example.com").await;
    let first = ws.say("c1", "hello").await;
    let conv = first[0]["conversation"].as_str().unwrap().to_string();
    let res = reqwest::Client::new()
        .put(server.url(&format!("/api/v1/conversations/{conv}/status")))
        .bearer_auth(&token)
        .json(&json!({"status": "resolved"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    ws.next("rate_request").await;
    drop(ws);

    let (mut ws, welcome) = Widget::hello(&server, json!({"visitor": visitor})).await;
    assert_eq!(welcome["conversation"], Value::Null, "{welcome}");
    let convs = conversations(&server, &token, &who).await;
    assert_eq!(convs.len(), 1, "no new chat on reconnect: {convs:?}");
    // A resend of a message of the resolved chat opens nothing either.
    let said = ws.say("c1", "hello").await;
    assert_eq!(kinds(&said), ["ack"]);
    assert_eq!(conversations(&server, &token, &who).await.len(), 1);

    let said = ws.say("c2", "another question").await;
    assert_eq!(kinds(&said), ["opened", "ack"]);
    let next = said[0]["conversation"].as_str().unwrap().to_string();
    assert_ne!(next, conv);
    let convs = conversations(&server, &token, &who).await;
    let status = |id: &str| {
        convs
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["status"].clone())
    };
    assert_eq!(convs.len(), 2, "{convs:?}");
    assert_eq!(status(&next), Some(json!("queued")));
    assert_eq!(status(&conv), Some(json!("resolved")));
    assert_eq!(
        texts(&server, &token, &who, &next).await,
        ["another question"]
    );
    assert_eq!(texts(&server, &token, &who, &conv).await, ["hello"]);
}

#[tokio::test]
async fn two_tabs_share_one_chat() {
    let server = Server::start(Backend::Sqlite).await;
    let token = server.token_for("sup", "supervisor");
    // Both tabs send their first message at the same moment, for a few visitors.
    for n in 0..5 {
        let email = format!("tab{n}@example.com");
        let (mut a, welcome) = Widget::hello(&server, json!({"name": "Tab", "email": email})).await;
        let (mut b, _) = Widget::hello(&server, json!({"visitor": welcome["visitor"]})).await;
        let (said_a, said_b) = tokio::join!(a.say("a1", "from a"), b.say("b1", "from b"));
        let opened = |frames: &[Value]| {
            frames
                .iter()
                .find(|f| f["type"] == "opened")
                .map(|f| f["conversation"].clone())
        };
        let who = customer(&server, &token, &format!("tab{n}%40example.com")).await;
        let convs = conversations(&server, &token, &who).await;
        assert_eq!(convs.len(), 1, "one chat for two tabs: {convs:?}");
        let conv = convs[0]["id"].clone();
        assert_eq!(opened(&said_a), Some(conv.clone()), "{said_a:?}");
        assert_eq!(opened(&said_b), Some(conv.clone()), "{said_b:?}");
        let mut both = texts(&server, &token, &who, conv.as_str().unwrap()).await;
        both.sort();
        assert_eq!(both, ["from a", "from b"]);
    }

    // A tab that has not written follows the chat another tab opened, with its replies.
    let (mut a, welcome) = Widget::hello(&server, json!({"name": "Quiet"})).await;
    let (mut b, _) = Widget::hello(&server, json!({"visitor": welcome["visitor"]})).await;
    let said = a.say("a1", "hi").await;
    let conv = said[0]["conversation"].as_str().unwrap().to_string();
    assert_eq!(b.next("opened").await["conversation"], conv.as_str());
    let reply = server
        .post_json(
            &format!("/api/v1/conversations/{conv}/messages"),
            &token,
            &json!({"text": "How can I help?"}),
        )
        .await;
    assert_eq!(reply["payload"]["text"], "How can I help?", "{reply}");
    for tab in [&mut a, &mut b] {
        let m = tab.next("message").await;
        assert_eq!(m["text"], "How can I help?");
    }
    let rest = b.frames_within(Duration::from_millis(300)).await;
    assert!(rest.iter().all(|f| f["type"] != "opened"), "{rest:?}");
}
