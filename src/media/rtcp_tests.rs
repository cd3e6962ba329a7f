//! Tests of the RTCP session in virtual time.

use super::*;
use rtc::shared::marshal::Marshal;

const OURS: u32 = 0x1111_1111;
const PEER: u32 = 0x2222_2222;

fn session(t0: Instant) -> RtcpSession {
    let cfg = SessionConfig {
        ssrc: OURS,
        cname: "leg@switchboard".into(),
        clock_rate: 8000,
        payload_type: 8,
        interval: MIN_INTERVAL,
    };
    RtcpSession::new(cfg, t0, 7)
}

fn rtp(seq: u16, ts: u32) -> rtp::Header {
    rtp::Header {
        marker: false,
        payload_type: 8,
        sequence: seq,
        timestamp: ts,
        ssrc: PEER,
        payload_offset: 12,
        payload_len: 160,
    }
}

fn wall() -> Duration {
    Duration::from_secs(1_700_000_000) + Duration::from_millis(250)
}

/// Sends the due report at its deadline; returns the parsed packets.
fn next_report(s: &mut RtcpSession) -> (Instant, Vec<Box<dyn Packet>>) {
    let at = s.poll_timeout();
    assert!(s.poll_transmit(at - Duration::from_millis(1), wall()) == Ok(None));
    let mut bytes = s
        .poll_transmit(at, wall())
        .unwrap()
        .expect("a report when due");
    (
        at,
        rtcp_packet::unmarshal(&mut bytes).expect("our report parses"),
    )
}

#[test]
fn reports_are_rr_until_we_send_then_sr_with_cname() {
    let t0 = Instant::now();
    let mut s = session(t0);
    let first = s.poll_timeout() - t0;
    assert!(
        first >= MIN_INTERVAL / 4 && first < MIN_INTERVAL * 3 / 4,
        "{first:?}"
    );
    for i in 0..10u16 {
        s.handle_rtp(
            t0 + Duration::from_millis(20 * u64::from(i)),
            &rtp(i, 160 * u32::from(i)),
        );
    }
    let (at, packets) = next_report(&mut s);
    let rr = packets[0]
        .as_any()
        .downcast_ref::<ReceiverReport>()
        .expect("RR");
    assert_eq!((rr.ssrc, rr.reports.len()), (OURS, 1));
    assert_eq!(
        (rr.reports[0].ssrc, rr.reports[0].last_sequence_number),
        (PEER, 9)
    );
    let sdes = packets[1]
        .as_any()
        .downcast_ref::<SourceDescription>()
        .expect("SDES");
    assert_eq!(&sdes.chunks[0].items[0].text[..], b"leg@switchboard");
    let gap = s.poll_timeout() - at;
    assert!(
        gap >= MIN_INTERVAL / 2 && gap < MIN_INTERVAL * 3 / 2,
        "{gap:?}"
    );
    s.on_sent(at, 4000, 160);
    s.on_sent(at + Duration::from_millis(20), 4160, 160);
    let (_, packets) = next_report(&mut s);
    let sr = packets[0]
        .as_any()
        .downcast_ref::<SenderReport>()
        .expect("SR");
    assert_eq!((sr.packet_count, sr.octet_count), (2, 320));
    assert_eq!(sr.ntp_time, ntp_time(wall()));
    assert!(sr.rtp_time > 4160, "moved on since the last packet");
    // Nothing sent in this interval: back to an RR.
    let (_, packets) = next_report(&mut s);
    assert!(
        packets[0]
            .as_any()
            .downcast_ref::<ReceiverReport>()
            .is_some()
    );
}

#[test]
fn round_trip_time_from_a_crafted_receiver_report() {
    let t0 = Instant::now();
    let mut s = session(t0);
    s.on_sent(t0, 0, 160);
    let (sent_at, _) = next_report(&mut s);
    let rr = ReceiverReport {
        ssrc: PEER,
        reports: vec![ReceptionReport {
            ssrc: OURS,
            last_sender_report: middle32(ntp_time(wall())),
            delay: 65_536, // the peer held our SR for 1 s
            ..Default::default()
        }],
        ..Default::default()
    };
    let bytes = rr.marshal().unwrap();
    s.handle_rtcp(sent_at + Duration::from_millis(1120), &bytes)
        .unwrap();
    let q = s.summary();
    let rtt = q.rtt_mean_ms.expect("an RTT");
    assert!((rtt - 120.0).abs() < 0.1, "{rtt}");
    assert_eq!(
        (q.rtt_max_ms.map(|m| m.round()), q.rtcp_received),
        (Some(120.0), 1)
    );
    // A block about another SSRC, or with no LSR, gives no RTT.
    let other = ReceiverReport {
        ssrc: PEER,
        reports: vec![ReceptionReport {
            ssrc: 5,
            last_sender_report: 1,
            ..Default::default()
        }],
        ..Default::default()
    };
    s.handle_rtcp(sent_at, &other.marshal().unwrap()).unwrap();
    assert_eq!(s.summary().rtt_mean_ms, Some(rtt));
}

