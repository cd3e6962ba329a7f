//! SIP over WebSocket (RFC 7118) against the real server: a client on `/sip`
//! with the `sip` subprotocol and a `.invalid` Via host, as browser softphones
//! send, gets OPTIONS answered, REGISTERs with digest authentication (the
//! binding is a WebSocket flow and goes when the connection closes), and calls
//! the echo test with plain RTP; secure RTP without a DTLS fingerprint gets 488;
//! a WebRTC offer is answered with WebRTC media (ICE-lite, DTLS fingerprint) and
//! hung up when the browser never connects; a connection without the subprotocol
//! is refused; garbage frames do not hurt. Then JsSIP itself.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use bytes::Bytes;
use common::{Backend, Server};
use futures::{SinkExt, StreamExt};
use serde_json::Value;
use switchboard::sip::Message;
use switchboard::sip::digest::Algorithm;
use tokio_tungstenite::tungstenite::{self, Message as Frame, client::IntoClientRequest};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The Via and Contact host JsSIP makes up: it cannot be resolved.
const INVALID_HOST: &str = "df7jal23ls0d.invalid";

async fn connect(server: &Server) -> Ws {
    let mut req = format!("ws://{}/sip", server.http)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "sip".parse().unwrap());
    let (ws, resp) = tokio_tungstenite::connect_async(req)
        .await
        .expect("WebSocket to /sip");
    assert_eq!(
        resp.headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some("sip"),
        "the server agrees on the sip subprotocol"
    );
    ws
}

fn local_addr(ws: &Ws) -> std::net::SocketAddr {
    match ws.get_ref() {
        tokio_tungstenite::MaybeTlsStream::Plain(s) => s.local_addr().unwrap(),
        _ => unreachable!("plain ws"),
    }
}

/// The next SIP message from the server, within 5 s.
async fn next_message(ws: &mut Ws) -> Message {
    next_message_within(ws, Duration::from_secs(5)).await
}

async fn next_message_within(ws: &mut Ws, wait: Duration) -> Message {
    loop {
        let frame = tokio::time::timeout(wait, ws.next())
            .await
            .expect("the server answers in time")
            .expect("the connection is open")
            .expect("a frame");
        let data = match frame {
            Frame::Text(t) => Bytes::copy_from_slice(t.as_str().as_bytes()),
            Frame::Binary(b) => b,
            Frame::Ping(_) | Frame::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        };
        return switchboard::sip::parse::parse(&data).expect("the server sends valid SIP");
    }
}

/// The next final response, skipping provisional ones.
async fn final_response(ws: &mut Ws) -> Message {
    loop {
        let m = next_message(ws).await;
        assert!(!m.is_request(), "no request expected: {m:?}");
        if m.status().is_some_and(|s| s >= 200) {
            return m;
        }
    }
}

async fn send(ws: &mut Ws, text: String) {
    ws.send(Frame::text(text)).await.expect("send");
}

/// One request as a browser softphone writes it over WebSocket.
struct Req<'a> {
    method: &'a str,
    uri: String,
    call_id: &'a str,
    cseq: u32,
    from: &'a str,
    to: String,
    to_tag: Option<String>,
    extra: String,
    body: String,
}

impl Req<'_> {
    fn text(&self) -> String {
        let branch = uuid::Uuid::new_v4().simple();
        let to_tag = self
            .to_tag
            .as_deref()
            .map(|t| format!(";tag={t}"))
            .unwrap_or_default();
        format!(
            "{m} {uri} SIP/2.0\r\nVia: SIP/2.0/WS {INVALID_HOST};branch=z9hG4bK{branch}\r\nMax-Forwards: 70\r\nFrom: <sip:{from}@127.0.0.1>;tag=ft{cid}\r\nTo: <{to}>{to_tag}\r\nCall-ID: {cid}\r\nCSeq: {cseq} {m}\r\nContact: <sip:{from}@{INVALID_HOST};transport=ws>\r\nUser-Agent: switchboard-test\r\n{extra}Content-Length: {len}\r\n\r\n{body}",
            m = self.method,
            uri = self.uri,
            from = self.from,
            cid = self.call_id,
            cseq = self.cseq,
            to = self.to,
            extra = self.extra,
            len = self.body.len(),
            body = self.body,
        )
    }
}

fn req<'a>(method: &'a str, uri: String, call_id: &'a str, cseq: u32) -> Req<'a> {
    Req {
        method,
        to: uri.clone(),
        uri,
        call_id,
        cseq,
        from: "ann",
        to_tag: None,
        extra: String::new(),
        body: String::new(),
    }
}

