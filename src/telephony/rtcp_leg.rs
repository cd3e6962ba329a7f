//! The RTCP shell of one SIP call leg: a task that owns the leg's RTCP socket
//! (RTP port + 1), sends the `media::rtcp` session's reports when due and feeds
//! it what the peer reports, latching to where the peer's RTCP comes from like
//! RTP. The media tasks feed the same session through a `QualityTap`, which
//! only takes a short lock and never waits on the network.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::call::Call;
use super::timeline_writer::CallRecord;
use crate::media::rtcp::{MIN_INTERVAL, QualitySummary, RtcpSession, SessionConfig};
use crate::media::rtp;
use crate::sdp::SessionDescription;
use crate::timeline::model::{CallLeg, CallQuality, EventPayload};

struct Shared {
    session: RtcpSession,
    /// Where the peer's RTP comes from (or, before any, where the SDP says).
    rtp_peer: SocketAddr,
}

/// What the media tasks of a leg tell its RTCP session.
#[derive(Clone)]
pub struct QualityTap(Arc<Mutex<Shared>>);

impl QualityTap {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A panic while holding the lock leaves plain counters: still usable.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An RTP packet accepted from the peer (after the latching rules).
    pub fn received(&self, h: &rtp::Header, from: SocketAddr) {
        let mut s = self.lock();
        s.session.handle_rtp(Instant::now(), h);
        s.rtp_peer = from;
    }

    /// An RTP packet we originated (our SSRC, `ts` its timestamp).
    pub fn sent(&self, ts: u32, payload_len: usize) {
        self.lock().session.on_sent(Instant::now(), ts, payload_len);
    }

    /// An RTP packet forwarded from the other leg, under its own SSRC.
    pub fn relayed(&self, payload_len: usize) {
        self.lock().session.on_relayed(payload_len);
    }

    /// The SSRC of the RTP the media tasks originate on this leg.
    pub fn ssrc(&self) -> u32 {
        self.lock().session.ssrc()
    }

    pub fn summary(&self) -> QualitySummary {
        self.lock().session.summary()
    }
}

/// Where the peer wants RTCP: its SDP's `a=rtcp` (RFC 3605), else RTP port + 1.
pub fn peer_rtcp(sdp: &SessionDescription, rtp_peer: SocketAddr) -> SocketAddr {
    let attr = sdp
        .media
        .iter()
        .find(|m| m.kind == "audio" && m.port == rtp_peer.port())
        .and_then(|m| m.attr_values("rtcp").next());
    let Some(value) = attr else {
        return SocketAddr::new(rtp_peer.ip(), rtp_peer.port().wrapping_add(1));
    };
    let mut parts = value.split_whitespace();
    let port = parts.next().and_then(|p| p.parse::<u16>().ok());
    let ip = parts.nth(2).and_then(|a| a.parse().ok());
    SocketAddr::new(
        ip.unwrap_or(rtp_peer.ip()),
        port.unwrap_or(rtp_peer.port().wrapping_add(1)),
    )
}

/// A leg's RTCP: its task and the tap into its session.
pub struct LegRtcp {
    tap: QualityTap,
    pub codec: &'static str,
    stop: CancellationToken,
    task: JoinHandle<()>,
}

/// How a leg's RTCP is set up.
pub struct LegSetup {
    pub remote_rtp: SocketAddr,
    /// The peer's RTCP address, from `peer_rtcp`.
    pub remote_rtcp: SocketAddr,
    pub payload_type: u8,
    pub codec: &'static str,
    pub symmetric: bool,
}

impl LegRtcp {
    /// Starts the leg's RTCP task on `socket`; it stops with `parent`.
    pub fn start(socket: UdpSocket, setup: LegSetup, parent: &CancellationToken) -> LegRtcp {
        let ssrc: u32 = rand::random();
        let local = socket.local_addr().map(|a| a.to_string());
        let cfg = SessionConfig {
            ssrc,
            cname: format!("switchboard@{}", local.unwrap_or_default()),
            clock_rate: 8000,
            payload_type: setup.payload_type,
            interval: MIN_INTERVAL,
        };
        let session = RtcpSession::new(cfg, Instant::now(), rand::random());
        let tap = QualityTap(Arc::new(Mutex::new(Shared {
            session,
            rtp_peer: setup.remote_rtp,
        })));
        let stop = parent.child_token();
        let peer = Peer {
            explicit: setup.remote_rtcp,
            default_port: setup.remote_rtcp.port() == setup.remote_rtp.port().wrapping_add(1),
            latched: None,
            symmetric: setup.symmetric,
        };
        let task = tokio::spawn(run(socket, tap.clone(), peer, stop.clone()));
        LegRtcp {
            tap,
            codec: setup.codec,
            stop,
            task,
        }
    }

    pub fn tap(&self) -> QualityTap {
        self.tap.clone()
    }

    /// Stops the task; the leg's quality over its life.
    pub async fn finish(self) -> QualitySummary {
        self.stop.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(1), self.task).await;
        self.tap.summary()
    }
}

/// Where the peer's RTCP goes.
struct Peer {
    explicit: SocketAddr,
    /// The SDP gave no `a=rtcp`: follow RTP's latching, port + 1.
    default_port: bool,
    latched: Option<SocketAddr>,
    symmetric: bool,
}

impl Peer {
    fn dest(&self, rtp_peer: SocketAddr) -> SocketAddr {
        match self.latched {
            Some(a) => a,
            None if self.default_port => {
                SocketAddr::new(rtp_peer.ip(), rtp_peer.port().wrapping_add(1))
            }
            None => self.explicit,
        }
    }

