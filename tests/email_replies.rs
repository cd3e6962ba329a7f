//! Agents' replies to e-mail leave by SMTP through a real relay (Debian's aiosmtpd
//! writing a Maildir): the reply carries the agent's name and the thread's
//! headers, waits in the outbox while the relay is down and is sent once it is
//! up, exactly once; the customer's answer to it joins the same conversation.
//! Without a relay configured, a reply waits and is sent after a restart with one
//! (on PostgreSQL).

mod common;

use std::process::Command;
use std::time::Duration;

use common::mail::{Relay, decoded, free_tcp_port, header};
use common::{Backend, Server};
use serde_json::{Value, json};

const SEND: &str = r#"
import smtplib, sys
from email.message import EmailMessage
port, subject, msgid, body = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
m = EmailMessage()
m["From"] = "Li Wei <li.wei@example.org>"
m["To"] = "help@acme.test"
m["Subject"] = subject
m["Message-ID"] = msgid
if len(sys.argv) > 5:
    m["In-Reply-To"] = sys.argv[5]
    m["References"] = sys.argv[5]
m.set_content(body)
with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
    s.send_message(m)
"#;

/// The customer's mail program sending to our listener.
fn customer_sends(port: u16, subject: &str, msgid: &str, body: &str, reply_to: Option<&str>) {
    let port = port.to_string();
    let mut args = vec!["-c", SEND, &port, subject, msgid, body];
    args.extend(reply_to);
    let out = Command::new("python3")
        .args(args)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn conversation_of(server: &Server, token: &str) -> (String, String) {
    let found: Value = server
        .get_json("/api/v1/customers?email=li.wei%40example.org", token)
        .await;
    let customer = found["items"][0]["id"]
        .as_str()
        .expect("customer")
        .to_string();
    let convs: Value = server
        .get_json(
            &format!("/api/v1/conversations?customer_id={customer}"),
            token,
        )
        .await;
    let conv = convs["items"][0]["id"]
        .as_str()
        .expect("conversation")
        .to_string();
    (customer, conv)
}

/// Waits for a `delivery` event with `status` in the customer's timeline.
async fn delivery(server: &Server, token: &str, customer: &str, status: &str) -> Value {
    for _ in 0..150 {
        let page: Value = server
            .get_json(&format!("/api/v1/customers/{customer}/timeline"), token)
            .await;
        if let Some(e) = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["payload"]["type"] == "delivery" && e["payload"]["status"] == status)
        {
            return e["payload"].clone();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("no `{status}` delivery event");
}

async fn reply(server: &Server, token: &str, conv: &str, text: &str) -> i64 {
    let event = server
        .post_json(
            &format!("/api/v1/conversations/{conv}/messages"),
            token,
            &json!({ "text": text }),
        )
        .await;
    event["seq"].as_i64().expect("reply stored")
}

#[tokio::test]
async fn a_reply_waits_for_the_relay_then_threads_back() {
    let dir = tempfile::tempdir().unwrap();
    let (smtp, relay_port) = (free_tcp_port(), free_tcp_port());
    let server = Server::start_with(
        Backend::Sqlite,
        &[
            ("SWITCHBOARD_SMTP_LISTEN", &format!("127.0.0.1:{smtp}")),
            (
                "SWITCHBOARD_SMTP_RELAY",
                &format!("smtp://127.0.0.1:{relay_port}"),
            ),
            ("SWITCHBOARD_EMAIL_ADDRESS", "help@acme.test"),
            ("SWITCHBOARD_EMAIL_RETRY_SECONDS", "1"),
        ],
    )
    .await;
    let token = server.token_for("ann", "agent");
    customer_sends(
        smtp,
        "Order 42 late",
        "<c1@example.org>",
        "Where is it?",
        None,
    );
    let (customer, conv) = conversation_of(&server, &token).await;

    // The relay is down: the reply is kept and tried again.
    let seq = reply(&server, &token, &conv, "Hello Li,\nit ships today.").await;
    let retrying = delivery(&server, &token, &customer, "retrying").await;
    assert_eq!(retrying["message"], seq);

    let relay = Relay::start(relay_port, dir.path());
    let sent = delivery(&server, &token, &customer, "sent").await;
    assert_eq!(sent["message"], seq);
    assert_eq!(sent["detail"], "to li.wei@example.org");
    let mails = relay.messages();
    assert_eq!(mails.len(), 1, "sent exactly once: {mails:?}");
    let mail = &mails[0];
    assert_eq!(
        decoded(&header(mail, "From").unwrap()),
        "ann (Support) <help@acme.test>"
    );
    assert_eq!(
        header(mail, "To").unwrap(),
        "\"Li Wei\" <li.wei@example.org>"
    );
    assert_eq!(header(mail, "Subject").unwrap(), "Re: Order 42 late");
    assert_eq!(header(mail, "In-Reply-To").unwrap(), "<c1@example.org>");
    assert_eq!(header(mail, "References").unwrap(), "<c1@example.org>");
    assert!(mail.contains("it ships today."), "{mail}");
    let ours = header(mail, "Message-ID").expect("Message-ID");
    assert!(ours.ends_with("@acme.test>"), "{ours}");

    // The customer answers our reply: it joins the same conversation.
    customer_sends(
        smtp,
        "Re: Order 42 late",
        "<c2@example.org>",
        "Thanks!",
        Some(&ours),
    );
    let msgs: Value = server
        .get_json(&format!("/api/v1/conversations/{conv}/messages"), &token)
        .await;
    let texts: Vec<&str> = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["payload"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 3, "{texts:?}");
    assert!(texts[2].contains("Thanks!"), "{texts:?}");

    // A second reply answers the customer's latest message, with the whole chain.
    reply(&server, &token, &conv, "You're welcome.").await;
    for _ in 0..100 {
        if relay.messages().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let second = relay
        .messages()
        .into_iter()
        .find(|m| m.contains("welcome"))
        .expect("second reply");
    assert_eq!(header(&second, "In-Reply-To").unwrap(), "<c2@example.org>");
    assert_eq!(
        header(&second, "References").unwrap(),
        format!("<c1@example.org> {ours} <c2@example.org>")
    );
}

#[tokio::test]
async fn a_reply_without_a_relay_waits_for_one() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = free_tcp_port();
    // On PostgreSQL, so the outbox's claim and lease run there too.
    let mut server = Server::start_with(
        Backend::Postgres,
        &[
            ("SWITCHBOARD_SMTP_LISTEN", &format!("127.0.0.1:{smtp}")),
            ("SWITCHBOARD_EMAIL_ADDRESS", "help@acme.test"),
        ],
    )
    .await;
    let token = server.token_for("ann", "agent");
    customer_sends(smtp, "Invoice", "<i1@example.org>", "Please send it.", None);
    let (customer, conv) = conversation_of(&server, &token).await;
    let seq = reply(&server, &token, &conv, "Attached is nothing yet.").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let page: Value = server
        .get_json(&format!("/api/v1/customers/{customer}/timeline"), &token)
        .await;
    assert!(
        !page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["payload"]["type"] == "delivery"),
        "nothing is tried without a relay"
    );

    // Configured and restarted: the waiting reply goes out.
    let relay_port = free_tcp_port();
    let relay = Relay::start(relay_port, dir.path());
    server.env.push((
        "SWITCHBOARD_SMTP_RELAY".into(),
        format!("smtp://127.0.0.1:{relay_port}"),
    ));
    server.restart();
    let sent = delivery(&server, &token, &customer, "sent").await;
    assert_eq!(sent["message"], seq);
    assert_eq!(relay.messages().len(), 1);
}
