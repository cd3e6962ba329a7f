//! Keys as tones in the caller's audio: a caller whose offer has no
//! telephone-event (PCMA only) presses 2 and 2 as DTMF tones in the RTP
//! stream; the IVR hears them with its Goertzel detector and the call goes
//! through the language menu and the main menu into the support queue.

mod common;

use std::f32::consts::PI;

use common::{Backend, Server};

/// `ms` of the DTMF key 2 (697 Hz and 1336 Hz), each tone at about -10 dBm0.
fn key_two(ms: u32) -> Vec<i16> {
    (0..ms * 8)
        .map(|n| {
            let t = n as f32 / 8000.0;
            (((2.0 * PI * 697.0 * t).sin() + (2.0 * PI * 1336.0 * t).sin()) * 4000.0) as i16
        })
        .collect()
}

#[tokio::test]
async fn keys_sent_as_tones_take_the_caller_through_the_menus() {
    let server = Server::start_with(
        Backend::Sqlite,
        &[("SWITCHBOARD_DIALPLAN_VARS", "open=always")],
    )
    .await;
    // 2, a pause of 1.4 s, 2 again: the timing of ivr_support.xml's key presses.
    let mut audio = key_two(100);
    audio.extend(vec![0i16; 1400 * 8]);
    audio.extend(key_two(100));
    audio.extend(vec![0i16; 500 * 8]);
    let pcap = common::samples_pcap(server.dir.path(), "keys", &audio);
    let pcap = pcap.display().to_string();
    let play = format!(r#"<nop><action><exec play_pcap_audio="{pcap}"/></action></nop>"#);
    let rfc4733 = r#"<nop><action><exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_2.pcap"/></action></nop>"#;
    let first = format!("1:{rfc4733}");
    let scenario = server.scenario(
        "ivr_support.xml",
        &[
            ("RTP/AVP 0 101", "RTP/AVP 8"),
            ("a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000"),
            ("a=rtpmap:101 telephone-event/8000", ""),
            ("a=fmtp:101 0-15", ""),
            (first.as_str(), play.as_str()),
            (rfc4733, ""),
        ],
    );
    let out = server
        .sipp(&["-sf", &scenario, "-s", "4000", "-m", "1", "-d", "2500"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let token = server.token_for("ann", "agent");
    let mut path = Vec::new();
    for _ in 0..100 {
        let events = server.phone_timeline("+8613912345678", &token).await;
        path = events
            .iter()
            .rev()
            .filter_map(|e| match e["payload"]["type"].as_str()? {
                "dtmf" => Some(format!("key:{}", e["payload"]["digits"].as_str()?)),
                "call_queued" => Some(format!("queued:{}", e["payload"]["queue"].as_str()?)),
                _ => None,
            })
            .collect::<Vec<_>>();
        if events.iter().any(|e| e["payload"]["type"] == "call_ended") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(path, ["key:2", "key:2", "queued:support"]);
}