    /// Whether to take RTCP from `from`: anyone with symmetric latching, else
    /// only the address we send to (as for RTP).
    fn accepts(&self, from: SocketAddr, rtp_peer: SocketAddr) -> bool {
        self.symmetric || from == self.dest(rtp_peer)
    }
}

async fn run(socket: UdpSocket, tap: QualityTap, mut peer: Peer, stop: CancellationToken) {
    let mut buf = [0u8; 1500];
    loop {
        let due = tokio::time::Instant::from_std(tap.lock().session.poll_timeout());
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep_until(due) => {
                let (report, to) = {
                    let mut s = tap.lock();
                    (s.session.poll_transmit(Instant::now(), wall_clock()), peer.dest(s.rtp_peer))
                };
                match report {
                    // Like RTP: a report that cannot go out now is not retried.
                    Ok(Some(bytes)) => { let _ = socket.send_to(&bytes, to).await; }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "RTCP stopped on this leg; RTP goes on");
                        break;
                    }
                }
            }
            r = socket.recv_from(&mut buf) => {
                let Ok((n, from)) = r else { continue };
                receive(&tap, &mut peer, &buf[..n], from);
            }
        }
    }
}

fn receive(tap: &QualityTap, peer: &mut Peer, bytes: &[u8], from: SocketAddr) {
    let mut s = tap.lock();
    if !peer.accepts(from, s.rtp_peer) {
        return;
    }
    match s.session.handle_rtcp(Instant::now(), bytes) {
        Ok(()) => peer.latched = Some(from),
        Err(e) => tracing::debug!(error = %e, %from, "RTCP packet dropped"),
    }
}

impl Call {
    /// Stops a leg's RTCP and keeps its quality for the call's end.
    pub(super) async fn leg_ended(&mut self, leg: CallLeg, rtcp: LegRtcp) {
        let codec = rtcp.codec;
        let summary = rtcp.finish().await;
        self.ended_legs.push(quality_event(leg, codec, &summary));
    }

    /// At call end: one quality event per SIP leg, the caller's last.
    pub(super) async fn write_quality(&mut self) {
        if let Some(rtcp) = self.caller_quality.take() {
            self.leg_ended(CallLeg::Caller, rtcp).await;
        }
        for q in std::mem::take(&mut self.ended_legs) {
            self.ctx.stats.call_loss_percent.observe(q.loss_percent);
            self.ctx.stats.call_jitter_ms.observe(q.jitter_mean_ms);
            self.record(CallRecord::Event {
                call_id: self.call_id(),
                payload: EventPayload::CallQuality(q),
            });
        }
    }
}

/// The timeline's figures of a leg, rounded to what a person reads.
pub fn quality_event(leg: CallLeg, codec: &str, q: &QualitySummary) -> CallQuality {
    let round = |x: f64| (x * 100.0).round() / 100.0;
    CallQuality {
        leg,
        codec: codec.to_string(),
        packets_sent: q.packets_sent,
        packets_received: q.packets_received,
        packets_lost: q.packets_lost,
        loss_percent: round(q.loss_percent),
        jitter_mean_ms: round(q.jitter_mean_ms),
        jitter_max_ms: round(q.jitter_max_ms),
        rtt_mean_ms: q.rtt_mean_ms.map(round),
        rtt_max_ms: q.rtt_max_ms.map(round),
        rtcp_sent: q.rtcp_sent,
        rtcp_received: q.rtcp_received,
    }
}

fn wall_clock() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtcp_address_from_sdp_or_port_plus_one() {
        let rtp: SocketAddr = "10.0.0.1:4000".parse().unwrap();
        let sdp = |attr: &str| {
            let text = format!(
                "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8\r\n{attr}"
            );
            SessionDescription::parse(&text).unwrap()
        };
        assert_eq!(
            peer_rtcp(&sdp(""), rtp),
            "10.0.0.1:4001".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            peer_rtcp(&sdp("a=rtcp:5005\r\n"), rtp),
            "10.0.0.1:5005".parse::<SocketAddr>().unwrap()
        );
        assert_eq!(
            peer_rtcp(&sdp("a=rtcp:5005 IN IP4 10.0.0.9\r\n"), rtp),
            "10.0.0.9:5005".parse::<SocketAddr>().unwrap()
        );
    }

    #[tokio::test]
    async fn reports_go_to_rtp_port_plus_one_and_replies_are_read() {
        let peer_rtcp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let at = peer_rtcp.local_addr().unwrap();
        let remote_rtp = SocketAddr::new(at.ip(), at.port() - 1);
        let ours = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let setup = LegSetup {
            remote_rtp,
            remote_rtcp: at,
            payload_type: 8,
            codec: "PCMA",
            symmetric: true,
        };
        let stop = CancellationToken::new();
        let leg = LegRtcp::start(ours, setup, &stop);
        leg.tap().sent(160, 160);
        let mut buf = [0u8; 1500];
        let (n, from) = tokio::time::timeout(Duration::from_secs(8), peer_rtcp.recv_from(&mut buf))
            .await
            .expect("a report within the first interval")
            .unwrap();
        let mut bytes = bytes::Bytes::copy_from_slice(&buf[..n]);
        let packets = rtc::rtcp::packet::unmarshal(&mut bytes).unwrap();
        assert!(
            packets[0]
                .as_any()
                .is::<rtc::rtcp::sender_report::SenderReport>()
        );
        peer_rtcp.send_to(b"junk junk", from).await.unwrap();
        peer_rtcp.send_to(&buf[..n], from).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let q = leg.finish().await;
        assert_eq!((q.rtcp_sent, q.rtcp_received, q.packets_sent), (1, 1, 1));
    }
}
