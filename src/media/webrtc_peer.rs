//! A browser's audio leg as a sans-IO state machine: a WebRTC peer connection (the
//! `rtc` core of webrtc-rs: ICE-lite, DTLS-SRTP, RTCP) with one G.711 codec, so
//! audio passes to and from the other leg without transcoding. Toward an agent's
//! softphone it offers the law the caller's leg already uses; a caller on the
//! click-to-call page offers, and it answers with the first law that offer lists.
//! It is fed datagrams and the other leg's RTP with the time they happened, and
//! gives back datagrams to send, events and its next timeout;
//! `telephony::browser_relay` and `telephony::webrtc_caller` own the sockets.

use std::net::SocketAddr;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use rtc::interceptor::Registry;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_PCMA, MIME_TYPE_PCMU, MediaEngine,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::event::RTCPeerConnectionEvent;
use rtc::peer_connection::message::RTCMessage;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::state::RTCPeerConnectionState;
use rtc::peer_connection::transport::{CandidateConfig, CandidateHostConfig, RTCIceCandidate};
use rtc::peer_connection::{RTCPeerConnection, RTCPeerConnectionBuilder};
use rtc::rtp_transceiver::RTCRtpSenderId;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use rtc::sansio::Protocol;
use rtc::shared::{TaggedBytesMut, TransportContext, TransportProtocol};

use super::g711::Law;

#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("webrtc: {0}")]
    Rtc(#[from] rtc::shared::error::Error),
    #[error("the peer connection has no audio sender")]
    NoSender,
    #[error("the offer has no G.711 audio (PCMU or PCMA)")]
    NoCodec,
}

/// What the peer reports to the call.
#[derive(Debug)]
pub enum PeerEvent {
    /// ICE and DTLS are up: audio can flow.
    Connected,
    /// The connection failed or closed (ICE timeout, DTLS alert, page gone).
    Failed,
    /// Audio from the browser, decrypted.
    Audio(rtc::rtp::Packet),
}

pub struct WebRtcPeer {
    pc: RTCPeerConnection,
    local: SocketAddr,
    sender: RTCRtpSenderId,
    ssrc: u32,
    payload_type: u8,
    connected: bool,
    failed: bool,
    events: std::collections::VecDeque<PeerEvent>,
}

fn codec(law: Law) -> RTCRtpCodecParameters {
    let (mime, payload_type) = match law {
        Law::Ulaw => (MIME_TYPE_PCMU, 0),
        Law::Alaw => (MIME_TYPE_PCMA, 8),
    };
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: mime.to_owned(),
            clock_rate: 8000,
            channels: 0,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![],
        },
        payload_type,
    }
}

/// The first G.711 law in the offer's audio formats, in the offer's order.
fn offered_law(offer: &str) -> Option<Law> {
    let sdp = crate::sdp::SessionDescription::parse(offer).ok()?;
    let audio = sdp
        .media
        .iter()
        .find(|m| m.kind == "audio" && m.port != 0)?;
    audio.formats.iter().find_map(|pt| {
        let prefix = format!("{pt} ");
        let name = audio
            .attr_values("rtpmap")
            .find_map(|v| v.strip_prefix(prefix.as_str()))
            .map(|n| n.to_ascii_uppercase());
        match (pt.as_str(), name.as_deref()) {
            (_, Some("PCMU/8000")) | ("0", None) => Some(Law::Ulaw),
            (_, Some("PCMA/8000")) | ("8", None) => Some(Law::Alaw),
            _ => None,
        }
    })
}

/// An ICE-lite peer connection that knows only `codec`.
fn connection(now: Instant, codec: &RTCRtpCodecParameters) -> Result<RTCPeerConnection, PeerError> {
    let mut media = MediaEngine::default();
    media.register_codec(codec.clone(), RtpCodecKind::Audio)?;
    let registry = register_default_interceptors(Registry::new(), &mut media)?;
    let settings = SettingEngineBuilder::new()
        .with_lite(true)
        .with_include_loopback_candidate(true)
        .build();
    Ok(RTCPeerConnectionBuilder::new()
        .with_setting_engine(settings)
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .build(now)?)
}

/// Our audio track, with a random SSRC.
fn add_sender(
    pc: &mut RTCPeerConnection,
    codec: &RTCRtpCodecParameters,
) -> Result<(RTCRtpSenderId, u32), PeerError> {
    let ssrc = rand::random::<u32>();
    let track = MediaStreamTrack::new(
        "switchboard".to_owned(),
        format!("caller-{ssrc:08x}"),
        "caller".to_owned(),
        RtpCodecKind::Audio,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec: codec.rtp_codec.clone(),
            ..Default::default()
        }],
    );
    Ok((pc.add_track(track)?, ssrc))
}

/// The one host candidate: the bound socket's address.
fn add_host_candidate(pc: &mut RTCPeerConnection, local: SocketAddr) -> Result<(), PeerError> {
    let host = CandidateHostConfig {
        base_config: CandidateConfig {
            network: "udp".to_owned(),
            address: local.ip().to_string(),
            port: local.port(),
            component: 1,
            ..Default::default()
        },
        ..Default::default()
    }
    .new_candidate_host()?;
    pc.add_local_candidate(RTCIceCandidate::from(&host).to_json()?)?;
    Ok(())
}