/// A quoted parameter of a digest challenge.
fn param(challenge: &str, name: &str) -> String {
    let start = challenge
        .find(&format!("{name}=\""))
        .unwrap_or_else(|| panic!("{name} in {challenge}"))
        + name.len()
        + 2;
    let len = challenge[start..].find('"').unwrap();
    challenge[start..start + len].to_string()
}

/// The Authorization answering an MD5 challenge (qop=auth).
fn authorization(challenge: &str, user: &str, password: &str, uri: &str) -> String {
    let (realm, nonce) = (param(challenge, "realm"), param(challenge, "nonce"));
    let md5 = |s: String| Algorithm::Md5.hash(&s);
    let ha1 = md5(format!("{user}:{realm}:{password}"));
    let ha2 = md5(format!("REGISTER:{uri}"));
    let cnonce = "0a4f113b";
    let response = md5(format!("{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}"));
    format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{response}\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"{cnonce}\""
    )
}

fn sdp(proto: &str, port: u16) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} {proto} 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n"
    )
}

/// REGISTERs `user` over `ws`: the challenge, then the credentials; the final answer.
async fn register(ws: &mut Ws, host: &str, user: &str, password: &str) -> Message {
    let uri = format!("sip:{host}");
    let call_id = format!("reg-{user}");
    let mut register = req("REGISTER", uri.clone(), &call_id, 1);
    register.from = user;
    register.to = format!("sip:{user}@127.0.0.1");
    register.extra = "Expires: 300\r\n".into();
    send(ws, register.text()).await;
    let challenge = final_response(ws).await;
    assert_eq!(challenge.status(), Some(401));
    let challenges: Vec<String> = challenge
        .headers
        .lines("WWW-Authenticate")
        .map(|h| h.value.clone())
        .collect();
    // Browser stacks know MD5 only (and JsSIP reads just the last challenge).
    assert_eq!(challenges.len(), 1, "{challenges:?}");
    let md5 = challenges[0].clone();
    assert!(md5.contains("algorithm=MD5"), "{md5}");
    register.cseq = 2;
    register.extra = format!(
        "Expires: 300\r\nAuthorization: {}\r\n",
        authorization(&md5, user, password, &uri)
    );
    send(ws, register.text()).await;
    final_response(ws).await
}

