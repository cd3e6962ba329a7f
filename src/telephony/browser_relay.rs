//! The task that drives a browser leg: it owns the WebRTC socket and the caller's
//! RTP socket, feeds the sans-IO `WebRtcPeer` with what arrives and the time, sends
//! what it asks, relays audio both ways without transcoding, and copies both sides
//! to the recorder without waiting; keys from the agent's keypad go to the caller as
//! RFC 4733 telephone-events paced every 20 ms. While the agent holds the call,
//! neither side hears the other: the caller hears music on hold, also paced every
//! 20 ms and recorded on the agent's side (what the caller heard), until the agent
//! resumes. A supervisor's browser may join as a third WebRTC leg (`monitor`):
//! it hears both sides mixed, and in whisper or barge mode is mixed into what
//! the agent, or both, hear. It hands the caller's socket back when stopped, so
//! the call can play hold music if the browser leg fails.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use std::collections::VecDeque;

use super::ivr_media::RecordTap;
use super::monitor::{Mixer, MonitorLeg, MonitorMode};
use super::recording::{Frame, Side};
use crate::media::dtmf::{self, EventPacket};
use crate::media::g711::Law;
use crate::media::rtp;
use crate::media::webrtc_peer::{PeerEvent, WebRtcPeer};

/// What the relay tells the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegState {
    Connected,
    Failed,
    /// The supervisor's leg failed or closed.
    MonitorEnded,
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
    /// The caller's telephone-event payload type, when negotiated.
    pub dtmf_payload_type: Option<u8>,
    pub law: Law,
    /// The caller leg's RTCP statistics.
    pub quality: Option<super::rtcp_leg::QualityTap>,
}

/// What the call asks of a running relay.
#[derive(Debug)]
pub enum RelayCommand {
    /// Send a key to the caller (RFC 4733).
    Dtmf(char),
    /// Hold: play this music (8 kHz samples, looped; empty: silence) to the caller.
    Hold(Arc<[i16]>),
    Resume,
    /// A supervisor joins (or, with a leg already there, replaces the one there).
    Monitor(Box<MonitorLeg>),
    /// The supervisor's SDP answer.
    MonitorAnswer(String),
    MonitorMode(MonitorMode),
    MonitorStop,
}

/// A supervisor on the call.
struct Monitoring {
    peer: WebRtcPeer,
    socket: UdpSocket,
    mixer: Mixer,
}

/// Music on hold playing to the caller.
struct Held {
    music: Arc<[i16]>,
    offset: usize,
}

impl Held {
    /// The next 20 ms of music, looping.
    fn next_frame(&mut self) -> [i16; 160] {
        let mut out = [0i16; 160];
        if self.music.is_empty() {
            return out;
        }
        for s in &mut out {
            *s = self.music[self.offset];
            self.offset = (self.offset + 1) % self.music.len();
        }
        out
    }
}

/// The stream towards the caller: our own sequence numbers, so that keys can be
/// put between the browser's audio packets, and the key being sent.
struct Outbound {
    seq: u16,
    ssrc: u32,
    last_ts: u32,
    keys: VecDeque<EventPacket>,
    key_ts: u32,
    /// The next packet starts a talkspurt (after a key or a hold): marker bit.
    mark_next: bool,
}

/// Telephone-event packets go out one per 20 ms.
const EVENT_PACING: Duration = Duration::from_millis(20);

struct Taps {
    caller: RecordTap,
    agent: RecordTap,
    recorder: Option<mpsc::Sender<Frame>>,
}