impl WebRtcPeer {
    /// A peer on `local` (a bound UDP address) and its SDP offer.
    pub fn offer(
        now: Instant,
        local: SocketAddr,
        law: Law,
    ) -> Result<(WebRtcPeer, String), PeerError> {
        let codec = codec(law);
        let mut pc = connection(now, &codec)?;
        let (sender, ssrc) = add_sender(&mut pc, &codec)?;
        add_host_candidate(&mut pc, local)?;
        let offer = pc.create_offer(None)?;
        pc.set_local_description(now, offer.clone())?;
        let sdp = pc.local_description().map(|d| d.sdp).unwrap_or(offer.sdp);
        Ok((WebRtcPeer::new(pc, local, sender, ssrc, &codec), sdp))
    }

    /// A peer on `local` answering a browser's SDP offer (a caller on the
    /// click-to-call page): it takes the first G.711 law the offer lists and
    /// returns the peer, its SDP answer and that law; an offer without G.711
    /// audio is refused with `NoCodec`.
    pub fn answer_offer(
        now: Instant,
        local: SocketAddr,
        offer: &str,
    ) -> Result<(WebRtcPeer, String, Law), PeerError> {
        let law = offered_law(offer).ok_or(PeerError::NoCodec)?;
        let codec = codec(law);
        let mut pc = connection(now, &codec)?;
        pc.set_remote_description(now, RTCSessionDescription::offer(offer.to_owned())?)?;
        let (sender, ssrc) = add_sender(&mut pc, &codec)?;
        add_host_candidate(&mut pc, local)?;
        let answer = pc.create_answer(None)?;
        pc.set_local_description(now, answer.clone())?;
        let sdp = pc.local_description().map(|d| d.sdp).unwrap_or(answer.sdp);
        let mut peer = WebRtcPeer::new(pc, local, sender, ssrc, &codec);
        peer.drain_events();
        Ok((peer, sdp, law))
    }

    fn new(
        pc: RTCPeerConnection,
        local: SocketAddr,
        sender: RTCRtpSenderId,
        ssrc: u32,
        codec: &RTCRtpCodecParameters,
    ) -> WebRtcPeer {
        WebRtcPeer {
            pc,
            local,
            sender,
            ssrc,
            payload_type: codec.payload_type,
            connected: false,
            failed: false,
            events: Default::default(),
        }
    }

    /// The browser's SDP answer.
    pub fn answer(&mut self, now: Instant, sdp: String) -> Result<(), PeerError> {
        let answer = RTCSessionDescription::answer(sdp)?;
        self.pc.set_remote_description(now, answer)?;
        self.drain_events();
        Ok(())
    }

    /// A datagram that arrived on the peer's socket (STUN, DTLS, SRTP, SRTCP).
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, data: &[u8]) {
        let msg = TaggedBytesMut {
            now,
            transport: TransportContext {
                local_addr: self.local,
                peer_addr: from,
                ecn: None,
                transport_protocol: TransportProtocol::UDP,
            },
            message: BytesMut::from(data),
        };
        if let Err(e) = self.pc.handle_read(msg) {
            tracing::debug!(error = %e, %from, "webrtc datagram refused");
        }
        self.drain_events();
    }

    /// Audio from the other leg (G.711 payload of one RTP packet) to the browser.
    /// Before the connection is up there is nowhere to send it: it is dropped.
    pub fn send_audio(
        &mut self,
        now: Instant,
        seq: u16,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
    ) {
        if !self.connected {
            return;
        }
        let packet = rtc::rtp::Packet {
            header: rtc::rtp::header::Header {
                version: 2,
                marker,
                payload_type: self.payload_type,
                sequence_number: seq,
                timestamp,
                ssrc: self.ssrc,
                ..Default::default()
            },
            payload: Bytes::copy_from_slice(payload),
        };
        let Some(mut sender) = self.pc.rtp_sender(self.sender) else {
            return;
        };
        if let Err(e) = sender.write_rtp(now, packet) {
            tracing::debug!(error = %e, "audio to the browser not sent");
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if let Err(e) = self.pc.handle_timeout(now) {
            tracing::debug!(error = %e, "webrtc timer");
        }
        self.drain_events();
    }

    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.pc.poll_timeout()
    }

    /// The next datagram to send, and where.
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, BytesMut)> {
        self.pc
            .poll_write()
            .map(|m| (m.transport.peer_addr, m.message))
    }

    pub fn poll_event(&mut self) -> Option<PeerEvent> {
        self.events.pop_front()
    }

    pub fn is_connected(&self) -> bool {
        self.connected
    }

    pub fn close(&mut self) {
        if let Err(e) = self.pc.close() {
            tracing::debug!(error = %e, "webrtc close");
        }
    }

    fn drain_events(&mut self) {
        while let Some(ev) = self.pc.poll_event() {
            if let RTCPeerConnectionEvent::OnConnectionStateChangeEvent(state) = ev {
                self.state_changed(state);
            }
        }
        while let Some(m) = self.pc.poll_read() {
            if let RTCMessage::RtpPacket(_, packet) = m.message {
                self.events.push_back(PeerEvent::Audio(packet));
            }
        }
    }

    fn state_changed(&mut self, state: RTCPeerConnectionState) {
        match state {
            RTCPeerConnectionState::Connected if !self.connected => {
                self.connected = true;
                self.events.push_back(PeerEvent::Connected);
            }
            RTCPeerConnectionState::Failed | RTCPeerConnectionState::Closed if !self.failed => {
                self.failed = true;
                self.connected = false;
                self.events.push_back(PeerEvent::Failed);
            }
            _ => {}
        }
    }
}
