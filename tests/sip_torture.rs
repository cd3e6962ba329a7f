//! The RFC 4475 torture messages sent to a running server over UDP, each as a
//! datagram of its own: the server answers each with the status a UAS owes it
//! (RFC 4475 and RFC 3261), or stays silent where the RFC says to drop it, takes
//! the valid INVITEs as calls, and still answers an OPTIONS at the end.
//!
//! Two things are arranged so that nothing leaves the machine:
//! - the messages' Vias name hosts such as `host5.example.net` without rport,
//!   so answers go to the address they came from (received) and the Via's
//!   port, 5060 (5050 for `quotbal`): the test sends from a random loopback
//!   address `127.x.y.z` with sockets on both ports;
//! - the SDP bodies offer media at documentation addresses (192.0.2.0/24,
//!   RFC 5737); the test maps them onto 127.0.0.0/24 (same length, so the
//!   Content-Length still holds) before sending, and changes nothing else.

mod common;

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Backend, Server};
use switchboard::sip::Message;
use switchboard::sip::parse::parse_structure;

/// What the server does with a message.
#[derive(Debug, Clone, Copy)]
enum Reaction {
    /// A final response with this status (after any provisional ones).
    Answer(u16),
    /// Nothing, not even a 100.
    Silence,
    /// A 200 with an SDP answer: a call, which the test then ACKs and ends.
    Call,
}

use Reaction::{Answer, Call, Silence};

/// Every message, what the server does with it, and why.
const CASES: &[(&str, Reaction, &str)] = &[
    // §3.1.1: valid messages.
    (
        "wsinv",
        Answer(481),
        "a To tag naming no dialog of ours (RFC 3261 §12.2.2)",
    ),
    (
        "intmeth",
        Answer(501),
        "an unknown method (RFC 3261 §8.2.1)",
    ),
    (
        "esc01",
        Call,
        "a valid INVITE; any number reaches the hotline",
    ),
    (
        "escnull",
        Answer(401),
        "REGISTER: the registrar asks for credentials",
    ),
    (
        "esc02",
        Answer(501),
        "RE%47IST%45R is not REGISTER but an unknown method",
    ),
    ("lwsdisp", Answer(200), "OPTIONS"),
    ("longreq", Call, "a valid INVITE"),
    (
        "dblreq",
        Answer(401),
        "the REGISTER; the INVITE after it is noise",
    ),
    ("semiuri", Answer(200), "OPTIONS"),
    ("transports", Answer(200), "OPTIONS"),
    (
        "mpart01",
        Answer(405),
        "MESSAGE is known but not taken outside a call",
    ),
    ("unreason", Silence, "a response to nothing we sent"),
    ("noreason", Silence, "a response to nothing we sent"),
    // §3.1.2: invalid messages.
    ("badinv01", Answer(400), "3.1.2.1"),
    ("clerr", Answer(400), "3.1.2.2, over UDP"),
    ("ncl", Answer(400), "3.1.2.3"),
    ("scalar02", Answer(400), "3.1.2.4, for the CSeq"),
    ("scalarlg", Silence, "3.1.2.5: a response, discarded"),
    ("quotbal", Answer(400), "3.1.2.6; its Via names port 5050"),
    ("ltgtruri", Answer(400), "3.1.2.7"),
    ("lwsruri", Answer(400), "3.1.2.8"),
    ("lwsstart", Answer(400), "3.1.2.9"),
    ("trws", Answer(400), "3.1.2.10"),
    ("escruri", Answer(400), "3.1.2.11"),
    (
        "baddate",
        Call,
        "3.1.2.12: the Date is never read, so it is ignored",
    ),
    ("regbadct", Answer(400), "3.1.2.13"),
    ("badaspec", Answer(400), "3.1.2.14"),
    ("baddn", Answer(400), "3.1.2.15"),
    ("badvers", Answer(505), "3.1.2.16"),
    ("mismatch01", Answer(400), "3.1.2.17"),
    ("mismatch02", Answer(501), "3.1.2.18"),
    ("bigcode", Silence, "3.1.2.19: a response, dropped"),
    // §3.2, §3.3, §3.4.
    ("badbranch", Answer(200), "3.2.1: matched the RFC 2543 way"),
    (
        "insuf",
        Answer(400),
        "3.3.1: no Call-ID, From or To; answered from its Via and CSeq",
    ),
    ("unkscm", Answer(416), "3.3.2"),
    ("novelsc", Answer(416), "3.3.3"),
    ("unksm2", Answer(400), "3.3.4: what a registrar answers"),
    ("bext01", Answer(420), "3.3.5"),
    ("invut", Answer(415), "3.3.6"),
    ("regaut01", Answer(401), "3.3.7: a registrar challenges"),
    ("multi01", Answer(400), "3.3.8"),
    ("mcl01", Answer(400), "3.3.9"),
    ("bcast", Silence, "3.3.10: discarded"),
    (
        "zeromf",
        Answer(200),
        "3.3.11: answered as if Max-Forwards were positive",
    ),
    (
        "cparam01",
        Answer(401),
        "3.3.12: the registrar challenges first",
    ),
    ("cparam02", Answer(401), "3.3.13"),
    ("regescrt", Answer(401), "3.3.14"),
    ("sdp01", Answer(406), "3.3.15"),
    ("inv2543", Call, "3.4.1: RFC 2543 syntax, accepted"),
];