/// Runs until `stop` or the peer fails; returns the caller's socket.
pub async fn run(
    mut r: BrowserRelay,
    states: mpsc::Sender<LegState>,
    mut commands: mpsc::Receiver<RelayCommand>,
    stop: CancellationToken,
) -> UdpSocket {
    let mut taps = Taps {
        caller: RecordTap::new(Side::Caller),
        agent: RecordTap::new(Side::Agent),
        recorder: r.recorder.take(),
    };
    let (mut a, mut b, mut c) = ([0u8; 1500], [0u8; 1500], [0u8; 1500]);
    let mut out = Outbound {
        seq: rand::random(),
        ssrc: r
            .caller
            .quality
            .as_ref()
            .map_or_else(rand::random, |q| q.ssrc()),
        last_ts: rand::random(),
        keys: VecDeque::new(),
        key_ts: 0,
        mark_next: false,
    };
    let mut held: Option<Held> = None;
    let mut monitor: Option<Monitoring> = None;
    let mut pacing = tokio::time::interval(EVENT_PACING);
    // After a pause (no keys, no hold) the next packet goes out one period on,
    // not in a burst of the ticks missed meanwhile.
    pacing.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut mixing = tokio::time::interval(EVENT_PACING);
    mixing.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        flush(&mut r.peer, &r.socket).await;
        if monitor_events(&mut monitor, &states).await {
            monitor = None;
        }
        while let Some(ev) = r.peer.poll_event() {
            match ev {
                // On hold the agent is not heard.
                PeerEvent::Audio(_) if held.is_some() => {}
                PeerEvent::Audio(p) => {
                    let mixer = monitor.as_mut().map(|m| &mut m.mixer);
                    to_caller(&r.caller, &p, &mut out, &mut taps, mixer).await;
                }
                PeerEvent::Connected => {
                    let _ = states.try_send(LegState::Connected);
                }
                PeerEvent::Failed => {
                    let _ = states.try_send(LegState::Failed);
                    close_monitor(monitor.take()).await;
                    r.peer.close();
                    flush(&mut r.peer, &r.socket).await;
                    return r.caller.socket;
                }
            }
        }
        let soon = || Instant::now() + Duration::from_secs(1);
        let wake = r.peer.poll_timeout().unwrap_or_else(soon);
        let monitor_wake = monitor
            .as_mut()
            .and_then(|m| m.peer.poll_timeout())
            .unwrap_or_else(soon);
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
                    let mixer = monitor.as_mut().map(|m| &mut m.mixer);
                    from_caller(&mut r, &b[..n], from, &mut taps, held.is_some(), mixer);
                }
            }
            got = monitor_recv(monitor.as_ref().map(|m| &m.socket), &mut c) => {
                if let (Ok((n, from)), Some(m)) = (got, monitor.as_mut()) {
                    m.peer.handle_datagram(Instant::now(), from, &c[..n]);
                }
            }
            _ = tokio::time::sleep_until(monitor_wake.into()), if monitor.is_some() => {
                if let Some(m) = monitor.as_mut() {
                    m.peer.handle_timeout(Instant::now());
                }
            }
            _ = mixing.tick(), if monitor.is_some() => {
                if let Some(m) = monitor.as_mut() {
                    let (payload, seq, ts) = m.mixer.for_supervisor();
                    m.peer.send_audio(Instant::now(), seq, ts, false, &payload);
                }
            }
            Some(cmd) = commands.recv() => match cmd {
                RelayCommand::Dtmf(d) => queue_key(&mut out, d),
                RelayCommand::Hold(music) => {
                    held = Some(Held { music, offset: 0 });
                    out.mark_next = true;
                }
                RelayCommand::Resume => {
                    held = None;
                    out.mark_next = true;
                }
                RelayCommand::Monitor(leg) => {
                    close_monitor(monitor.take()).await;
                    monitor = Some(Monitoring {
                        peer: leg.peer,
                        socket: leg.socket,
                        mixer: Mixer::new(r.caller.law, leg.mode),
                    });
                }
                RelayCommand::MonitorAnswer(sdp) => {
                    if let Some(m) = monitor.as_mut()
                        && let Err(e) = m.peer.answer(Instant::now(), sdp)
                    {
                        tracing::warn!(error = %e, "supervisor's answer refused");
                        let _ = states.try_send(LegState::MonitorEnded);
                        close_monitor(monitor.take()).await;
                    }
                }
                RelayCommand::MonitorMode(mode) => {
                    if let Some(m) = monitor.as_mut() {
                        m.mixer.set_mode(mode);
                    }
                }
                RelayCommand::MonitorStop => close_monitor(monitor.take()).await,
            },
            _ = pacing.tick(), if !out.keys.is_empty() || held.is_some() => {
                if !out.keys.is_empty() {
                    send_key_packet(&r.caller, &mut out).await;
                } else if let Some(h) = held.as_mut() {
                    send_music(&r.caller, &mut out, h, &mut taps).await;
                }
            }
        }
    }
    close_monitor(monitor.take()).await;
    r.peer.close();
    flush(&mut r.peer, &r.socket).await;
    r.caller.socket
}

/// Sends the supervisor leg's datagrams and takes in its events; true when it
/// failed (the call is told, and the leg should go).
async fn monitor_events(monitor: &mut Option<Monitoring>, states: &mpsc::Sender<LegState>) -> bool {
    let Some(m) = monitor.as_mut() else {
        return false;
    };
    flush(&mut m.peer, &m.socket).await;
    while let Some(ev) = m.peer.poll_event() {
        match ev {
            PeerEvent::Audio(p) => m.mixer.heard_supervisor(&p.payload),
            PeerEvent::Connected => tracing::debug!("supervisor connected"),
            PeerEvent::Failed => {
                let _ = states.try_send(LegState::MonitorEnded);
                return true;
            }
        }
    }
    false
}

