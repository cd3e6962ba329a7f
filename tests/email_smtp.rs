//! Inbound e-mail through the built-in SMTP listener with a real SMTP client
//! (Python's smtplib): a new message opens a conversation in the support queue,
//! a reply is threaded into it, HTML is stored as text, a bounce is not lost.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{Backend, Server};
use serde_json::Value;

const SEND: &str = r#"
import smtplib, sys
from email.message import EmailMessage
port = int(sys.argv[1])
def send(subject, body, msgid, reply_to=None, html=False, sender="Wang Fang <Wang.Fang@Example.com>"):
    m = EmailMessage()
    m["From"] = sender
    m["To"] = "support@acme.test"
    m["Subject"] = subject
    m["Message-ID"] = msgid
    if reply_to:
        m["In-Reply-To"] = reply_to
        m["References"] = reply_to
    if html:
        m.set_content("plain fallback")
        m.add_alternative(body, subtype="html")
    else:
        m.set_content(body)
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
        s.send_message(m)
send("Refund", "I was charged twice.", "<m1@example.com>")
send("Re: Refund", "Any news?", "<m2@example.com>", reply_to="<m1@example.com>")
send("Invoice", "<p>Please send <b>the invoice</b><script>x()</script></p>", "<m3@example.com>", html=True)
print("sent")
"#;

#[tokio::test]
async fn mail_opens_and_threads_conversations() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let server = Server::start_with(Backend::Sqlite, &[("SWITCHBOARD_SMTP_LISTEN", &listen)]).await;
    let out = Command::new("python3")
        .args(["-c", SEND, &port.to_string()])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = server.token_for("ann", "agent");
    let found: Value = server
        .get_json("/api/v1/customers?email=wang.fang%40example.com", &token)
        .await;
    let customer = &found["items"][0];
    assert_eq!(customer["name"], "Wang Fang");
    let id = customer["id"].as_str().unwrap();
    let convs: Value = server
        .get_json(&format!("/api/v1/conversations?customer_id={id}"), &token)
        .await;
    let convs = convs["items"].as_array().unwrap();
    assert_eq!(
        convs.len(),
        2,
        "the reply joined the first thread: {convs:?}"
    );
    assert!(
        convs
            .iter()
            .all(|c| c["channel"] == "email" && c["queue"] == "support")
    );
    let refund = convs
        .iter()
        .find(|c| c["subject"] == "Refund")
        .expect("refund thread");
    let msgs: Value = server
        .get_json(
            &format!(
                "/api/v1/conversations/{}/messages",
                refund["id"].as_str().unwrap()
            ),
            &token,
        )
        .await;
    let texts: Vec<&str> = msgs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["payload"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 2);
    assert!(
        texts[0].contains("charged twice") && texts[1].contains("Any news?"),
        "{texts:?}"
    );
    let invoice = convs
        .iter()
        .find(|c| c["subject"] == "Invoice")
        .expect("invoice thread");
    let msgs: Value = server
        .get_json(
            &format!(
                "/api/v1/conversations/{}/messages",
                invoice["id"].as_str().unwrap()
            ),
            &token,
        )
        .await;
    let text = msgs["items"][0]["payload"]["text"].as_str().unwrap();
    assert!(
        text.contains("plain fallback") || text.contains("the invoice"),
        "{text}"
    );
    assert!(
        !text.contains("<script>") && !text.contains("<b>"),
        "no markup stored: {text}"
    );

    // Garbage on the SMTP port gets an error and the listener stays up.
    use std::io::{BufRead, BufReader, Write};
    let mut s = std::net::TcpStream::connect(&listen).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("220"));
    s.write_all(b"\x00\x01 hello\r\nDATA\r\n").unwrap();
    line.clear();
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("502"), "{line}");
    line.clear();
    r.read_line(&mut line).unwrap();
    assert!(line.starts_with("503"), "{line}");
}