/// Messages whose top Via has the branch, sent-by and method of an earlier one
/// (`escnull`, `cparam01`): to a server that has seen that one they are its
/// retransmission (RFC 3261 §17.2.3), so they go to a second server.
const SAME_TRANSACTION_AS_EARLIER: &[&str] = &["regescrt", "cparam02"];

/// How long a datagram that gets no answer is given.
const SILENCE: Duration = Duration::from_millis(700);
/// How long a final response may take.
const FINAL: Duration = Duration::from_secs(5);

/// The fixture as sent: documentation addresses in the body mapped to loopback.
fn datagram(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/sip_torture/{name}.sip",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let body_at = data
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(data.len(), |i| i + 4);
    let mut i = body_at;
    while let Some(at) = data[i..].windows(8).position(|w| w == b"192.0.2.") {
        data[i + at..i + at + 8].copy_from_slice(b"127.0.0.");
        i += at + 8;
    }
    data
}

/// The test's end: a random loopback address with sockets on ports 5060 and
/// 5050, where the server's answers arrive.
struct Peer {
    main: UdpSocket,
    alt: UdpSocket,
}

impl Peer {
    fn bind() -> Peer {
        for _ in 0..50 {
            let [a, b, c] = rand::random::<[u8; 3]>();
            let ip = Ipv4Addr::new(127, a, b, c.max(2));
            let (Ok(main), Ok(alt)) = (UdpSocket::bind((ip, 5060)), UdpSocket::bind((ip, 5050)))
            else {
                continue;
            };
            for s in [&main, &alt] {
                s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            }
            return Peer { main, alt };
        }
        panic!("no free loopback address for ports 5060 and 5050");
    }

    fn addr(&self) -> SocketAddr {
        self.main.local_addr().unwrap()
    }

    /// Everything that arrives on either socket within `wait`, parsed.
    fn receive(&self, wait: Duration, until_final_for: Option<&str>) -> Vec<Message> {
        let deadline = Instant::now() + wait;
        let mut got = Vec::new();
        let mut buf = vec![0u8; 65_536];
        while Instant::now() < deadline {
            for s in [&self.main, &self.alt] {
                if let Ok(n) = s.recv(&mut buf) {
                    // Answers to malformed requests copy their malformed From
                    // and To, so only the structure is parsed.
                    let m = parse_structure(&Bytes::copy_from_slice(&buf[..n]))
                        .unwrap_or_else(|e| panic!("the server sent what we cannot parse: {e}"));
                    got.push(m);
                }
            }
            let done = until_final_for.is_some_and(|call_id| {
                got.iter()
                    .any(|m| m.call_id() == Some(call_id) && m.status().is_some_and(|c| c >= 200))
            });
            if done {
                break;
            }
        }
        got
    }
}

/// The first Call-ID in a message's headers (`multi01` has two; answers copy
/// the first).
fn call_id_of(data: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        let name = name.trim();
        (name.eq_ignore_ascii_case("call-id") || name.eq_ignore_ascii_case("i"))
            .then(|| value.trim().to_string())
    })
}

/// Sends `name` and checks the server's reaction; returns the final answer.
/// `earlier` are the Call-IDs already used, whose late answers are ignored.
fn check(
    server_addr: &str,
    peer: &Peer,
    name: &str,
    expect: Reaction,
    earlier: &[String],
) -> Option<Message> {
    let data = datagram(name);
    peer.main.send_to(&data, server_addr).unwrap();
    let call_id = call_id_of(&data);
    match expect {
        Silence => {
            let got = peer.receive(SILENCE, None);
            let ours: Vec<_> = got
                .iter()
                .filter(|m| match &call_id {
                    Some(id) => m.call_id() == Some(id.as_str()),
                    None => !m.call_id().is_some_and(|c| earlier.iter().any(|e| e == c)),
                })
                .collect();
            assert!(ours.is_empty(), "{name}: expected no answer, got {ours:?}");
            None
        }
        Answer(_) | Call => {
            // A request without a Call-ID (`insuf`) is known by its branch.
            let branch = branch_of(&data);
            let got = peer.receive(FINAL, call_id.as_deref());
            let last = got
                .into_iter()
                .filter(|m| match &call_id {
                    Some(id) => m.call_id() == Some(id.as_str()),
                    None => m.top_via().and_then(|v| v.branch().map(str::to_string)) == branch,
                })
                .find(|m| m.status().is_some_and(|c| c >= 200))
                .unwrap_or_else(|| panic!("{name}: no final answer"));
            let want = if let Answer(code) = expect { code } else { 200 };
            assert_eq!(last.status(), Some(want), "{name}: {last:?}");
            if data.starts_with(b"INVITE ") && want >= 300 {
                ack_refusal(server_addr, peer, &data, &last);
            }
            Some(last)
        }
    }
}

