//! The dialplan `transfer` step on real calls: a sipp caller is put through to
//! extension 1001 (a desk phone registered with our registrar, sipp, which
//! answers and hangs up after 3 s); back in the dialplan, the caller is
//! transferred to a number through the trunk, where the line is busy (sipp,
//! 486), and the dialplan's `on_fail` ends the call.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{Backend, Server};
use serde_json::Value;

const CALLER: &str = "+8613900003333";

const PLAN: &str = r#"
name: desk
match: { default: true }
language: en
start: to_desk
steps:
  to_desk:
    transfer: { extension: "1001", prompts: [transferring], ring_seconds: 10, on_fail: bye }
    next: to_trunk
  to_trunk:
    transfer: { number: "+861088880000", ring_seconds: 10, on_fail: bye }
    next: bye
  bye:
    hangup: {}
"#;

#[tokio::test]
async fn a_caller_is_put_through_to_an_extension_then_to_a_busy_number() {
    let trunk_port = common::free_udp_port();
    let plans = tempfile::tempdir().unwrap();
    std::fs::write(plans.path().join("desk.yaml"), PLAN).unwrap();
    let trunk = format!("127.0.0.1:{trunk_port}");
    let server = Server::start_with(
        Backend::Sqlite,
        &[
            (
                "SWITCHBOARD_DIALPLANS_DIR",
                &plans.path().display().to_string(),
            ),
            ("SWITCHBOARD_TRUNK_ADDRESS", &trunk),
            // The sipp line expects an INVITE only.
            ("SWITCHBOARD_TRUNK_OPTIONS_SECONDS", "0"),
        ],
    )
    .await;
    let admin = server.token_for("boss", "admin");
    let desk = server
        .desk_phone_with("1001", &admin, "agent_hangs_up.xml")
        .await;
    let line = common::sipp_uas(trunk_port, "busy.xml", 1, Stdio::null());
    // The caller presses nothing that matters and waits for the server's BYE.
    let two = r#"<nop><action><exec play_pcap_audio="/usr/share/sip-tester/dtmf_2833_2.pcap"/></action></nop>"#;
    let scenario = server.scenario("caller_rates.xml", &[("+8613912345678", CALLER), (two, "")]);
    let caller = server
        .sipp(&["-sf", &scenario, "-s", "4200", "-m", "1"])
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(
        caller.status.success(),
        "the caller was hung up by the dialplan"
    );
    assert!(
        common::wait_child(desk).await.success(),
        "extension 1001 answered and hung up: {}",
        std::fs::read_to_string(server.dir.path().join("phone.log")).unwrap_or_default()
    );
    assert!(
        common::wait_child(line).await.success(),
        "the busy line got the INVITE"
    );

    let token = server.token_for("ann", "agent");
    let mut items: Vec<Value> = Vec::new();
    for _ in 0..100 {
        items = server.phone_timeline(CALLER, &token).await;
        items.reverse();
        if items.iter().any(|e| e["payload"]["type"] == "call_ended") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let transferred: Vec<&str> = items
        .iter()
        .filter(|e| e["payload"]["type"] == "call_transferred")
        .filter_map(|e| e["payload"]["to"].as_str())
        .collect();
    assert_eq!(transferred, ["extension 1001"], "{items:#?}");
    let steps: Vec<&Value> = items
        .iter()
        .filter(|e| e["payload"]["type"] == "ivr_step")
        .map(|e| &e["payload"])
        .collect();
    assert!(
        steps.iter().any(|s| s["detail"]["ended"] == true),
        "back from the extension: {steps:#?}"
    );
    assert!(
        steps.iter().any(|s| s["detail"]["failed"] == "busy"),
        "the number was busy: {steps:#?}"
    );
    let legs = items
        .iter()
        .filter(|e| e["payload"]["type"] == "call_quality")
        .count();
    assert_eq!(legs, 2, "the caller's leg and the extension's leg");
}
