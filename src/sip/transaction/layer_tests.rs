//! Transaction layer tests in virtual time: each runs 30+ seconds of timers in
//! microseconds by jumping `now` to the next deadline.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::sip::parse::parse;

const PEER: &str = "127.0.0.1:5061";

fn peer() -> SocketAddr {
    PEER.parse().unwrap()
}

fn request(method: &str, branch: &str, cseq: u32) -> Message {
    let text = format!(
        "{method} sip:4000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP {PEER};branch={branch}\r\nFrom: <sip:a@b>;tag=f1\r\n\
         To: <sip:4000@127.0.0.1>\r\nCall-ID: call-1\r\nCSeq: {cseq} {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    );
    parse(&Bytes::from(text)).unwrap()
}

/// Drains outputs: (transmissions, events).
fn drain(layer: &mut TransactionLayer) -> (Vec<Bytes>, Vec<TxEvent>) {
    let (mut tx, mut ev) = (vec![], vec![]);
    while let Some(o) = layer.poll_output() {
        match o {
            Output::Transmit { data, .. } => tx.push(data),
            Output::Event(e) => ev.push(e),
        }
    }
    (tx, ev)
}

/// Runs timers until `until`, returning the instants at which something was sent.
fn run_until(
    layer: &mut TransactionLayer,
    start: Instant,
    until: Instant,
) -> (Vec<Duration>, Vec<TxEvent>) {
    let (mut sent, mut events) = (vec![], vec![]);
    while let Some(at) = layer.poll_timeout() {
        if at > until {
            break;
        }
        layer.handle_timeout(at);
        let (tx, ev) = drain(layer);
        sent.extend(tx.iter().map(|_| at - start));
        events.extend(ev);
    }
    (sent, events)
}

fn new_server_invite(layer: &mut TransactionLayer, now: Instant) -> (TxKey, Message) {
    let inv = request("INVITE", "z9hG4bKinv", 1);
    layer
        .handle_incoming(now, inv.clone(), peer(), false)
        .unwrap();
    let (_, ev) = drain(layer);
    match ev.as_slice() {
        [TxEvent::Request { key, .. }] => (key.clone(), inv),
        other => panic!("expected a new request, got {other:?}"),
    }
}

#[test]
fn invite_retransmission_gets_last_provisional() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(TimerConfig::default(), 100);
    let (key, inv) = new_server_invite(&mut l, t0);
    l.send_response(t0, &key, &inv.response(180, "Ringing", Some("t1")))
        .unwrap();
    drain(&mut l);
    l.handle_incoming(t0 + Duration::from_millis(500), inv, peer(), false)
        .unwrap();
    let (tx, ev) = drain(&mut l);
    assert!(ev.is_empty(), "a retransmission is absorbed");
    assert!(String::from_utf8_lossy(&tx[0]).starts_with("SIP/2.0 180"));
}

#[test]
fn non_2xx_final_retransmits_on_timer_g_until_ack_then_timer_i() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(TimerConfig::default(), 100);
    let (key, inv) = new_server_invite(&mut l, t0);
    l.send_response(t0, &key, &inv.response(486, "Busy Here", Some("t1")))
        .unwrap();
    drain(&mut l);
    let (sent, _) = run_until(&mut l, t0, t0 + Duration::from_millis(3600));
    let ms: Vec<u128> = sent.iter().map(Duration::as_millis).collect();
    assert_eq!(ms, [500, 1500, 3500], "Timer G doubles from T1");
    let mut ack = request("ACK", "z9hG4bKinv", 1);
    ack.headers.set("To", "<sip:4000@127.0.0.1>;tag=t1");
    l.handle_incoming(t0 + Duration::from_secs(4), ack, peer(), false)
        .unwrap();
    let (tx, ev) = drain(&mut l);
    assert!(
        tx.is_empty() && ev.is_empty(),
        "ACK of a non-2xx is absorbed: {ev:?}"
    );
    let (sent, ev) = run_until(&mut l, t0, t0 + Duration::from_secs(60));
    assert!(sent.is_empty() && ev.is_empty());
    assert!(l.is_empty(), "Timer I ended the transaction");
}

#[test]
fn unacknowledged_final_times_out_with_timer_h() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(TimerConfig::default(), 100);
    let (key, inv) = new_server_invite(&mut l, t0);
    l.send_response(t0, &key, &inv.response(603, "Decline", Some("t1")))
        .unwrap();
    drain(&mut l);
    let (sent, ev) = run_until(&mut l, t0, t0 + Duration::from_secs(40));
    assert_eq!(ev, vec![TxEvent::Timeout { key }]);
    assert!(sent.iter().all(|d| d.as_millis() < 32_000));
    assert!(
        sent.windows(2)
            .all(|w| w[1] - w[0] <= Duration::from_secs(4)),
        "capped at T2"
    );
    assert!(l.is_empty());
}

#[test]
fn ok_is_retransmitted_until_the_2xx_ack_arrives() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(TimerConfig::default(), 100);
    let (key, inv) = new_server_invite(&mut l, t0);
    l.send_response(t0, &key, &inv.response(200, "OK", Some("t1")))
        .unwrap();
    drain(&mut l);
    let (sent, _) = run_until(&mut l, t0, t0 + Duration::from_millis(1600));
    assert_eq!(sent.len(), 2);
    let ack = request("ACK", "z9hG4bKnewbranch", 1);
    l.handle_incoming(t0 + Duration::from_secs(2), ack, peer(), false)
        .unwrap();
    let (tx, ev) = drain(&mut l);
    assert!(tx.is_empty());
    assert!(
        matches!(ev.as_slice(), [TxEvent::AckFor2xx { .. }]),
        "{ev:?}"
    );
    let (sent, ev) = run_until(&mut l, t0, t0 + Duration::from_secs(60));
    assert!(
        sent.is_empty() && ev.is_empty(),
        "no more retransmissions, no timeout"
    );
    assert!(l.is_empty(), "Timer L ended the transaction");
}