async fn monitor_recv(
    socket: Option<&UdpSocket>,
    buf: &mut [u8],
) -> std::io::Result<(usize, SocketAddr)> {
    match socket {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

async fn close_monitor(monitor: Option<Monitoring>) {
    if let Some(mut m) = monitor {
        m.peer.close();
        flush(&mut m.peer, &m.socket).await;
    }
}

async fn flush(peer: &mut WebRtcPeer, socket: &UdpSocket) {
    while let Some((to, data)) = peer.poll_transmit() {
        if let Err(e) = socket.send_to(&data, to).await {
            tracing::debug!(error = %e, %to, "webrtc datagram not sent");
        }
    }
}

/// A packet from the caller: recorded, heard by a supervisor, and relayed to the
/// agent (with a whispering supervisor mixed in) unless on hold.
fn from_caller(
    r: &mut BrowserRelay,
    packet: &[u8],
    from: SocketAddr,
    taps: &mut Taps,
    held: bool,
    mixer: Option<&mut Mixer>,
) {
    let Ok(h) = rtp::parse(packet) else { return };
    r.caller.at = from;
    if let Some(q) = &r.caller.quality {
        q.received(&h, from);
    }
    if h.payload_type != r.caller.payload_type {
        return;
    }
    let payload = &packet[h.payload_offset..h.payload_offset + h.payload_len];
    if let Some(rec) = &taps.recorder {
        taps.caller.push(r.caller.law, payload, rec);
    }
    if held {
        return;
    }
    let mixed = mixer.and_then(|m| {
        m.heard_caller(payload);
        m.into_agent(payload)
    });
    let payload = mixed.as_deref().unwrap_or(payload);
    r.peer
        .send_audio(Instant::now(), h.sequence, h.timestamp, h.marker, payload);
}

/// The agent's audio to the caller, with a barging supervisor mixed in, and
/// recorded as the caller heard it.
async fn to_caller(
    r: &CallerSide,
    p: &rtc::rtp::Packet,
    out: &mut Outbound,
    taps: &mut Taps,
    mixer: Option<&mut Mixer>,
) {
    if p.payload.len() > 1400 {
        return;
    }
    let mixed = mixer.and_then(|m| {
        m.heard_agent(&p.payload);
        m.into_caller(&p.payload)
    });
    let payload = mixed.as_deref().unwrap_or(&p.payload[..]);
    if let Some(rec) = &taps.recorder {
        taps.agent.push(r.law, payload, rec);
    }
    // The browser's clock, kept for the keys; its audio pauses while a key plays.
    out.last_ts = p.header.timestamp;
    if !out.keys.is_empty() {
        return;
    }
    let marker = p.header.marker || std::mem::take(&mut out.mark_next);
    send(r, out, marker, r.payload_type, p.header.timestamp, payload).await;
}

async fn send(r: &CallerSide, out: &mut Outbound, marker: bool, pt: u8, ts: u32, payload: &[u8]) {
    let mut buf = [0u8; 1412];
    rtp::write_header(&mut buf, marker, pt, out.seq, ts, out.ssrc);
    out.seq = out.seq.wrapping_add(1);
    let len = 12 + payload.len();
    buf[12..len].copy_from_slice(payload);
    match r.socket.send_to(&buf[..len], r.at).await {
        Ok(_) => {
            if let Some(q) = &r.quality {
                q.sent(ts, payload.len());
            }
        }
        Err(e) => tracing::debug!(error = %e, "RTP to the caller not sent"),
    }
}

fn queue_key(out: &mut Outbound, digit: char) {
    let Some(packets) = dtmf::key_packets(digit) else {
        return;
    };
    if out.keys.is_empty() {
        out.key_ts = out.last_ts.wrapping_add(160);
    }
    out.keys.extend(packets);
}

async fn send_key_packet(r: &CallerSide, out: &mut Outbound) {
    let Some(pt) = r.dtmf_payload_type else {
        out.keys.clear();
        return;
    };
    let Some(p) = out.keys.pop_front() else {
        return;
    };
    let ts = out.key_ts;
    send(r, out, p.marker, pt, ts, &p.payload).await;
    // A key following in the queue is a new event with a later timestamp.
    if p.payload[1] & 0x80 != 0 && out.keys.front().is_some_and(|n| n.marker) {
        out.key_ts = out.key_ts.wrapping_add(160 * 8);
        out.last_ts = out.key_ts;
    }
}

/// 20 ms of music on hold to the caller, on the stream's own clock, recorded on
/// the agent's side.
async fn send_music(r: &CallerSide, out: &mut Outbound, held: &mut Held, taps: &mut Taps) {
    let pcm = held.next_frame();
    let mut payload = [0u8; 160];
    crate::media::g711::encode(r.law, &pcm, &mut payload);
    if let Some(rec) = &taps.recorder {
        taps.agent.push(r.law, &payload, rec);
    }
    out.last_ts = out.last_ts.wrapping_add(160);
    let marker = std::mem::take(&mut out.mark_next);
    let ts = out.last_ts;
    send(r, out, marker, r.payload_type, ts, &payload).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hold_music_loops_and_silence_stands_in_for_none() {
        let mut h = Held {
            music: Arc::from(vec![1i16, 2, 3]),
            offset: 0,
        };
        let f = h.next_frame();
        assert_eq!(&f[..7], &[1, 2, 3, 1, 2, 3, 1]);
        assert_eq!(h.offset, 160 % 3);
        let mut quiet = Held {
            music: Arc::from(Vec::new()),
            offset: 0,
        };
        assert!(quiet.next_frame().iter().all(|s| *s == 0));
    }
}
