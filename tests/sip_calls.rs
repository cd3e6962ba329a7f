//! SIP against real peers on loopback: sipp calls the echo test (basic calls,
//! INFO DTMF, CANCEL while ringing), and raw datagrams check the answers to
//! OPTIONS, unknown numbers, malformed requests and scanners.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::{Backend, Server};

fn sipp(server: &Server, args: &[&str]) -> String {
    let out = server
        .sipp(args)
        .output()
        .expect("sipp is installed (scripts/test installs sip-tester)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "sipp {args:?} failed ({:?}):\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The number in a sipp statistics row such as `Successful call | 0 | 10`.
fn cumulative(text: &str, row: &str) -> u64 {
    text.lines()
        .filter(|l| l.trim_start().starts_with(row))
        .filter_map(|l| l.rsplit('|').next()?.trim().parse().ok())
        .next_back()
        .unwrap_or(0)
}

async fn timeline_of(server: &Server, token: &str, query: &str) -> Vec<serde_json::Value> {
    for _ in 0..100 {
        let found: serde_json::Value = server
            .get_json(&format!("/api/v1/customers?{query}"), token)
            .await;
        if let Some(id) = found["items"][0]["id"].as_str() {
            let page: serde_json::Value = server
                .get_json(&format!("/api/v1/customers/{id}/timeline?limit=200"), token)
                .await;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            if items
                .iter()
                .any(|e| e["payload"]["type"] == "status_changed")
            {
                return items;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no finished call in the timeline for {query}");
}

#[tokio::test]
async fn sipp_calls_the_echo_test() {
    let server = Server::start(Backend::Sqlite).await;
    let out = sipp(
        &server,
        &[
            "-sn", "uac", "-s", "9999", "-m", "20", "-r", "10", "-l", "10", "-d", "1000",
        ],
    );
    assert_eq!(cumulative(&out, "Successful call"), 20, "{out}");
    assert_eq!(cumulative(&out, "Failed call"), 0);
    let token = server.token_for("ann", "agent");
    let events = timeline_of(&server, &token, "q=sipp").await;
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["payload"]["type"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"call_offered") && kinds.contains(&"call_ended"),
        "{kinds:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e["payload"]["cause"] == "caller_hangup")
    );
}

#[tokio::test]
async fn info_dtmf_reaches_the_timeline_of_the_caller() {
    let server = Server::start(Backend::Sqlite).await;
    let out = sipp(&server, &["-sf", "info_dtmf.xml", "-s", "9999", "-m", "1"]);
    assert_eq!(cumulative(&out, "Successful call"), 1, "{out}");
    let token = server.token_for("ann", "agent");
    let events = timeline_of(&server, &token, "phone=%2B8613800138000").await;
    assert!(
        events
            .iter()
            .any(|e| e["payload"]["type"] == "dtmf" && e["payload"]["digits"] == "5"),
        "{events:?}"
    );
}

#[tokio::test]
async fn cancel_while_ringing_gets_487() {
    let server = Server::start(Backend::Sqlite).await;
    let out = sipp(
        &server,
        &["-sf", "cancel.xml", "-s", "9999", "-m", "5", "-r", "5"],
    );
    assert_eq!(cumulative(&out, "Successful call"), 5, "{out}");
}

fn exchange(server: &Server, datagram: &str) -> Option<String> {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    let port = sock.local_addr().unwrap().port();
    let text = datagram.replace("PORT", &port.to_string());
    sock.send_to(text.as_bytes(), &server.sip).unwrap();
    let mut buf = [0u8; 4096];
    let mut last = None;
    // Skip provisional responses.
    while let Ok(n) = sock.recv(&mut buf) {
        let r = String::from_utf8_lossy(&buf[..n]).to_string();
        let provisional = r.starts_with("SIP/2.0 1");
        last = Some(r);
        if !provisional {
            break;
        }
    }
    last
}

fn request(method: &str, user: &str, extra: &str, cseq_method: &str) -> String {
    format!(
        "{method} sip:{user}@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:PORT;branch=z9hG4bK{}\r\nFrom: <sip:t@127.0.0.1>;tag=1\r\n\
         To: <sip:{user}@127.0.0.1>\r\nCall-ID: {}\r\nCSeq: 1 {cseq_method}\r\nMax-Forwards: 70\r\n{extra}Content-Length: 0\r\n\r\n",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4()
    )
}

#[tokio::test]
async fn answers_bad_and_odd_requests_as_the_rfc_says() {
    let server = Server::start(Backend::Sqlite).await;
    let ok =
        exchange(&server, &request("OPTIONS", "4000", "", "OPTIONS")).expect("OPTIONS answered");
    assert!(
        ok.starts_with("SIP/2.0 200") && ok.contains("Allow: INVITE"),
        "{ok}"
    );
    let wrong_cseq =
        exchange(&server, &request("OPTIONS", "4000", "", "INVITE")).expect("answered");
    assert!(wrong_cseq.starts_with("SIP/2.0 400"), "{wrong_cseq}");
    let hops = exchange(
        &server,
        &request("INVITE", "4000", "", "INVITE").replace("Max-Forwards: 70", "Max-Forwards: 0"),
    )
    .unwrap();
    assert!(hops.starts_with("SIP/2.0 483"), "{hops}");
    // An OPTIONS is ours to answer, whatever its Max-Forwards (RFC 3261 §16.3).
    let last_hop = exchange(
        &server,
        &request("OPTIONS", "4000", "", "OPTIONS").replace("Max-Forwards: 70", "Max-Forwards: 0"),
    )
    .unwrap();
    assert!(last_hop.starts_with("SIP/2.0 200"), "{last_hop}");
    let bye = exchange(&server, &request("BYE", "4000", "", "BYE")).unwrap();
    assert!(bye.starts_with("SIP/2.0 481"), "{bye}");
    let sub = exchange(&server, &request("SUBSCRIBE", "4000", "", "SUBSCRIBE")).unwrap();
    assert!(
        sub.starts_with("SIP/2.0 405") && sub.contains("Allow:"),
        "{sub}"
    );
    // Any number reaches the default (hotline) dialplan; an INVITE without SDP gets 488.
    let no_sdp = exchange(&server, &request("INVITE", "12345", "", "INVITE")).unwrap();
    assert!(no_sdp.starts_with("SIP/2.0 488"), "{no_sdp}");
    let not_sdp = exchange(
        &server,
        &request("INVITE", "4000", "Content-Type: text/plain\r\n", "INVITE")
            .replace("Content-Length: 0\r\n\r\n", "Content-Length: 2\r\n\r\nhi"),
    )
    .unwrap();
    assert!(
        not_sdp.starts_with("SIP/2.0 415") && not_sdp.contains("Accept: application/sdp"),
        "{not_sdp}"
    );
    let needs = exchange(
        &server,
        &request("INVITE", "9999", "Require: 100rel, foo\r\n", "INVITE"),
    )
    .unwrap();
    assert!(
        needs.starts_with("SIP/2.0 420") && needs.contains("Unsupported: 100rel, foo"),
        "{needs}"
    );
    let version = exchange(
        &server,
        &request("OPTIONS", "4000", "", "OPTIONS").replace("SIP/2.0\r\nVia", "SIP/9.0\r\nVia"),
    )
    .unwrap();
    assert!(version.starts_with("SIP/2.0 505"), "{version}");
    // Dropped without an answer: a scanner, garbage.
    assert!(
        exchange(
            &server,
            &request(
                "OPTIONS",
                "4000",
                "User-Agent: friendly-scanner\r\n",
                "OPTIONS"
            )
        )
        .is_none()
    );
    assert!(exchange(&server, "\u{1}\u{2}garbage\r\n\r\n").is_none());
    let no_call_id: String = request("OPTIONS", "4000", "", "OPTIONS")
        .lines()
        .filter(|l| !l.starts_with("Call-ID"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    // Without a Call-ID: answered 400 from its Via and CSeq (RFC 4475 `insuf`).
    let answer = exchange(&server, &no_call_id).expect("an answer");
    assert!(answer.starts_with("SIP/2.0 400"), "{answer}");
    assert!(!answer.contains("\r\nCall-ID:"), "{answer}");
    // Still healthy afterwards, and the drops are counted.
    assert!(
        exchange(&server, &request("OPTIONS", "4000", "", "OPTIONS"))
            .unwrap()
            .starts_with("SIP/2.0 200")
    );
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("switchboard_sip_scanners_dropped_total 1"),
        "{metrics}"
    );
    assert!(
        !metrics.contains("switchboard_sip_malformed_total 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn hotline_ivr_takes_keys_into_the_support_queue() {
    let server = Server::start_with(
        Backend::Sqlite,
        &[("SWITCHBOARD_DIALPLAN_VARS", "open=always")],
    )
    .await;
    let out = sipp(
        &server,
        &[
            "-sf",
            "ivr_support.xml",
            "-s",
            "4000",
            "-m",
            "1",
            "-d",
            "2500",
        ],
    );
    assert_eq!(cumulative(&out, "Successful call"), 1, "{out}");
    let token = server.token_for("ann", "agent");
    let events = timeline_of(&server, &token, "phone=%2B8613912345678").await;
    let mut path: Vec<String> = events
        .iter()
        .filter_map(|e| match e["payload"]["type"].as_str()? {
            "ivr_step" => Some(format!("step:{}", e["payload"]["step"].as_str()?)),
            "dtmf" => Some(format!("key:{}", e["payload"]["digits"].as_str()?)),
            "call_queued" => Some(format!("queued:{}", e["payload"]["queue"].as_str()?)),
            _ => None,
        })
        .collect();
    path.reverse();
    let expected = [
        "step:welcome",
        "key:2",
        "step:welcome",
        "step:english",
        "step:hours",
        "step:main",
        "key:2",
        "step:main",
        "step:support",
        "queued:support",
    ];
    assert_eq!(path, expected, "{events:#?}");
    let ended = events
        .iter()
        .find(|e| e["payload"]["type"] == "call_ended")
        .expect("call ended");
    assert_eq!(ended["payload"]["cause"], "caller_hangup");
}

#[tokio::test]
async fn reinvite_puts_the_echo_on_hold_and_back() {
    let server = Server::start(Backend::Sqlite).await;
    let out = sipp(
        &server,
        &[
            "-sf",
            "reinvite_hold.xml",
            "-s",
            "9999",
            "-m",
            "3",
            "-r",
            "3",
        ],
    );
    assert_eq!(cumulative(&out, "Successful call"), 3, "{out}");
    assert_eq!(cumulative(&out, "Failed call"), 0, "{out}");
}

#[tokio::test]
async fn sipp_calls_the_echo_test_over_tcp() {
    let server = Server::start(Backend::Sqlite).await;
    let out = sipp(
        &server,
        &[
            "-t", "t1", "-sn", "uac", "-s", "9999", "-m", "10", "-r", "10", "-d", "500",
        ],
    );
    assert_eq!(cumulative(&out, "Successful call"), 10, "{out}");
    // A keep-alive ping on a stream gets its pong.
    use std::io::{Read, Write};
    let mut tcp = std::net::TcpStream::connect(&server.sip).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    tcp.write_all(b"\r\n\r\n").unwrap();
    let mut pong = [0u8; 2];
    tcp.read_exact(&mut pong).unwrap();
    assert_eq!(&pong, b"\r\n");
}

#[tokio::test]
async fn phones_register_with_digest_auth_and_bindings_survive_a_restart() {
    let mut server = Server::start(Backend::Sqlite).await;
    server.cli(&["sip-user", "add", "1001"], "phone-secret-1\n");
    let out = sipp(
        &server,
        &[
            "-sf",
            "register.xml",
            "-s",
            "1001",
            "-au",
            "1001",
            "-ap",
            "phone-secret-1",
            "-m",
            "1",
        ],
    );
    assert_eq!(cumulative(&out, "Successful call"), 1, "{out}");
    // A wrong password is refused.
    let wrong = server
        .sipp(&[
            "-sf",
            "register.xml",
            "-s",
            "1001",
            "-au",
            "1001",
            "-ap",
            "wrong-password",
            "-m",
            "1",
        ])
        .output()
        .unwrap();
    assert!(
        !wrong.status.success(),
        "a wrong password must not register"
    );
    // After a restart the binding is still there: a query REGISTER (no Contact) lists it.
    server.restart();
    let out = sipp(
        &server,
        &[
            "-sf",
            "register_query.xml",
            "-s",
            "1001",
            "-au",
            "1001",
            "-ap",
            "phone-secret-1",
            "-m",
            "1",
        ],
    );
    assert_eq!(cumulative(&out, "Successful call"), 1, "{out}");
    // An unknown user gets no binding listed.
    let none = server
        .sipp(&[
            "-sf",
            "register_query.xml",
            "-s",
            "1002",
            "-au",
            "1002",
            "-ap",
            "phone-secret-1",
            "-m",
            "1",
        ])
        .output()
        .unwrap();
    assert!(!none.status.success(), "no account, no binding");
}
