//! A caller whose SIP INVITE offers WebRTC media (the click-to-call page, or any
//! SIP-over-WebSocket softphone in a browser): this is their media gateway. It
//! answers the browser's offer with a `WebRtcPeer` (ICE-lite, DTLS-SRTP, one
//! G.711 law, no transcoding) and presents the call with a plain RTP leg on a
//! port pair of our own, so the IVR, queues, bridges, recording and transcription
//! treat a browser caller exactly like a phone. The task relays packets between
//! the two until the call stops it; if the browser's connection fails, or never
//! comes up, it tells the call, which hangs up.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::call::CallInput;
use super::rtp_port;
use crate::media::g711::Law;
use crate::media::rtp;
use crate::media::webrtc_peer::{PeerError, PeerEvent, WebRtcPeer};
use crate::sdp::SessionDescription;

/// How long the browser has to connect (ICE and DTLS) after our answer.
const CONNECT_WITHIN: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("no UDP port for the browser leg: {0}")]
    NoPort(#[from] rtp_port::NoPort),
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Peer(#[from] PeerError),
}

impl GatewayError {
    /// The SIP status for the INVITE: 488 for an offer we cannot take, else 503.
    pub fn status(&self) -> u16 {
        match self {
            GatewayError::Peer(_) => 488,
            _ => 503,
        }
    }
}

/// A started gateway.
pub struct Gateway {
    /// Our SDP answer, for the browser.
    pub answer: String,
    /// The plain RTP offer the call answers as if a phone had sent it.
    pub plain_offer: SessionDescription,
}

/// Where the gateway sits and whom it tells.
pub struct GatewaySetup {
    pub ip: IpAddr,
    pub ports: (u16, u16),
    /// The call's own RTP socket: the plain side's peer.
    pub call_rtp: SocketAddr,
    /// The call's input, told `MediaLost` when the browser goes.
    pub call: mpsc::WeakSender<CallInput>,
}

/// True when the offer's audio is WebRTC's: secure RTP keyed by DTLS (a fingerprint).
pub fn is_webrtc_offer(offer: &SessionDescription) -> bool {
    offer.media.iter().any(|m| {
        m.kind == "audio"
            && m.port != 0
            && m.proto.to_ascii_uppercase().contains("SAVP")
            && (m.attr_values("fingerprint").next().is_some()
                || offer
                    .attributes
                    .iter()
                    .any(|a| a.starts_with("fingerprint:")))
    })
}

/// Answers the browser's offer and starts relaying until `stop`.
pub async fn start(
    setup: GatewaySetup,
    offer: &str,
    stop: &CancellationToken,
) -> Result<Gateway, GatewayError> {
    let (min, max) = setup.ports;
    let browser = rtp_port::bind_rtp(setup.ip, min, max).await?;
    let (plain, plain_rtcp) = rtp_port::bind_pair(setup.ip, min, max).await?;
    let (peer, answer, law) =
        WebRtcPeer::answer_offer(Instant::now(), browser.local_addr()?, offer)?;
    let plain_offer = plain_offer(plain.local_addr()?, law);
    let relay = Relay {
        peer,
        browser,
        plain,
        call_rtp: setup.call_rtp,
        law,
        seq: rand::random(),
        ssrc: rand::random(),
        toward_browser: Continuity::new(),
    };
    tokio::spawn(relay.run(plain_rtcp, setup.call, stop.clone()));
    Ok(Gateway {
        answer,
        plain_offer,
    })
}

/// What a phone on `at` offering only `law` would have sent.
fn plain_offer(at: SocketAddr, law: Law) -> SessionDescription {
    let (family, pt, name) = match (at.is_ipv4(), law) {
        (true, Law::Ulaw) => ("IP4", 0, "PCMU"),
        (true, Law::Alaw) => ("IP4", 8, "PCMA"),
        (false, Law::Ulaw) => ("IP6", 0, "PCMU"),
        (false, Law::Alaw) => ("IP6", 8, "PCMA"),
    };
    let ip = at.ip();
    let text = format!(
        "v=0\r\no=- 0 0 IN {family} {ip}\r\ns=-\r\nc=IN {family} {ip}\r\nt=0 0\r\n\
         m=audio {} RTP/AVP {pt}\r\na=rtpmap:{pt} {name}/8000\r\na=sendrecv\r\n",
        at.port()
    );
    SessionDescription::parse(&text).expect("the plain offer we print parses")
}

struct Relay {
    peer: WebRtcPeer,
    /// The browser's side: STUN, DTLS, SRTP.
    browser: UdpSocket,
    /// The call's side: plain RTP.
    plain: UdpSocket,
    call_rtp: SocketAddr,
    law: Law,
    seq: u16,
    ssrc: u32,
    toward_browser: Continuity,
}

/// Toward the browser the call's audio comes from one source after another (IVR
/// prompts, an agent's relay, music on hold), each with its own sequence numbers
/// and clock; the browser must see one stream, or its jitter buffer drops the
/// packets of a source that starts "behind" the last. Sequence numbers are ours,
/// and a new source's timestamps are moved to follow on from the last packet.
struct Continuity {
    seq: u16,
    last_ts: u32,
    offset: u32,
    /// The current source: its SSRC and last sequence number.
    source: Option<(u32, u16)>,
}

impl Continuity {
    fn new() -> Continuity {
        Continuity {
            seq: rand::random(),
            last_ts: rand::random(),
            offset: 0,
            source: None,
        }
    }

    /// Our sequence number and timestamp for a packet, and whether it starts a
    /// new source (marker bit).
    fn next(&mut self, ssrc: u32, seq: u16, ts: u32) -> (u16, u32, bool) {
        let jumped = match self.source {
            Some((s, last)) => s != ssrc || seq.wrapping_sub(last) > 1000,
            None => true,
        };
        if jumped {
            self.offset = self.last_ts.wrapping_add(160).wrapping_sub(ts);
        }
        self.source = Some((ssrc, seq));
        self.seq = self.seq.wrapping_add(1);
        self.last_ts = ts.wrapping_add(self.offset);
        (self.seq, self.last_ts, jumped)
    }
}

impl Relay {
    async fn run(
        mut self,
        plain_rtcp: UdpSocket,
        call: mpsc::WeakSender<CallInput>,
        stop: CancellationToken,
    ) {
        let connect_by = tokio::time::Instant::now() + CONNECT_WITHIN;
        let (mut a, mut b, mut c) = ([0u8; 1500], [0u8; 1500], [0u8; 1500]);
        let lost = loop {
            self.flush().await;
            if let Some(cause) = self.events().await {
                break cause;
            }
            let wake = self
                .peer
                .poll_timeout()
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
            tokio::select! {
                _ = stop.cancelled() => break None,
                _ = tokio::time::sleep_until(connect_by), if !self.peer.is_connected() => {
                    break Some("webrtc_not_connected");
                }
                _ = tokio::time::sleep_until(wake.into()) => self.peer.handle_timeout(Instant::now()),
                got = self.browser.recv_from(&mut a) => {
                    if let Ok((n, from)) = got {
                        self.peer.handle_datagram(Instant::now(), from, &a[..n]);
                    }
                }
                got = self.plain.recv_from(&mut b) => {
                    if let Ok((n, from)) = got {
                        self.call_audio(&b[..n], from);
                    }
                }
                // The call's RTCP reports for the plain leg end here.
                _ = plain_rtcp.recv_from(&mut c) => {}
            }
        };
        self.peer.close();
        self.flush().await;
        if let (Some(cause), Some(call)) = (lost, call.upgrade()) {
            tracing::info!(cause, "the browser caller's media is gone");
            let _ = call.send(CallInput::MediaLost(cause.into())).await;
        }
    }

    /// Relays the browser's audio; returns a cause when the connection failed.
    async fn events(&mut self) -> Option<Option<&'static str>> {
        while let Some(ev) = self.peer.poll_event() {
            match ev {
                PeerEvent::Audio(p) => self.browser_audio(&p).await,
                PeerEvent::Connected => tracing::debug!("browser caller connected"),
                PeerEvent::Failed => return Some(Some("webrtc_failed")),
            }
        }
        None
    }

    async fn flush(&mut self) {
        while let Some((to, data)) = self.peer.poll_transmit() {
            if let Err(e) = self.browser.send_to(&data, to).await {
                tracing::debug!(error = %e, %to, "webrtc datagram not sent");
            }
        }
    }

    /// The call's audio (only from the call's own socket) to the browser.
    fn call_audio(&mut self, packet: &[u8], from: SocketAddr) {
        if from != self.call_rtp {
            return;
        }
        let Ok(h) = rtp::parse(packet) else { return };
        let payload = &packet[h.payload_offset..h.payload_offset + h.payload_len];
        if Law::from_payload_type(h.payload_type) != Some(self.law) {
            return;
        }
        let (seq, ts, marker) = self.toward_browser.next(h.ssrc, h.sequence, h.timestamp);
        self.peer
            .send_audio(Instant::now(), seq, ts, h.marker || marker, payload);
    }

    /// The browser's audio to the call, as plain RTP on our own sequence.
    async fn browser_audio(&mut self, p: &rtc::rtp::Packet) {
        if p.payload.len() > 1400 {
            return;
        }
        let mut buf = [0u8; 1412];
        let pt = p.header.payload_type;
        rtp::write_header(
            &mut buf,
            p.header.marker,
            pt,
            self.seq,
            p.header.timestamp,
            self.ssrc,
        );
        self.seq = self.seq.wrapping_add(1);
        let len = 12 + p.payload.len();
        buf[12..len].copy_from_slice(&p.payload);
        if let Err(e) = self.plain.send_to(&buf[..len], self.call_rtp).await {
            tracing::debug!(error = %e, "RTP to the call not sent");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_webrtc_offer_is_told_from_plain_and_sdes_ones() {
        let sdp = |proto: &str, extra: &str| {
            SessionDescription::parse(&format!(
                "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                 m=audio 9 {proto} 0\r\n{extra}"
            ))
            .unwrap()
        };
        assert!(is_webrtc_offer(&sdp(
            "UDP/TLS/RTP/SAVPF",
            "a=fingerprint:sha-256 AB:CD\r\n"
        )));
        assert!(!is_webrtc_offer(&sdp("RTP/AVP", "")));
        // SRTP keyed in the SDP (SDES) has no fingerprint: not ours to answer.
        assert!(!is_webrtc_offer(&sdp(
            "RTP/SAVP",
            "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x\r\n"
        )));
    }

    #[test]
    fn the_browser_sees_one_stream_across_sources() {
        let mut c = Continuity::new();
        let (s1, t1, m1) = c.next(7, 100, 8000);
        let (s2, t2, m2) = c.next(7, 101, 8160);
        assert!(m1 && !m2);
        assert_eq!((s2, t2), (s1.wrapping_add(1), t1.wrapping_add(160)));
        // Another source, far "behind" in both numbers: it follows on.
        let (s3, t3, m3) = c.next(9, 5, 123);
        assert!(m3);
        assert_eq!((s3, t3), (s2.wrapping_add(1), t2.wrapping_add(160)));
        let (_, t4, _) = c.next(9, 6, 283);
        assert_eq!(t4, t3.wrapping_add(160));
        // The same source jumping back: a new start as well.
        let (_, t5, m5) = c.next(9, 2, 0);
        assert!(m5);
        assert_eq!(t5, t4.wrapping_add(160));
    }

    #[test]
    fn the_plain_offer_names_the_law_and_the_port() {
        let o = plain_offer("127.0.0.1:40000".parse().unwrap(), Law::Alaw);
        let m = &o.media[0];
        assert_eq!((m.port, m.proto.as_str()), (40000, "RTP/AVP"));
        assert_eq!(m.formats, vec!["8".to_string()]);
        assert_eq!(o.connection.as_deref(), Some("IN IP4 127.0.0.1"));
    }
}
