//! RTCP on SIP legs with real peers: sipp calls the hotline and plays speech,
//! the server sends RTCP reports to the caller's RTP port + 1, a reply of ours
//! gives it a round-trip time, and the call's timeline ends with the caller
//! leg's quality. A second call's RTP comes from a sender of the test that
//! skips sequence numbers, and the quality event counts them as lost.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use common::{Backend, Server};
use rtc::rtcp::packet::{Packet, unmarshal};
use rtc::rtcp::receiver_report::ReceiverReport;
use rtc::rtcp::reception_report::ReceptionReport;
use rtc::rtcp::sender_report::SenderReport;
use rtc::shared::marshal::Marshal;
use tokio::net::UdpSocket;

const CALLER: &str = "+8613700001111";

/// An even port for sipp's RTP with the port above it bound here for RTCP.
async fn media_ports() -> (u16, UdpSocket) {
    for _ in 0..200 {
        let probe = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = probe.local_addr().unwrap().port() & !1;
        drop(probe);
        if port < 1024 || std::net::UdpSocket::bind(("127.0.0.1", port)).is_err() {
            continue;
        }
        if let Ok(rtcp) = UdpSocket::bind(("127.0.0.1", port + 1)).await {
            return (port, rtcp);
        }
    }
    panic!("no free port pair");
}

