//! RFC 3264 offer/answer for telephone audio: pick the first offered codec we
//! support, keep the offer's payload numbers, accept telephone-event, mirror the
//! direction, reject other media with port 0.

use std::net::{IpAddr, SocketAddr};

use super::session::{Media, SessionDescription, connection_address};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    #[error("no common codec")]
    NoCommonCodec,
    #[error("the offer has no usable audio stream")]
    NoAudio,
    #[error("the offer has no connection address")]
    NoAddress,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codec {
    pub name: &'static str,
    pub rate: u32,
    /// The static payload type, if the codec has one.
    pub static_pt: Option<u8>,
}

pub const PCMU: Codec = Codec {
    name: "PCMU",
    rate: 8000,
    static_pt: Some(0),
};
pub const PCMA: Codec = Codec {
    name: "PCMA",
    rate: 8000,
    static_pt: Some(8),
};

/// What we accept, in preference order.
#[derive(Debug, Clone)]
pub struct Capabilities {
    pub codecs: Vec<Codec>,
    pub dtmf: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            codecs: vec![PCMU, PCMA],
            dtmf: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn of(m: &Media, sd: &SessionDescription) -> Direction {
        let find = |attrs: &[String]| {
            attrs.iter().find_map(|a| match a.as_str() {
                "sendrecv" => Some(Direction::SendRecv),
                "sendonly" => Some(Direction::SendOnly),
                "recvonly" => Some(Direction::RecvOnly),
                "inactive" => Some(Direction::Inactive),
                _ => None,
            })
        };
        find(&m.attributes)
            .or_else(|| find(&sd.attributes))
            .unwrap_or(Direction::SendRecv)
    }

    fn mirrored(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            d => d,
        }
    }

    fn attr(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }
}

/// The outcome of a negotiation, for the media engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    pub remote: SocketAddr,
    pub codec: &'static str,
    pub payload_type: u8,
    pub dtmf_payload_type: Option<u8>,
    /// Our direction (what we may do).
    pub direction: Direction,
    /// True for an old-style hold (`c=0.0.0.0`).
    pub held: bool,
}

/// Builds our answer to `offer`, with our media at `local`.
pub fn answer(
    offer: &SessionDescription,
    local: SocketAddr,
    caps: &Capabilities,
    session_id: u64,
) -> Result<(SessionDescription, Negotiated), SdpError> {
    let audio_index = offer
        .media
        .iter()
        .position(|m| m.kind == "audio" && m.port != 0 && m.proto.starts_with("RTP/"))
        .ok_or(SdpError::NoAudio)?;
    let offered = &offer.media[audio_index];
    let conn = offered
        .connection
        .as_deref()
        .or(offer.connection.as_deref())
        .and_then(connection_address)
        .ok_or(SdpError::NoAddress)?;
    let ip: IpAddr = conn.parse().map_err(|_| SdpError::NoAddress)?;
    let (pt, codec) = choose_codec(offered, caps).ok_or(SdpError::NoCommonCodec)?;
    let dtmf = caps
        .dtmf
        .then(|| find_rtpmap(offered, "telephone-event", 8000))
        .flatten();
    let offered_dir = Direction::of(offered, offer);
    let held = ip.is_unspecified();
    let direction = if held {
        Direction::Inactive
    } else {
        offered_dir.mirrored()
    };
    let mut formats = vec![pt.to_string()];
    let mut attributes = vec![format!("rtpmap:{pt} {}/{}", codec.name, codec.rate)];
    if let Some(d) = dtmf {
        formats.push(d.to_string());
        attributes.push(format!("rtpmap:{d} telephone-event/8000"));
        attributes.push(format!("fmtp:{d} 0-16"));
    }
    attributes.push("ptime:20".into());
    attributes.push(direction.attr().into());
    let ours = Media {
        kind: "audio".into(),
        port: local.port(),
        proto: offered.proto.clone(),
        formats,
        attributes,
        ..Default::default()
    };
    let media = offer
        .media
        .iter()
        .enumerate()
        .map(|(i, m)| {
            if i == audio_index {
                ours.clone()
            } else {
                Media {
                    kind: m.kind.clone(),
                    port: 0,
                    proto: m.proto.clone(),
                    formats: m.formats.clone(),
                    ..Default::default()
                }
            }
        })
        .collect();
    let ipv = if local.is_ipv4() { "IP4" } else { "IP6" };
    let sd = SessionDescription {
        origin: format!(
            "switchboard {session_id} {session_id} IN {ipv} {}",
            local.ip()
        ),
        name: "switchboard".into(),
        connection: Some(format!("IN {ipv} {}", local.ip())),
        attributes: vec![],
        media,
        other: vec!["t=0 0".into()],
    };
    let negotiated = Negotiated {
        remote: SocketAddr::new(ip, offered.port),
        codec: codec.name,
        payload_type: pt,
        dtmf_payload_type: dtmf,
        direction,
        held,
    };
    Ok((sd, negotiated))
}

