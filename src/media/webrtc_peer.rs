//! A browser's audio leg as a sans-IO state machine: a WebRTC peer connection (the
//! `rtc` core of webrtc-rs: ICE-lite, DTLS-SRTP, RTCP) that offers only the G.711
//! law the other leg already uses, so audio passes both ways without transcoding.
//! It is fed datagrams and the other leg's RTP with the time they happened, and
//! gives back datagrams to send, events and its next timeout; `media::webrtc_relay`
//! owns the sockets.

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

impl WebRtcPeer {
    /// A peer on `local` (a bound UDP address) and its SDP offer.
    pub fn offer(
        now: Instant,
        local: SocketAddr,
        law: Law,
    ) -> Result<(WebRtcPeer, String), PeerError> {
        let codec = codec(law);
        let mut media = MediaEngine::default();
        media.register_codec(codec.clone(), RtpCodecKind::Audio)?;
        let registry = register_default_interceptors(Registry::new(), &mut media)?;
        let settings = SettingEngineBuilder::new()
            .with_lite(true)
            .with_include_loopback_candidate(true)
            .build();
        let mut pc = RTCPeerConnectionBuilder::new()
            .with_setting_engine(settings)
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            .build(now)?;
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
        let sender = pc.add_track(track)?;
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
        let offer = pc.create_offer(None)?;
        pc.set_local_description(now, offer.clone())?;
        let sdp = pc.local_description().map(|d| d.sdp).unwrap_or(offer.sdp);
        let peer = WebRtcPeer {
            pc,
            local,
            sender,
            ssrc,
            payload_type: codec.payload_type,
            connected: false,
            failed: false,
            events: Default::default(),
        };
        Ok((peer, sdp))
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