fn call(server: &Server, scenario: &str, media_port: u16, hold_ms: u32) -> std::process::Child {
    server
        .sipp(&[
            "-sf",
            scenario,
            "-s",
            "4000",
            "-m",
            "1",
            "-d",
            &hold_ms.to_string(),
            "-mp",
            &media_port.to_string(),
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("sipp")
}

/// The next RTCP datagram, parsed, and where it came from.
async fn next_rtcp(sock: &UdpSocket) -> (Vec<Box<dyn Packet>>, SocketAddr) {
    let mut buf = [0u8; 1500];
    let (n, from) = tokio::time::timeout(Duration::from_secs(10), sock.recv_from(&mut buf))
        .await
        .expect("an RTCP report within 10 s")
        .unwrap();
    let mut bytes = Bytes::copy_from_slice(&buf[..n]);
    (unmarshal(&mut bytes).expect("the report parses"), from)
}

/// The caller's timeline once the call has ended (newest first).
async fn ended_timeline(server: &Server) -> Vec<serde_json::Value> {
    let token = server.token_for("ann", "agent");
    for _ in 0..100 {
        let items = server.phone_timeline(CALLER, &token).await;
        if items.iter().any(|e| e["payload"]["type"] == "call_ended") {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the call did not end in the timeline");
}

/// The caller leg's quality event, checked to come right before the call's end.
fn caller_quality(items: &[serde_json::Value]) -> serde_json::Value {
    let kinds: Vec<&str> = items
        .iter()
        .filter_map(|e| e["payload"]["type"].as_str())
        .collect();
    let ended = kinds.iter().position(|k| *k == "call_ended").unwrap();
    assert_eq!(
        kinds.get(ended + 1),
        Some(&"call_quality"),
        "quality just before the end: {kinds:?}"
    );
    let q = items[ended + 1]["payload"].clone();
    assert_eq!(q["leg"], "caller");
    assert_eq!(q["codec"], "PCMA");
    q
}

async fn wait(child: std::process::Child) {
    let status = tokio::task::spawn_blocking(move || {
        let mut child = child;
        child.wait()
    })
    .await
    .unwrap()
    .unwrap();
    assert!(status.success(), "sipp failed");
}

#[tokio::test]
async fn reports_reach_the_caller_and_the_timeline_ends_with_the_quality() {
    let server = Server::start_with(
        Backend::Sqlite,
        &[("SWITCHBOARD_DIALPLAN_VARS", "open=always")],
    )
    .await;
    let (port, rtcp) = media_ports().await;
    let child = call(&server, "ivr_audio.xml", port, 10_000);
    // The server plays prompts, so its reports are SRs; answer one with an RR.
    let (packets, from) = next_rtcp(&rtcp).await;
    let sr = packets[0]
        .as_any()
        .downcast_ref::<SenderReport>()
        .expect("an SR first");
    assert!(sr.packet_count > 0 && sr.ntp_time > 0);
    assert!(
        packets
            .iter()
            .any(|p| p.header().packet_type == rtc::rtcp::header::PacketType::SourceDescription)
    );
    let rr = ReceiverReport {
        ssrc: 0xCAFE,
        reports: vec![ReceptionReport {
            ssrc: sr.ssrc,
            last_sender_report: (sr.ntp_time >> 16) as u32,
            delay: 0,
            ..Default::default()
        }],
        ..Default::default()
    };
    rtcp.send_to(&rr.marshal().unwrap(), from).await.unwrap();
    let (later, _) = next_rtcp(&rtcp).await;
    let block = match later[0].as_any().downcast_ref::<SenderReport>() {
        Some(sr) => sr.reports.first().cloned(),
        None => later[0]
            .as_any()
            .downcast_ref::<ReceiverReport>()
            .and_then(|rr| rr.reports.first().cloned()),
    };
    let block = block.expect("a report block about sipp's RTP");
    assert_eq!(block.fraction_lost, 0);
    wait(child).await;
    let q = caller_quality(&ended_timeline(&server).await);
    assert!(
        q["packets_received"].as_u64().unwrap() >= 236,
        "sipp's speech at least: {q}"
    );
    assert!(q["packets_sent"].as_u64().unwrap() > 300, "{q}");
    assert_eq!(q["packets_lost"], 0, "{q}");
    assert_eq!(q["loss_percent"], 0.0, "{q}");
    assert!(q["jitter_max_ms"].as_f64().unwrap() < 20.0, "{q}");
    let rtt = q["rtt_mean_ms"].as_f64().expect("an RTT from our RR");
    assert!((0.0..100.0).contains(&rtt), "{q}");
    assert!(q["rtcp_sent"].as_u64().unwrap() >= 2, "{q}");
    assert_eq!(q["rtcp_received"], 1, "{q}");
    let metrics = server.metrics().await;
    assert!(
        metrics.contains("switchboard_call_loss_percent_bucket{le=\"0\"} 1\n")
            && metrics.contains("switchboard_call_jitter_ms_count 1\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn skipped_sequence_numbers_are_reported_lost() {
    let server = Server::start_with(
        Backend::Sqlite,
        &[("SWITCHBOARD_DIALPLAN_VARS", "open=always")],
    )
    .await;
    let no_speech = server.scenario(
        "ivr_audio.xml",
        &[(
            r#"<nop><action><exec play_pcap_audio="/usr/share/sip-tester/g711a.pcap"/></action></nop>"#,
            "",
        )],
    );
    let (port, rtcp) = media_ports().await;
    let child = call(&server, &no_speech, port, 10_000);
    // The server's RTP port is the one below its RTCP port.
    let (_, from) = next_rtcp(&rtcp).await;
    let server_rtp = SocketAddr::new(from.ip(), from.port() - 1);
    let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut packet = [0xD5u8; 172];
    let skipped = |seq: u16| (50..55).contains(&seq) || seq == 120;
    for seq in (0..250u16).filter(|s| !skipped(*s)) {
        packet[..12].copy_from_slice(&rtp_header(seq, 160 * u32::from(seq)));
        sender.send_to(&packet, server_rtp).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    wait(child).await;
    let q = caller_quality(&ended_timeline(&server).await);
    assert_eq!(q["packets_lost"], 6, "{q}");
    let pct = q["loss_percent"].as_f64().unwrap();
    assert!(pct > 1.0 && pct < 3.0, "{q}");
}

fn rtp_header(seq: u16, ts: u32) -> [u8; 12] {
    let mut h = [0u8; 12];
    h[0] = 0x80;
    h[1] = 8;
    h[2..4].copy_from_slice(&seq.to_be_bytes());
    h[4..8].copy_from_slice(&ts.to_be_bytes());
    h[8..12].copy_from_slice(&0x5EED_u32.to_be_bytes());
    h
}
