//! The chat widget's offline mode: with no agent signed in, `welcome` says so and
//! a message left with an e-mail address opens an e-mail conversation; the
//! agent's reply to it is delivered by SMTP (to a real aiosmtpd) to that address.
//! Once an agent is available, `welcome` offers chat again.

mod common;

use std::time::Duration;

use common::chat::Widget;
use common::mail::{Relay, free_tcp_port, header};
use common::{Backend, Server};
use serde_json::{Value, json};

#[tokio::test]
async fn a_message_left_offline_is_answered_by_email() {
    let dir = tempfile::tempdir().unwrap();
    let relay_port = free_tcp_port();
    let relay = Relay::start(relay_port, dir.path());
    let server = Server::start_with(
        Backend::Sqlite,
        &[
            (
                "SWITCHBOARD_SMTP_RELAY",
                &format!("smtp://127.0.0.1:{relay_port}"),
            ),
            ("SWITCHBOARD_EMAIL_ADDRESS", "help@acme.test"),
        ],
    )
    .await;
    let admin = server.token_for("boss", "admin");
    let agent = json!({"name": "ann", "password": "password-of-ann", "queues": ["support"]});
    let ann = server.post_json("/api/v1/agents", &admin, &agent).await;
    let ann_id = ann["id"].as_str().expect("agent id").to_string();

    let (mut w, welcome) = Widget::hello(&server, json!({"name": "Li Wei"})).await;
    assert_eq!(welcome["agents_online"], false, "{welcome}");
    assert_eq!(welcome["conversation"], Value::Null);

    w.send(json!({"type": "leave_message", "client_id": "c1", "email": "not-an-address", "text": "hi"}))
        .await;
    let err = w.next("error").await;
    assert_eq!(err["code"], "bad_email", "{err}");

    let text = "Please call me back about order 42.";
    w.send(json!({"type": "leave_message", "client_id": "c2", "email": "Li.Wei@Example.org", "text": text}))
        .await;
    let left = w.next("left").await;
    assert_eq!(left["email"], "li.wei@example.org");
    let ack = w.next("ack").await;
    assert_eq!(ack["client_id"], "c2");
    // A resend after a reconnect is stored once.
    w.send(json!({"type": "leave_message", "client_id": "c2", "email": "li.wei@example.org", "text": text}))
        .await;
    assert_eq!(w.next("ack").await["seq"], ack["seq"]);

    let token = server.token_for("sup", "supervisor");
    let conv_id = left["conversation"].as_str().unwrap();
    let conv = server
        .get_json(&format!("/api/v1/conversations/{conv_id}"), &token)
        .await;
    assert_eq!(conv["channel"], "email", "{conv}");
    assert_eq!(conv["queue"], "support");
    assert_eq!(conv["subject"], "Chat message from Li Wei");
    let customer = conv["customer_id"].as_str().unwrap();
    let who = server
        .get_json(&format!("/api/v1/customers/{customer}"), &token)
        .await;
    let kinds: Vec<&str> = who["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"chat") && kinds.contains(&"email"), "{who}");

    // The agent answers later; the answer leaves by e-mail.
    let reply = json!({"text": "We will call you at 3 pm."});
    server
        .post_json(
            &format!("/api/v1/conversations/{conv_id}/messages"),
            &token,
            &reply,
        )
        .await;
    let mut mails = vec![];
    for _ in 0..100 {
        mails = relay.messages();
        if !mails.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert_eq!(
        header(mail, "To").unwrap(),
        "\"Li Wei\" <li.wei@example.org>"
    );
    assert_eq!(
        header(mail, "Subject").unwrap(),
        "Re: Chat message from Li Wei"
    );
    assert_eq!(
        header(mail, "In-Reply-To"),
        None,
        "the form's note is not a message"
    );
    assert!(mail.contains("We will call you at 3 pm."), "{mail}");

    // With an agent available, the widget offers chat again.
    let ann_token = server.token_for("ann-api", "agent");
    let res = reqwest::Client::new()
        .put(server.url(&format!("/api/v1/agents/{ann_id}/state")))
        .bearer_auth(&admin)
        .json(&json!({"state": "available"}))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    drop(ann_token);
    let (_, welcome) = Widget::hello(&server, json!({"name": "Zhang San"})).await;
    assert_eq!(welcome["agents_online"], true, "{welcome}");
}
