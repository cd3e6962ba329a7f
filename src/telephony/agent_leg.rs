//! The agent leg of a call (back-to-back): when routing assigns a queued call to
//! an agent whose phone is registered, the call dials that phone as a UAC on a
//! dialog of its own, and once it answers relays RTP between caller and agent.
//! Headers of one leg never reach the other.

use std::net::SocketAddr;

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::ivr_media::RecordTap;
use super::recording::{Frame, Side};
use super::rtcp_leg::QualityTap;
use crate::media::g711::Law;
use crate::media::rtp;
use crate::sdp::SessionDescription;
use crate::sip::uri::Uri;
use crate::sip::via::Via;
use crate::sip::{Message, Method};

/// Our SDP offer to the agent's phone: the caller's codec only, so the relay never
/// transcodes, plus telephone-event when the caller has it.
pub fn offer(local: SocketAddr, pt: u8, codec: &str, dtmf: Option<u8>, session: u64) -> String {
    let ip = local.ip();
    let kind = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let mut formats = pt.to_string();
    let mut attrs = format!("a=rtpmap:{pt} {codec}/8000\r\n");
    if let Some(d) = dtmf {
        formats.push_str(&format!(" {d}"));
        attrs.push_str(&format!(
            "a=rtpmap:{d} telephone-event/8000\r\na=fmtp:{d} 0-16\r\n"
        ));
    }
    format!(
        "v=0\r\no=switchboard {session} {session} IN {kind} {ip}\r\ns=switchboard\r\nc=IN {kind} {ip}\r\nt=0 0\r\nm=audio {} RTP/AVP {formats}\r\n{attrs}a=ptime:20\r\na=sendrecv\r\n",
        local.port()
    )
}

/// The INVITE to an agent's registered contact.
pub fn invite(
    target: &Uri,
    local_sip: SocketAddr,
    call_id: &str,
    tag: &str,
    branch: &str,
    caller: &str,
    sdp: String,
) -> Message {
    let mut m = Message::request(Method::Invite, target.clone());
    m.headers
        .push("Via", Via::new("UDP", local_sip, branch).to_string());
    m.headers.push("Max-Forwards", "70");
    m.headers.push(
        "From",
        format!("\"{caller}\" <sip:switchboard@{local_sip}>;tag={tag}"),
    );
    m.headers.push("To", format!("<{target}>"));
    m.headers.push("Call-ID", call_id);
    m.headers.push("CSeq", "1 INVITE");
    m.headers
        .push("Contact", format!("<sip:switchboard@{local_sip}>"));
    m.set_body("application/sdp", Bytes::from(sdp));
    m
}

/// Our request with `WS` as the transport of its Via, for a phone registered
/// over WebSocket (RFC 7118 §5).
pub fn over_websocket(mut req: Message) -> Message {
    if let Some(mut via) = req.top_via() {
        via.transport = "WS".into();
        req.headers.replace_first_element("Via", via.to_string());
    }
    req
}

/// The CANCEL for our pending INVITE (same Via branch, RFC 3261 §9.1).
pub fn cancel(invite: &Message) -> Option<Message> {
    let uri = invite.request_uri()?.clone();
    let mut c = Message::request(Method::Cancel, uri);
    for name in ["Via", "From", "To", "Call-ID"] {
        c.headers.push(name, invite.headers.get(name)?);
    }
    c.headers.push("Max-Forwards", "70");
    c.headers
        .push("CSeq", format!("{} CANCEL", invite.cseq()?.seq));
    Some(c)
}

/// Where the answer to our offer (in a 2xx) wants audio and RTCP, with the
/// answer itself.
pub fn answered_media(ok: &Message) -> Option<(SessionDescription, SocketAddr, SocketAddr)> {
    let answer = std::str::from_utf8(&ok.body)
        .ok()
        .and_then(|t| SessionDescription::parse(t).ok())?;
    let m = answer
        .media
        .iter()
        .find(|m| m.kind == "audio" && m.port != 0)?;
    let conn = m
        .connection
        .as_deref()
        .or(answer.connection.as_deref())
        .and_then(crate::sdp::session::connection_address)?;
    let rtp = SocketAddr::new(conn.parse().ok()?, m.port);
    let rtcp = super::rtcp_leg::peer_rtcp(&answer, rtp);
    Some((answer, rtp, rtcp))
}

