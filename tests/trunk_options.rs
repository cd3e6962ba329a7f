//! The trunk's health: the server pings the trunk (a sipp UAS that answers
//! one OPTIONS) and `/metrics` shows it up.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Backend, Server};

#[tokio::test]
async fn the_trunk_is_pinged_with_options_and_its_state_is_on_metrics() {
    let trunk_port = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut line = Command::new("sipp")
        .args(["-nostdin", "-timeout", "30", "-timeout_error", "-mp", "0"])
        .args(["-i", "127.0.0.1", "-p", &trunk_port.to_string()])
        .args(["-sf", "trunk_options.xml", "-m", "1"])
        .current_dir(common::repo("tests/sipp"))
        .stdout(Stdio::null())
        .spawn()
        .expect("sipp");
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
        tokio::task::spawn_blocking(move || line.wait())
            .await
            .unwrap()
            .unwrap()
            .success(),
        "the trunk got one OPTIONS and answered it"
    );
}