#[test]
fn our_reports_carry_lsr_and_dlsr_of_the_peers_sender_report() {
    let t0 = Instant::now();
    let mut s = session(t0);
    s.handle_rtp(t0, &rtp(1, 0));
    let sr = SenderReport {
        ssrc: PEER,
        ntp_time: 0x1234_5678_9ABC_DEF0,
        ..Default::default()
    };
    s.handle_rtcp(t0, &sr.marshal().unwrap()).unwrap();
    let (at, packets) = next_report(&mut s);
    let rr = packets[0]
        .as_any()
        .downcast_ref::<ReceiverReport>()
        .unwrap();
    assert_eq!(rr.reports[0].last_sender_report, 0x5678_9ABC);
    let expected = (at - t0).as_secs_f64() * 65_536.0;
    assert!((f64::from(rr.reports[0].delay) - expected).abs() < 2.0);
}

#[test]
fn summary_counts_loss_over_a_change_of_source() {
    let t0 = Instant::now();
    let mut s = session(t0);
    for q in (0..100u16).filter(|q| q % 10 != 3) {
        s.handle_rtp(
            t0 + Duration::from_millis(20 * u64::from(q)),
            &rtp(q, 160 * u32::from(q)),
        );
    }
    let mut other = rtp(500, 0);
    other.ssrc = 0x3333_3333;
    s.handle_rtp(t0 + Duration::from_secs(3), &other);
    let q = s.summary();
    assert_eq!(
        (q.packets_expected, q.packets_received, q.packets_lost),
        (101, 91, 10)
    );
    assert!((q.loss_percent - 1000.0 / 101.0).abs() < 1e-9);
    assert!(
        q.jitter_max_ms < 1.0,
        "steady arrivals: {}",
        q.jitter_max_ms
    );
}

#[test]
fn interleaved_sources_are_counted_apart() {
    let t0 = Instant::now();
    let mut s = session(t0);
    let mut other = rtp(7000, 0);
    other.ssrc = 0x3333_3333;
    for q in (0..60u16).filter(|q| *q != 30) {
        s.handle_rtp(t0, &rtp(q, 160 * u32::from(q)));
        if q % 3 == 0 {
            other.sequence += 1;
            s.handle_rtp(t0, &other);
        }
    }
    let q = s.summary();
    assert_eq!((q.packets_received, q.packets_lost), (59 + 19, 1));
    // The report block is about the source heard last.
    let (_, packets) = next_report(&mut s);
    let rr = packets[0]
        .as_any()
        .downcast_ref::<ReceiverReport>()
        .unwrap();
    assert_eq!(rr.reports[0].ssrc, PEER);
}

#[test]
fn malformed_rtcp_is_dropped_without_panic() {
    let t0 = Instant::now();
    let mut s = session(t0);
    s.on_sent(t0, 0, 160);
    let mut junk: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x80],
        vec![0x00; 8],
        vec![0x81, 0xC9, 0x00, 0x07, 1, 2, 3, 4],
        vec![0x80, 0xC8, 0xFF, 0xFF, 0, 0, 0, 0],
        vec![0x81, 0xCA, 0x00, 0x02, 0, 0, 0, 1, 1, 200, b'x', b'y'],
        vec![0xBF, 0xC8, 0x00, 0x01, 0, 0, 0, 0],
    ];
    // Every truncation of a valid compound packet.
    let good = s.build_report(t0, wall()).unwrap();
    for n in 0..good.len() {
        junk.push(good[..n].to_vec());
    }
    // And pseudo-random bytes behind a valid-looking header.
    let mut x: u32 = 12345;
    for len in 8..200 {
        let mut p = vec![0x81, 0xC9, 0x00, (len / 4) as u8];
        for _ in 4..len {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            p.push((x >> 16) as u8);
        }
        junk.push(p);
    }
    for p in &junk {
        let _ = s.handle_rtcp(t0, p);
    }
    assert!(s.handle_rtcp(t0, &[]).is_err());
    assert!(s.handle_rtcp(t0, &good[..good.len() - 1]).is_err());
    assert!(s.handle_rtcp(t0, &good).is_ok());
}

#[test]
fn ntp_conversion() {
    let ntp = ntp_time(Duration::from_millis(1500));
    assert_eq!(ntp >> 32, NTP_UNIX_OFFSET + 1);
    assert_eq!(ntp & 0xFFFF_FFFF, 1 << 31);
    assert_eq!(
        middle32(ntp),
        (((NTP_UNIX_OFFSET + 1) as u32) << 16) | 0x8000
    );
}