/// The branch of a raw message's first Via.
fn branch_of(data: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(data);
    let at = text.find("branch=")? + "branch=".len();
    let rest = &text[at..];
    let end = rest.find([';', '\r', '\n', ' ', ',']).unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

/// The ACK that ends an INVITE transaction refused with `answer` (RFC 3261
/// §17.1.1.3), so the server stops sending the refusal again.
fn ack_refusal(server_addr: &str, peer: &Peer, invite: &[u8], answer: &Message) {
    let text = String::from_utf8_lossy(invite);
    let uri = text.split(' ').nth(1).unwrap_or_default();
    let ack = format!(
        "ACK {uri} SIP/2.0\r\nVia: {}\r\nFrom: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} ACK\r\n\
         Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        answer.headers.get("Via").unwrap_or_default(),
        answer.headers.get("From").unwrap_or_default(),
        answer.headers.get("To").unwrap_or_default(),
        answer.call_id().unwrap_or_default(),
        answer.cseq().map(|c| c.seq).unwrap_or_default(),
    );
    peer.main.send_to(ack.as_bytes(), server_addr).unwrap();
}

/// ACKs the 200 of a call and hangs it up; the BYE must be answered 200.
fn end_call(server_addr: &str, peer: &Peer, name: &str, ok: &Message) {
    assert_eq!(ok.content_type(), Some("application/sdp"), "{name}");
    let target = ok.contact().expect("a Contact in the 200").uri.to_string();
    let cseq = ok.cseq().unwrap().seq;
    let request = |method: &str, seq: u32| {
        format!(
            "{method} {target} SIP/2.0\r\nVia: SIP/2.0/UDP {};branch=z9hG4bK{}\r\n\
             From: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {seq} {method}\r\nMax-Forwards: 70\r\n\
             Content-Length: 0\r\n\r\n",
            peer.addr(),
            uuid::Uuid::new_v4().simple(),
            ok.headers.get("From").unwrap(),
            ok.headers.get("To").unwrap(),
            ok.call_id().unwrap(),
        )
    };
    peer.main
        .send_to(request("ACK", cseq).as_bytes(), server_addr)
        .unwrap();
    peer.main
        .send_to(request("BYE", cseq + 1).as_bytes(), server_addr)
        .unwrap();
    let id = ok.call_id().unwrap();
    let got = peer.receive(FINAL, Some(id));
    let bye = got
        .iter()
        .find(|m| m.call_id() == Some(id) && m.cseq().is_some_and(|c| c.method.as_str() == "BYE"))
        .unwrap_or_else(|| panic!("{name}: the BYE was not answered: {got:?}"));
    assert_eq!(bye.status(), Some(200), "{name}");
}

fn options(peer: &Peer) -> String {
    format!(
        "OPTIONS sip:4000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {};rport;branch=z9hG4bK{}\r\n\
         From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:4000@127.0.0.1>\r\nCall-ID: probe-{}\r\n\
         CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        peer.addr(),
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_answers_each_torture_message_as_the_rfc_says() {
    let (server, second) = tokio::join!(
        Server::start(Backend::Sqlite),
        Server::start(Backend::Sqlite)
    );
    let peer = Peer::bind();
    let (first_addr, second_addr) = (server.sip.clone(), second.sip.clone());
    let peer = tokio::task::spawn_blocking(move || {
        let mut earlier = Vec::new();
        for &(name, expect, why) in CASES {
            let addr = if SAME_TRANSACTION_AS_EARLIER.contains(&name) {
                &second_addr
            } else {
                &first_addr
            };
            let answer = check(addr, &peer, name, expect, &earlier);
            earlier.extend(call_id_of(&datagram(name)));
            let Some(answer) = answer else { continue };
            let header = |h: &str| answer.headers.get(h).unwrap_or_default().to_string();
            match name {
                "bext01" => assert_eq!(
                    header("Unsupported"),
                    "nothingSupportsThis, nothingSupportsThisEither",
                    "{why}"
                ),
                "invut" => assert_eq!(header("Accept"), "application/sdp", "{why}"),
                "intmeth" | "esc02" | "mpart01" => {
                    assert!(header("Allow").contains("INVITE"), "{name}: {why}")
                }
                "escnull" | "dblreq" | "regaut01" | "cparam01" => {
                    assert!(header("WWW-Authenticate").starts_with("Digest"), "{name}")
                }
                _ => {}
            }
            if matches!(expect, Call) {
                end_call(addr, &peer, name, &answer);
            }
        }
        peer
    })
    .await
    .unwrap();
    // Still alive and well: an OPTIONS is answered.
    let probe = options(&peer);
    peer.main.send_to(probe.as_bytes(), &server.sip).unwrap();
    let id = call_id_of(probe.as_bytes()).unwrap();
    let got = peer.receive(FINAL, Some(&id));
    assert!(
        got.iter()
            .any(|m| m.call_id() == Some(id.as_str()) && m.status() == Some(200)),
        "{got:?}"
    );
    let metrics = server.metrics().await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("switchboard_sip_malformed_total ") && !l.ends_with(" 0")),
        "{metrics}"
    );
}
