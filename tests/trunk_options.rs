//! The trunk's health: the server pings the trunk (a sipp UAS that answers
//! one OPTIONS) and `/metrics` shows it up.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{Backend, Server};

#[tokio::test]
async fn the_trunk_is_pinged_with_options_and_its_state_is_on_metrics() {
    let trunk_port = common::free_udp_port();
    let line = common::sipp_uas(trunk_port, "trunk_options.xml", 1, Stdio::null());
    let trunk = format!("127.0.0.1:{trunk_port}");
    let server =
        Server::start_with(Backend::Sqlite, &[("SWITCHBOARD_TRUNK_ADDRESS", &trunk)]).await;
    let mut metrics = String::new();
    for _ in 0..100 {
        metrics = server.metrics().await;
        if metrics.contains("switchboard_trunk_up 1\n") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(metrics.contains("switchboard_trunk_up 1\n"), "{metrics}");
    assert!(
        common::wait_child(line).await.success(),
        "the trunk got one OPTIONS and answered it"
    );
}