fn choose_codec(m: &Media, caps: &Capabilities) -> Option<(u8, Codec)> {
    for f in &m.formats {
        let Ok(pt) = f.parse::<u8>() else { continue };
        let mapped = m.attr_values("rtpmap").find_map(|v| {
            let (n, enc) = v.split_once(' ')?;
            (n.parse::<u8>().ok()? == pt).then_some(enc)
        });
        for c in &caps.codecs {
            let matches = match mapped {
                Some(enc) => {
                    let mut it = enc.split('/');
                    it.next().is_some_and(|n| n.eq_ignore_ascii_case(c.name))
                        && it.next().and_then(|r| r.parse().ok()) == Some(c.rate)
                }
                None => c.static_pt == Some(pt),
            };
            if matches {
                return Some((pt, c.clone()));
            }
        }
    }
    None
}

fn find_rtpmap(m: &Media, name: &str, rate: u32) -> Option<u8> {
    m.attr_values("rtpmap").find_map(|v| {
        let (n, enc) = v.split_once(' ')?;
        let mut it = enc.split('/');
        let ok = it.next()?.eq_ignore_ascii_case(name) && it.next()?.parse::<u32>().ok()? == rate;
        let pt = n.parse::<u8>().ok()?;
        (ok && m.formats.iter().any(|f| f == n)).then_some(pt)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(body: &str) -> SessionDescription {
        SessionDescription::parse(&format!(
            "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n{body}"
        ))
        .unwrap()
    }

    fn local() -> SocketAddr {
        "127.0.0.1:20000".parse().unwrap()
    }

    #[test]
    fn answers_sipp_pcmu() {
        let (sd, n) = answer(
            &offer("m=audio 6000 RTP/AVP 0\r\n"),
            local(),
            &Capabilities::default(),
            7,
        )
        .unwrap();
        assert_eq!(
            (n.codec, n.payload_type, n.dtmf_payload_type),
            ("PCMU", 0, None)
        );
        assert_eq!(
            n.remote,
            "10.0.0.1:6000".parse::<std::net::SocketAddr>().unwrap()
        );
        let text = sd.to_string();
        assert!(
            text.contains("m=audio 20000 RTP/AVP 0\r\n") && text.contains("a=sendrecv"),
            "{text}"
        );
    }

    #[test]
    fn keeps_offer_order_and_dynamic_dtmf() {
        let o = offer(
            "m=audio 6000 RTP/AVP 18 8 96\r\na=rtpmap:18 G729/8000\r\na=rtpmap:96 telephone-event/8000\r\n",
        );
        let (_, n) = answer(&o, local(), &Capabilities::default(), 1).unwrap();
        assert_eq!(
            (n.codec, n.payload_type, n.dtmf_payload_type),
            ("PCMA", 8, Some(96))
        );
    }

    #[test]
    fn hold_is_mirrored_and_video_rejected() {
        let o = offer("m=audio 6000 RTP/AVP 0\r\na=sendonly\r\nm=video 7000 RTP/AVP 31\r\n");
        let (sd, n) = answer(&o, local(), &Capabilities::default(), 1).unwrap();
        assert_eq!(n.direction, Direction::RecvOnly);
        assert_eq!(sd.media[1].port, 0);
        let old = SessionDescription::parse("v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n").unwrap();
        assert!(
            answer(&old, local(), &Capabilities::default(), 1)
                .unwrap()
                .1
                .held
        );
    }

    #[test]
    fn no_common_codec_is_an_error() {
        let o = offer("m=audio 6000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n");
        assert_eq!(
            answer(&o, local(), &Capabilities::default(), 1).unwrap_err(),
            SdpError::NoCommonCodec
        );
        let v = offer("m=video 6000 RTP/AVP 31\r\n");
        assert_eq!(
            answer(&v, local(), &Capabilities::default(), 1).unwrap_err(),
            SdpError::NoAudio
        );
    }
}