async fn registrations(server: &Server, admin: &str, user: &str) -> Vec<Value> {
    server
        .get_json(&format!("/api/v1/registrations?user={user}"), admin)
        .await
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn wait_unregistered(server: &Server, admin: &str, user: &str) -> bool {
    for _ in 0..100 {
        if registrations(server, admin, user).await.is_empty() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// An offer as Chromium writes it (one audio section, ICE gathered, no trickle).
const BROWSER_OFFER: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
a=group:BUNDLE 0\r\na=msid-semantic: WMS\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0 8 126\r\n\
c=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:EsAw\r\na=ice-pwd:bP+XJMM09aR8AiX1jdukzR6Y\r\n\
a=ice-options:trickle\r\na=fingerprint:sha-256 D2:FA:0E:C3:22:59:5E:14:95:69:92:3D:13:B4:84:24:2C:C2:A2:C0:3E:FD:34:8E:5E:EA:6F:AF:52:CE:E6:0F\r\n\
a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n\
a=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:126 telephone-event/8000\r\na=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host generation 0\r\n";

#[tokio::test]
async fn a_webrtc_offer_is_answered_and_hung_up_when_the_browser_never_connects() {
    let server = Server::start(Backend::Sqlite).await;
    let host = server.http.clone();
    let mut ws = connect(&server).await;
    let mut invite = req("INVITE", format!("sip:9999@{host}"), "webrtc-1", 1);
    invite.extra = "Content-Type: application/sdp\r\n".into();
    invite.body = BROWSER_OFFER.into();
    send(&mut ws, invite.text()).await;
    let answered = final_response(&mut ws).await;
    assert_eq!(answered.status(), Some(200), "{answered:?}");
    let answer = String::from_utf8_lossy(&answered.body).to_string();
    for part in [
        "UDP/TLS/RTP/SAVPF",
        "a=fingerprint:sha-256 ",
        "a=ice-ufrag:",
        "a=candidate:",
        "PCMU/8000",
    ] {
        assert!(answer.contains(part), "{part} in the answer:\n{answer}");
    }
    assert!(
        answer.contains("a=setup:active") || answer.contains("a=setup:passive"),
        "{answer}"
    );
    let mut ack = req("ACK", format!("sip:9999@{host}"), "webrtc-1", 1);
    ack.to_tag = answered.to().and_then(|t| t.tag().map(String::from));
    send(&mut ws, ack.text()).await;
    // No ICE ever reaches the server: the gateway gives up and the call hangs up.
    let bye = next_message_within(&mut ws, Duration::from_secs(25)).await;
    assert_eq!(bye.method(), Some(switchboard::sip::Method::Bye), "{bye:?}");
    ws.send(Frame::binary(bye.response(200, "OK", None).to_bytes()))
        .await
        .expect("send");
}

#[tokio::test]
async fn a_websocket_client_registers_and_calls() {
    let server = Server::start(Backend::Sqlite).await;
    let admin = server.token_for("boss", "admin");
    server.cli(&["sip-user", "add", "ann"], "ann-sip-secret\n");
    let host = server.http.clone();

    // Without the sip subprotocol: refused with 400.
    let plain = format!("ws://{host}/sip").into_client_request().unwrap();
    match tokio_tungstenite::connect_async(plain).await {
        Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 400),
        other => panic!("a connection without the sip subprotocol is refused: {other:?}"),
    }

    let mut ws = connect(&server).await;
    let me = local_addr(&ws);

    // OPTIONS with a Via host that cannot be resolved: answered over the connection.
    send(
        &mut ws,
        req("OPTIONS", format!("sip:{host}"), "opt-1", 1).text(),
    )
    .await;
    let ok = final_response(&mut ws).await;
    assert_eq!(ok.status(), Some(200));
    assert_eq!(ok.call_id(), Some("opt-1"));
    let via = ok.top_via().unwrap();
    assert_eq!(
        (via.transport.as_str(), via.host.as_str()),
        ("WS", INVALID_HOST)
    );
    assert_eq!(
        via.params.get("received"),
        Some(me.ip().to_string().as_str()),
        "the real source is recorded in the Via"
    );

    // REGISTER: challenged, then accepted with digest credentials.
    let registered = register(&mut ws, &host, "ann", "ann-sip-secret").await;
    assert_eq!(registered.status(), Some(200), "{registered:?}");
    assert!(
        registered
            .headers
            .get("Contact")
            .is_some_and(|c| c.contains(INVALID_HOST) && c.contains("transport=ws")),
        "the binding is confirmed: {registered:?}"
    );
    let list = registrations(&server, &admin, "ann").await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["websocket"], true);
    assert_eq!(
        list[0]["source"],
        me.to_string(),
        "the flow is this connection"
    );
    assert!(list[0]["contact"].as_str().unwrap().contains(INVALID_HOST));

    // A bad frame: not UTF-8, then not SIP, then a request that parses badly
    // enough for a 400. The server answers what it can and keeps going.
    ws.send(Frame::binary(vec![0xff, 0xfe, 0x00, 0x80]))
        .await
        .unwrap();
    send(&mut ws, "hello there\r\n\r\n".to_string()).await;
    let mut bad = req("OPTIONS", format!("sip:{host}"), "bad-1", 1);
    bad.extra = "X-Broken: yes\r\n".into();
    send(
        &mut ws,
        bad.text().replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE"),
    )
    .await;
    let refused = final_response(&mut ws).await;
    assert_eq!(refused.status(), Some(400));
    assert_eq!(refused.call_id(), Some("bad-1"));

    // A call to the echo test with plain RTP, as over UDP.
    let rtp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let rtp_port = rtp.local_addr().unwrap().port();
    let mut invite = req("INVITE", format!("sip:9999@{host}"), "call-1", 1);
    invite.extra = "Content-Type: application/sdp\r\n".into();
    invite.body = sdp("RTP/AVP", rtp_port);
    send(&mut ws, invite.text()).await;
    let answered = final_response(&mut ws).await;
    assert_eq!(answered.status(), Some(200), "{answered:?}");
    let answer = String::from_utf8_lossy(&answered.body).to_string();
    assert!(
        answer.contains("m=audio") && answer.contains("RTP/AVP"),
        "{answer}"
    );
    assert!(
        answered
            .headers
            .get("Contact")
            .is_some_and(|c| c.contains("transport=ws")),
        "our Contact says ws: {answered:?}"
    );
    let to_tag = answered.to().and_then(|t| t.tag().map(String::from));
    assert!(to_tag.is_some());
    let mut ack = req("ACK", format!("sip:9999@{host}"), "call-1", 1);
    ack.to_tag = to_tag.clone();
    send(&mut ws, ack.text()).await;
    // The echo test plays back what it gets: some RTP reaches our port.
    let mut buf = [0u8; 1500];
    let packet = [
        0x80u8, 0x00, 0x00, 0x01, 0, 0, 0, 160, 0x12, 0x34, 0x56, 0x78,
    ]
    .into_iter()
    .chain([0xffu8; 160])
    .collect::<Vec<u8>>();
    let media_at = media_address(&answer);
    let mut echoed = false;
    for _ in 0..20 {
        rtp.send_to(&packet, media_at).await.unwrap();
        if let Ok(Ok(_)) =
            tokio::time::timeout(Duration::from_millis(100), rtp.recv_from(&mut buf)).await
        {
            echoed = true;
            break;
        }
    }
    assert!(echoed, "RTP comes back from the echo test at {media_at}");
    let mut bye = req("BYE", format!("sip:9999@{host}"), "call-1", 2);
    bye.to_tag = to_tag;
    send(&mut ws, bye.text()).await;
    let bye_ok = final_response(&mut ws).await;
    assert_eq!(bye_ok.status(), Some(200));
    assert_eq!(bye_ok.cseq().unwrap().to_string(), "2 BYE");

    // Secure RTP that is not WebRTC's (no DTLS fingerprint): 488 with a Warning that says why.
    let mut webrtc = req("INVITE", format!("sip:9999@{host}"), "call-2", 1);
    webrtc.extra = "Content-Type: application/sdp\r\n".into();
    webrtc.body = sdp("UDP/TLS/RTP/SAVPF", 9);
    send(&mut ws, webrtc.text()).await;
    let refused = final_response(&mut ws).await;
    assert_eq!(refused.status(), Some(488), "{refused:?}");
    assert!(
        refused
            .headers
            .get("Warning")
            .is_some_and(|w| w.starts_with("302 ") && w.contains("UDP/TLS/RTP/SAVPF")),
        "{refused:?}"
    );
    let mut ack = req("ACK", format!("sip:9999@{host}"), "call-2", 1);
    ack.to_tag = refused.to().and_then(|t| t.tag().map(String::from));
    send(&mut ws, ack.text()).await;

    // Still serving after all that.
    send(
        &mut ws,
        req("OPTIONS", format!("sip:{host}"), "opt-2", 1).text(),
    )
    .await;
    assert_eq!(final_response(&mut ws).await.status(), Some(200));

    // The connection closes: its binding goes.
    ws.close(None).await.unwrap();
    drop(ws);
    assert!(
        wait_unregistered(&server, &admin, "ann").await,
        "the WebSocket binding went with its connection"
    );
}

/// The `c=` address and audio port of an SDP.
fn media_address(sdp: &str) -> std::net::SocketAddr {
    let ip = sdp
        .lines()
        .find_map(|l| l.strip_prefix("c=IN IP4 "))
        .expect("c= line")
        .trim();
    let port = sdp
        .lines()
        .find_map(|l| l.strip_prefix("m=audio "))
        .and_then(|l| l.split_whitespace().next())
        .expect("m= line");
    format!("{ip}:{port}").parse().unwrap()
}

#[tokio::test]
async fn jssip_registers_an_agent_over_websocket() {
    let server = Server::start(Backend::Sqlite).await;
    let admin = server.token_for("boss", "admin");
    server.cli(&["sip-user", "add", "bea"], "bea-sip-secret\n");
    let stop = server.dir.path().join("stop-jssip");
    let mut child = common::node_script(
        "sip_ws_register.mjs",
        &[
            ("SIP_WS_URL", format!("ws://{}/sip", server.http)),
            ("SIP_USER", "bea".into()),
            ("SIP_PASSWORD", "bea-sip-secret".into()),
            ("STOP_FILE", stop.display().to_string()),
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit())
    .spawn()
    .expect("node (scripts/test installs it)");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let result = tokio::task::spawn_blocking(move || {
        let mut log = String::new();
        loop {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap() == 0 {
                panic!("the JsSIP script ended before READY:\n{log}");
            }
            log.push_str(&line);
            if line.trim() == "READY" {
                let json = log.lines().rev().nth(1).unwrap_or_default().to_string();
                return serde_json::from_str::<Value>(&json)
                    .unwrap_or_else(|_| panic!("a JSON result:\n{log}"));
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(result["registered"], true, "JsSIP registered: {result}");
    assert_eq!(result["status"], 200);

    let list = registrations(&server, &admin, "bea").await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["websocket"], true);
    let contact = list[0]["contact"].as_str().unwrap();
    assert!(
        contact.contains(".invalid") && contact.contains("transport=ws"),
        "JsSIP's contact is stored as it sent it: {contact}"
    );
    assert!(
        result["contact"]
            .as_str()
            .is_some_and(|c| c.contains(contact.trim_start_matches("sip:"))),
        "the stored contact is JsSIP's: {result} / {contact}"
    );

    // JsSIP goes away without unregistering: the binding goes with the connection.
    std::fs::write(&stop, b"").unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    assert!(
        wait_unregistered(&server, &admin, "bea").await,
        "the binding went when JsSIP's connection closed"
    );
}

/// The agent's phone is a WebSocket client: an accepted call from the hotline is
/// dialled over its connection (the INVITE, the ACK and the BYE all arrive on it).
#[tokio::test]
async fn an_agent_phone_over_websocket_is_dialled_over_its_connection() {
    let server = Server::start_with(
        Backend::Sqlite,
        &[("SWITCHBOARD_DIALPLAN_VARS", "open=always")],
    )
    .await;
    let admin = server.token_for("boss", "admin");
    let agent: Value = server
        .post_json(
            "/api/v1/agents",
            &admin,
            &serde_json::json!({"name": "ann", "password": "password-of-ann", "queues": ["support"]}),
        )
        .await;
    let agent_id = agent["id"].as_str().unwrap().to_string();
    let token = server.cli(&["token", "create", "ann"], "");
    let http = reqwest::Client::new();
    let res = http
        .put(server.url(&format!("/api/v1/agents/{agent_id}/state")))
        .bearer_auth(&token)
        .json(&serde_json::json!({"state": "available"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    server.cli(&["sip-user", "add", "ann"], "ann-sip-secret\n");
    let host = server.http.clone();
    let mut ws = connect(&server).await;
    assert_eq!(
        register(&mut ws, &host, "ann", "ann-sip-secret")
            .await
            .status(),
        Some(200)
    );

    let mut caller = server
        .sipp(&[
            "-sf",
            "ivr_support.xml",
            "-s",
            "4000",
            "-m",
            "1",
            "-d",
            "3000",
        ])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let offer = server.first_offer(&agent_id, &token).await;
    server.accept(&offer, &token).await;

    // The INVITE comes over the connection, to the contact we registered.
    let invite = next_message(&mut ws).await;
    assert_eq!(invite.method(), Some(switchboard::sip::Method::Invite));
    assert!(
        invite
            .request_uri()
            .unwrap()
            .to_string()
            .contains(INVALID_HOST),
        "{invite:?}"
    );
    assert_eq!(invite.top_via().unwrap().transport, "WS");
    let offer_sdp = String::from_utf8_lossy(&invite.body).to_string();
    let rtp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut ok = invite.response(200, "OK", Some("phone-tag"));
    ok.headers
        .push("Contact", format!("<sip:ann@{INVALID_HOST};transport=ws>"));
    let payload = if offer_sdp.contains("RTP/AVP 8") {
        "8"
    } else {
        "0"
    };
    let answer = sdp("RTP/AVP", rtp.local_addr().unwrap().port())
        .replace("RTP/AVP 0 101", &format!("RTP/AVP {payload}"))
        .replace(
            "a=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n",
            "",
        );
    ok.set_body("application/sdp", Bytes::from(answer));
    ws.send(Frame::binary(ok.to_bytes())).await.unwrap();
    let ack = next_message(&mut ws).await;
    assert_eq!(ack.method(), Some(switchboard::sip::Method::Ack), "{ack:?}");
    assert_eq!(ack.call_id(), invite.call_id());

    // The caller hangs up after its pause: the BYE comes over the connection too.
    let bye = loop {
        let m = next_message_within(&mut ws, Duration::from_secs(20)).await;
        if m.method() == Some(switchboard::sip::Method::Bye) {
            break m;
        }
    };
    assert_eq!(bye.call_id(), invite.call_id());
    ws.send(Frame::binary(bye.response(200, "OK", None).to_bytes()))
        .await
        .unwrap();
    let caller_ok = tokio::task::spawn_blocking(move || caller.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(caller_ok.success(), "the caller's call completed");
}
