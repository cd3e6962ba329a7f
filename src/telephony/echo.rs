//! The echo test (extension 9999): a short beep, then every audio packet the
//! caller sends comes straight back under our own SSRC, sequence and timestamps.
//! Symmetric RTP latches to where the caller's packets really come from.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::media::g711::{self, Law};
use crate::media::rtp;

/// What the media task tells its call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaEvent {
    /// No RTP for the configured time.
    Timeout,
    Stopped(MediaStats),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediaStats {
    pub received: u64,
    pub sent: u64,
    pub dropped: u64,
}

pub struct EchoParams {
    pub remote: SocketAddr,
    pub payload_type: u8,
    pub dtmf_payload_type: Option<u8>,
    pub symmetric: bool,
    pub timeout: Duration,
    /// The leg's RTCP statistics.
    pub quality: Option<super::rtcp_leg::QualityTap>,
}

/// Runs until `stop` is cancelled or the media times out.
pub async fn run(
    socket: UdpSocket,
    p: EchoParams,
    stop: CancellationToken,
    events: mpsc::Sender<MediaEvent>,
) {
    let mut stats = MediaStats::default();
    let mut remote = p.remote;
    let ssrc: u32 = p.quality.as_ref().map_or_else(rand::random, |q| q.ssrc());
    let (mut seq, mut ts): (u16, u32) = (rand::random(), rand::random());
    let law = Law::from_payload_type(p.payload_type).unwrap_or(Law::Ulaw);
    // A 200 ms beep of 1 kHz so the caller knows the echo is live.
    let mut out = [0u8; 172];
    for frame in 0..10u32 {
        let pcm: [i16; 160] = std::array::from_fn(|i| {
            let n = (frame * 160 + i as u32) as f32;
            (8000.0 * (2.0 * std::f32::consts::PI * 1000.0 * n / 8000.0).sin()) as i16
        });
        rtp::write_header(&mut out, frame == 0, p.payload_type, seq, ts, ssrc);
        g711::encode(law, &pcm, &mut out[12..]);
        if socket.send_to(&out, remote).await.is_ok() {
            stats.sent += 1;
            if let Some(q) = &p.quality {
                q.sent(ts, 160);
            }
        }
        seq = seq.wrapping_add(1);
        ts = ts.wrapping_add(160);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut buf = [0u8; 1500];
    let mut last_rx = Instant::now();
    loop {
        let deadline = last_rx + p.timeout;
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep_until(deadline) => {
                let _ = events.send(MediaEvent::Timeout).await;
                break;
            }
            r = socket.recv_from(&mut buf) => {
                let Ok((n, from)) = r else { continue };
                let packet = &mut buf[..n];
                let Ok(h) = rtp::parse(packet) else { stats.dropped += 1; continue };
                let audio = h.payload_type == p.payload_type || Some(h.payload_type) == p.dtmf_payload_type;
                if !audio || (!p.symmetric && from != remote) {
                    stats.dropped += 1;
                    continue;
                }
                stats.received += 1;
                last_rx = Instant::now();
                remote = from;
                if let Some(q) = &p.quality {
                    q.received(&h, from);
                }
                let samples = if h.payload_type == p.payload_type { h.payload_len as u32 } else { 0 };
                rtp::rewrite(packet, seq, ts, ssrc);
                if socket.send_to(packet, remote).await.is_ok() {
                    stats.sent += 1;
                    if let Some(q) = &p.quality {
                        q.sent(ts, h.payload_len);
                    }
                }
                seq = seq.wrapping_add(1);
                ts = ts.wrapping_add(samples);
            }
        }
    }
    let _ = events.send(MediaEvent::Stopped(stats)).await;
}