/// What a final non-2xx answer to our INVITE means: `busy`, `no_answer` or `failed`.
pub fn refusal(code: u16) -> &'static str {
    match code {
        486 | 600 => "busy",
        408 | 480 | 487 | 603 => "no_answer",
        _ => "failed",
    }
}

/// One side of the relay: its RTP socket, where its peer is, and its RTCP
/// statistics.
pub struct RelaySide {
    pub socket: UdpSocket,
    pub at: SocketAddr,
    pub quality: Option<QualityTap>,
}

/// Relays RTP both ways until `stop`, latching each side to where its packets come
/// from; copies both sides' audio to the recorder without waiting. Hands the
/// caller's socket back, for whatever the call does next.
pub async fn relay(
    mut caller: RelaySide,
    mut agent: RelaySide,
    law: Law,
    recorder: Option<mpsc::Sender<Frame>>,
    stop: CancellationToken,
) -> UdpSocket {
    let (mut a, mut b) = ([0u8; 1500], [0u8; 1500]);
    let mut tap = RecordTap::new(Side::Caller);
    let mut agent_tap = RecordTap::new(Side::Agent);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            r = caller.socket.recv_from(&mut a) => {
                let Ok((n, from)) = r else { continue };
                let Ok(h) = rtp::parse(&a[..n]) else { continue };
                caller.at = from;
                if let Some(q) = &caller.quality {
                    q.received(&h, from);
                }
                if let Some(rec) = recorder.as_ref().filter(|_| Law::from_payload_type(h.payload_type).is_some()) {
                    tap.push(law, &a[h.payload_offset..h.payload_offset + h.payload_len], rec);
                }
                forward(&agent, &a[..n], h.payload_len).await;
            }
            r = agent.socket.recv_from(&mut b) => {
                let Ok((n, from)) = r else { continue };
                let Ok(h) = rtp::parse(&b[..n]) else { continue };
                agent.at = from;
                if let Some(q) = &agent.quality {
                    q.received(&h, from);
                }
                if let Some(rec) = recorder.as_ref().filter(|_| Law::from_payload_type(h.payload_type).is_some()) {
                    agent_tap.push(law, &b[h.payload_offset..h.payload_offset + h.payload_len], rec);
                }
                forward(&caller, &b[..n], h.payload_len).await;
            }
        }
    }
    caller.socket
}

/// Sends a packet of the other side on to `to`, counted as relayed.
async fn forward(to: &RelaySide, packet: &[u8], payload_len: usize) {
    if to.socket.send_to(packet, to.at).await.is_ok()
        && let Some(q) = &to.quality
    {
        q.relayed(payload_len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_and_cancel_are_well_formed() {
        let local: SocketAddr = "127.0.0.1:5060".parse().unwrap();
        let target = Uri::parse("sip:1001@127.0.0.1:5070").unwrap();
        let sdp = offer("127.0.0.1:20000".parse().unwrap(), 8, "PCMA", Some(101), 7);
        assert!(sdp.contains("m=audio 20000 RTP/AVP 8 101\r\n"));
        let inv = invite(
            &target,
            local,
            "leg-1",
            "t1",
            "z9hG4bKleg",
            "+8613800138000",
            sdp,
        );
        let parsed = crate::sip::parse::parse(&inv.to_bytes()).unwrap();
        assert_eq!(
            parsed.request_uri().unwrap().to_string(),
            "sip:1001@127.0.0.1:5070"
        );
        assert_eq!(
            over_websocket(parsed.clone()).top_via().unwrap().transport,
            "WS"
        );
        let c = cancel(&parsed).unwrap();
        assert_eq!(c.top_via().unwrap().branch(), Some("z9hG4bKleg"));
        assert_eq!(c.cseq().unwrap().to_string(), "1 CANCEL");
        assert!(crate::sip::parse::parse(&c.to_bytes()).is_ok());
    }
}
