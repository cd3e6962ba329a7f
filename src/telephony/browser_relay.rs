//! The task that drives a browser leg: it owns the WebRTC socket and the caller's
//! RTP socket, feeds the sans-IO `WebRtcPeer` with what arrives and the time, sends
//! what it asks, relays audio both ways without transcoding, and copies both sides
//! to the recorder without waiting. It hands the caller's socket back when stopped,
//! so the call can play hold music if the browser leg fails.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::ivr_media::RecordTap;
use super::recording::{Frame, Side};
use crate::media::g711::Law;
use crate::media::rtp;
use crate::media::webrtc_peer::{PeerEvent, WebRtcPeer};

/// What the relay tells the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegState {
    Connected,
    Failed,
}

/// The sockets and settings of one bridged browser call.
pub struct BrowserRelay {
    pub peer: WebRtcPeer,
    pub socket: UdpSocket,
    pub caller: CallerSide,
    pub recorder: Option<mpsc::Sender<Frame>>,
}

/// The caller's RTP leg as the relay sees it.
pub struct CallerSide {
    pub socket: UdpSocket,
    /// Where the caller's audio goes (latched to where it comes from).
    pub at: SocketAddr,
    pub payload_type: u8,
    pub law: Law,
}

struct Taps {
    caller: RecordTap,
    agent: RecordTap,
    recorder: Option<mpsc::Sender<Frame>>,
}

/// Runs until `stop` or the peer fails; returns the caller's socket.
pub async fn run(
    mut r: BrowserRelay,
    states: mpsc::Sender<LegState>,
    stop: CancellationToken,
) -> UdpSocket {
    let mut taps = Taps {
        caller: RecordTap::new(Side::Caller),
        agent: RecordTap::new(Side::Agent),
        recorder: r.recorder.take(),
    };
    let (mut a, mut b) = ([0u8; 1500], [0u8; 1500]);
    loop {
        flush(&mut r.peer, &r.socket).await;
        while let Some(ev) = r.peer.poll_event() {
            match ev {
                PeerEvent::Audio(p) => {
                    to_caller(&r.caller, &p, &mut taps).await;
                }
                PeerEvent::Connected => {
                    let _ = states.try_send(LegState::Connected);
                }
                PeerEvent::Failed => {
                    let _ = states.try_send(LegState::Failed);
                    r.peer.close();
                    flush(&mut r.peer, &r.socket).await;
                    return r.caller.socket;
                }
            }
        }
        let wake = r
            .peer
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep_until(wake.into()) => r.peer.handle_timeout(Instant::now()),
            got = r.socket.recv_from(&mut a) => {
                if let Ok((n, from)) = got {
                    r.peer.handle_datagram(Instant::now(), from, &a[..n]);
                }
            }
            got = r.caller.socket.recv_from(&mut b) => {
                if let Ok((n, from)) = got {
                    from_caller(&mut r, &b[..n], from, &mut taps);
                }
            }
        }
    }
    r.peer.close();
    flush(&mut r.peer, &r.socket).await;
    r.caller.socket
}

async fn flush(peer: &mut WebRtcPeer, socket: &UdpSocket) {
    while let Some((to, data)) = peer.poll_transmit() {
        if let Err(e) = socket.send_to(&data, to).await {
            tracing::debug!(error = %e, %to, "webrtc datagram not sent");
        }
    }
}

fn from_caller(r: &mut BrowserRelay, packet: &[u8], from: SocketAddr, taps: &mut Taps) {
    let Ok(h) = rtp::parse(packet) else { return };
    r.caller.at = from;
    if h.payload_type != r.caller.payload_type {
        return;
    }
    let payload = &packet[h.payload_offset..h.payload_offset + h.payload_len];
    if let Some(rec) = &taps.recorder {
        taps.caller.push(r.caller.law, payload, rec);
    }
    r.peer
        .send_audio(Instant::now(), h.sequence, h.timestamp, h.marker, payload);
}

async fn to_caller(r: &CallerSide, p: &rtc::rtp::Packet, taps: &mut Taps) {
    if p.payload.len() > 1400 {
        return;
    }
    if let Some(rec) = &taps.recorder {
        taps.agent.push(r.law, &p.payload, rec);
    }
    let mut out = [0u8; 1412];
    rtp::write_header(
        &mut out,
        p.header.marker,
        r.payload_type,
        p.header.sequence_number,
        p.header.timestamp,
        p.header.ssrc,
    );
    let len = 12 + p.payload.len();
    out[12..len].copy_from_slice(&p.payload);
    if let Err(e) = r.socket.send_to(&out[..len], r.at).await {
        tracing::debug!(error = %e, "audio to the caller not sent");
    }
}
