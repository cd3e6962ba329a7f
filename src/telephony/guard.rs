//! Cheap checks before a request reaches the transaction layer or a call: known
//! scanners are dropped silently, exhausted Max-Forwards gets 483 (but not on an
//! OPTIONS, which we answer ourselves), option tags we do not support in Require
//! get 420, an INVITE whose Accept rules out SDP gets 406, and an offer of secure
//! RTP keyed in the SDP (SDES) only gets 488.

use crate::sip::{Message, Method};

/// User agents of SIP scanners; their requests get no answer at all.
const SCANNERS: &[&str] = &[
    "friendly-scanner",
    "sipvicious",
    "sipcli",
    "sip-scan",
    "sundayddr",
    "iwar",
    "sipsak",
];

/// Option tags we implement.
pub const SUPPORTED: &[&str] = &["replaces", "timer"];

/// The Warning (RFC 3261 §20.43, code 302: incompatible transport protocol) on
/// the 488 to an offer of SDES-keyed secure RTP only.
pub const SDES_MEDIA_WARNING: &str = "302 switchboard \"Incompatible transport protocol: secure RTP without a DTLS fingerprint (SDES) is not supported; offer RTP/AVP or WebRTC (UDP/TLS/RTP/SAVPF with a=fingerprint)\"";

pub fn is_scanner(msg: &Message) -> bool {
    msg.user_agent().is_some_and(|ua| {
        let ua = ua.to_ascii_lowercase();
        SCANNERS.iter().any(|s| ua.contains(s))
    })
}

/// True when Max-Forwards is exhausted on a request we would have to pass on.
/// An OPTIONS is answered here as its final recipient (RFC 3261 §16.3 step 3,
/// RFC 4475 §3.3.11), and an ACK is never answered.
pub fn hop_limit_reached(msg: &Message) -> bool {
    msg.max_forwards() == Some(0) && !matches!(msg.method(), Some(Method::Ack | Method::Options))
}

/// False when the request's Accept rules out the `application/sdp` our answer
/// carries: an Accept without it, or an empty one, which accepts nothing
/// (RFC 3261 §20.1, RFC 4475 §3.3.15). No Accept at all means SDP.
pub fn accepts_sdp(msg: &Message) -> bool {
    if msg.headers.get("Accept").is_none() {
        return true;
    }
    msg.headers.get_all("Accept").iter().any(|range| {
        let media = range.split(';').next().unwrap_or_default().trim();
        ["application/sdp", "application/*", "*/*"]
            .iter()
            .any(|m| media.eq_ignore_ascii_case(m))
    })
}

/// The Warning on a 406 to an INVITE whose Accept rules out SDP.
pub const ACCEPT_WARNING: &str =
    "399 switchboard \"Answers carry application/sdp, which the Accept header rules out\"";

/// Option tags in Require that we do not support.
pub fn unsupported_requirements(msg: &Message) -> Vec<String> {
    msg.require()
        .into_iter()
        .filter(|t| !SUPPORTED.iter().any(|s| s.eq_ignore_ascii_case(t)))
        .map(String::from)
        .collect()
}

/// True when the SDP offer's audio is only secure RTP not keyed by DTLS (no
/// fingerprint: SDES `a=crypto`), which we cannot answer; WebRTC offers
/// (`UDP/TLS/RTP/SAVPF` with a fingerprint) go to `webrtc_caller`.
pub fn sdes_only_offer(msg: &Message) -> bool {
    let Some(sdp) = std::str::from_utf8(&msg.body)
        .ok()
        .and_then(|t| crate::sdp::SessionDescription::parse(t).ok())
    else {
        return false;
    };
    let audio: Vec<&str> = sdp
        .media
        .iter()
        .filter(|m| m.kind == "audio" && m.port != 0)
        .map(|m| m.proto.as_str())
        .collect();
    !audio.is_empty()
        && !super::webrtc_caller::is_webrtc_offer(&sdp)
        && audio
            .iter()
            .all(|p| p.to_ascii_uppercase().contains("SAVP"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn msg(extra: &str) -> Message {
        let t = format!(
            "OPTIONS sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: c\r\nCSeq: 1 OPTIONS\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        crate::sip::parse::parse(&Bytes::from(t)).unwrap()
    }

    #[test]
    fn spots_scanners_and_requirements() {
        assert!(is_scanner(&msg("User-Agent: friendly-scanner\r\n")));
        assert!(is_scanner(&msg("User-Agent: SIPVicious 0.3\r\n")));
        assert!(!is_scanner(&msg("User-Agent: Linphone\r\n")));
        assert_eq!(
            unsupported_requirements(&msg("Require: timer, 100rel, foo\r\n")),
            vec!["100rel", "foo"]
        );
    }

    #[test]
    fn hop_limit_and_accept() {
        let zero = |method: &str| {
            let t = format!(
                "{method} sip:x@y SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:x@y>\r\nCall-ID: c\r\nCSeq: 1 {method}\r\nMax-Forwards: 0\r\nContent-Length: 0\r\n\r\n"
            );
            crate::sip::parse::parse(&Bytes::from(t)).unwrap()
        };
        assert!(hop_limit_reached(&zero("INVITE")));
        assert!(hop_limit_reached(&zero("BYE")));
        assert!(!hop_limit_reached(&zero("OPTIONS")));
        assert!(!hop_limit_reached(&zero("ACK")));
        assert!(!hop_limit_reached(&msg("")));
        assert!(accepts_sdp(&msg("")));
        assert!(accepts_sdp(&msg(
            "Accept: text/plain, Application/SDP;level=1\r\n"
        )));
        assert!(accepts_sdp(&msg("Accept: */*\r\n")));
        assert!(!accepts_sdp(&msg("Accept: text/nobodyKnowsThis\r\n")));
        assert!(!accepts_sdp(&msg("Accept:\r\n")));
    }

    #[test]
    fn spots_offers_of_webrtc_media_only() {
        let with_sdp = |media: &str| {
            let mut m = msg("");
            let sdp = format!(
                "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n{media}"
            );
            m.set_body("application/sdp", Bytes::from(sdp));
            m
        };
        assert!(sdes_only_offer(&with_sdp(
            "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\n"
        )));
        assert!(sdes_only_offer(&with_sdp(
            "m=audio 6000 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:x\r\n"
        )));
        // WebRTC: DTLS-SRTP with a fingerprint is answered through a gateway.
        assert!(!sdes_only_offer(&with_sdp(
            "m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na=fingerprint:sha-256 AB:CD\r\n"
        )));
        assert!(!sdes_only_offer(&with_sdp("m=audio 6000 RTP/AVP 0\r\n")));
        assert!(!sdes_only_offer(&with_sdp(
            "m=audio 6000 RTP/AVP 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
        )));
        assert!(!sdes_only_offer(&msg("")));
    }
}