#[test]
fn client_invite_timer_a_doubles_and_timer_b_gives_up() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(TimerConfig::default(), 100);
    let key = l
        .send_request(t0, request("INVITE", "z9hG4bKout", 1), peer(), false)
        .unwrap();
    let (first, _) = drain(&mut l);
    assert_eq!(first.len(), 1);
    let (sent, ev) = run_until(&mut l, t0, t0 + Duration::from_secs(40));
    let ms: Vec<u128> = sent.iter().map(Duration::as_millis).collect();
    assert_eq!(ms, [500, 1500, 3500, 7500, 15500, 31500]);
    assert_eq!(ev, vec![TxEvent::Timeout { key }]);
    assert!(l.is_empty());
}

#[test]
fn client_non_invite_timer_e_caps_at_t2_and_final_stops_it() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(TimerConfig::default(), 100);
    let bye = request("BYE", "z9hG4bKbye", 2);
    l.send_request(t0, bye.clone(), peer(), false).unwrap();
    drain(&mut l);
    let (sent, _) = run_until(&mut l, t0, t0 + Duration::from_secs(20));
    let ms: Vec<u128> = sent.iter().map(Duration::as_millis).collect();
    assert_eq!(ms, [500, 1500, 3500, 7500, 11500, 15500, 19500]);
    l.handle_incoming(
        t0 + Duration::from_secs(20),
        bye.response(200, "OK", Some("x")),
        peer(),
        false,
    )
    .unwrap();
    let (_, ev) = drain(&mut l);
    assert!(matches!(ev.as_slice(), [TxEvent::Response { .. }]));
    let (sent, ev) = run_until(&mut l, t0, t0 + Duration::from_secs(60));
    assert!(sent.is_empty() && ev.is_empty());
    assert!(l.is_empty(), "Timer K ended it");
}

#[test]
fn client_invite_acks_a_failure_itself() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(TimerConfig::default(), 100);
    let inv = request("INVITE", "z9hG4bKout2", 1);
    l.send_request(t0, inv.clone(), peer(), false).unwrap();
    drain(&mut l);
    l.handle_incoming(
        t0,
        inv.response(486, "Busy Here", Some("u1")),
        peer(),
        false,
    )
    .unwrap();
    let (tx, ev) = drain(&mut l);
    let ack = parse(&tx[0]).unwrap();
    assert_eq!(ack.method(), Some(Method::Ack));
    assert_eq!(ack.to().unwrap().tag(), Some("u1"));
    assert_eq!(ack.top_via().unwrap().branch(), Some("z9hG4bKout2"));
    assert!(matches!(ev.as_slice(), [TxEvent::Response { .. }]));
    // A retransmitted 486 is acknowledged again, not delivered again.
    l.handle_incoming(
        t0 + Duration::from_secs(1),
        inv.response(486, "Busy Here", Some("u1")),
        peer(),
        false,
    )
    .unwrap();
    let (tx, ev) = drain(&mut l);
    assert_eq!((tx.len(), ev.len()), (1, 0));
}

#[test]
fn cancel_is_answered_and_reported() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(TimerConfig::default(), 100);
    let (key, _) = new_server_invite(&mut l, t0);
    l.handle_incoming(t0, request("CANCEL", "z9hG4bKinv", 1), peer(), false)
        .unwrap();
    let (tx, ev) = drain(&mut l);
    assert!(String::from_utf8_lossy(&tx[0]).starts_with("SIP/2.0 200"));
    assert_eq!(ev, vec![TxEvent::Cancelled { invite: key }]);
    l.handle_incoming(t0, request("CANCEL", "z9hG4bKnone", 5), peer(), false)
        .unwrap();
    let (tx, _) = drain(&mut l);
    assert!(String::from_utf8_lossy(&tx[0]).starts_with("SIP/2.0 481"));
}

#[test]
fn refuses_new_requests_over_the_limit() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(TimerConfig::default(), 1);
    l.handle_incoming(t0, request("OPTIONS", "z9hG4bKo1", 1), peer(), false)
        .unwrap();
    let r = l.handle_incoming(t0, request("OPTIONS", "z9hG4bKo2", 2), peer(), false);
    assert_eq!(r, Err(LayerError::Overloaded));
}

#[test]
fn rfc2543_requests_match_without_a_cookie() {
    let t0 = Instant::now();
    let mut l = TransactionLayer::new(TimerConfig::default(), 10);
    let old = request("OPTIONS", "1234", 1);
    l.handle_incoming(t0, old.clone(), peer(), false).unwrap();
    let (_, ev) = drain(&mut l);
    let TxEvent::Request { key, .. } = &ev[0] else {
        panic!()
    };
    l.send_response(t0, key, &old.response(200, "OK", Some("x")))
        .unwrap();
    drain(&mut l);
    l.handle_incoming(t0, old, peer(), false).unwrap();
    let (tx, ev) = drain(&mut l);
    assert_eq!(
        (tx.len(), ev.len()),
        (1, 0),
        "retransmission matched by the RFC 2543 key"
    );
}
