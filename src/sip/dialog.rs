//! Dialogs (RFC 3261 §12): identity (Call-ID and tags), route set, CSeq in both
//! directions, the remote target, and building in-dialog requests. A UAS dialog
//! is made from an INVITE and our 2xx; a UAC dialog from our INVITE and their 2xx.

use std::net::SocketAddr;

use super::message::Message;
use super::method::Method;
use super::name_addr::NameAddr;
use super::uri::Uri;
use super::via::Via;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DialogError {
    #[error("the request lacks {0}")]
    Missing(&'static str),
    #[error("CSeq {got} is lower than {last}")]
    CSeqTooLow { got: u32, last: u32 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: Option<String>,
    /// Our From/To value (with our tag) and theirs, as they go in requests we send.
    pub local: NameAddr,
    pub remote: NameAddr,
    pub remote_target: Uri,
    pub route_set: Vec<String>,
    pub local_cseq: u32,
    pub remote_cseq: u32,
    /// Where in-dialog requests go (the transport address of the remote target
    /// or first route, or the address the INVITE came from).
    pub peer: SocketAddr,
}

impl Dialog {
    /// The UAS side of a dialog created by `invite`, answered with `local_tag`.
    pub fn uas(
        invite: &Message,
        local_tag: &str,
        source: SocketAddr,
    ) -> Result<Dialog, DialogError> {
        let call_id = invite
            .call_id()
            .ok_or(DialogError::Missing("Call-ID"))?
            .to_string();
        let remote = invite.from().ok_or(DialogError::Missing("From"))?;
        let local = invite
            .to()
            .ok_or(DialogError::Missing("To"))?
            .with_tag(local_tag);
        let remote_target = invite
            .contact()
            .map(|c| c.uri)
            .unwrap_or_else(|| remote.uri.clone());
        let route_set: Vec<String> = invite
            .headers
            .get_all("Record-Route")
            .into_iter()
            .map(String::from)
            .collect();
        let remote_cseq = invite.cseq().ok_or(DialogError::Missing("CSeq"))?.seq;
        Ok(Dialog {
            call_id,
            local_tag: local_tag.to_string(),
            remote_tag: remote.tag().map(String::from),
            local,
            remote,
            remote_target,
            route_set,
            local_cseq: 1,
            remote_cseq,
            peer: source,
        })
    }

    /// The UAC side of a dialog from our `invite`, sent to `peer`, and their 2xx.
    pub fn uac(invite: &Message, ok: &Message, peer: SocketAddr) -> Result<Dialog, DialogError> {
        let call_id = invite
            .call_id()
            .ok_or(DialogError::Missing("Call-ID"))?
            .to_string();
        let local = invite.from().ok_or(DialogError::Missing("From"))?;
        let remote = ok.to().ok_or(DialogError::Missing("To"))?;
        let remote_target = ok
            .contact()
            .map(|c| c.uri)
            .unwrap_or_else(|| remote.uri.clone());
        let mut route_set: Vec<String> = ok
            .headers
            .get_all("Record-Route")
            .into_iter()
            .map(String::from)
            .collect();
        route_set.reverse();
        Ok(Dialog {
            call_id,
            local_tag: local.tag().unwrap_or_default().to_string(),
            remote_tag: remote.tag().map(String::from),
            local,
            remote,
            remote_target,
            route_set,
            local_cseq: invite.cseq().ok_or(DialogError::Missing("CSeq"))?.seq,
            remote_cseq: 0,
            peer,
        })
    }

    /// The ACK for a 2xx to our INVITE with CSeq `seq` (RFC 3261 §13.2.2.4).
    pub fn ack(&self, seq: u32, via_addr: SocketAddr, branch: &str) -> Message {
        let mut ack = Message::request(Method::Ack, self.remote_target.clone());
        ack.headers
            .push("Via", Via::new("UDP", via_addr, branch).to_string());
        ack.headers.push("Max-Forwards", "70");
        for r in &self.route_set {
            ack.headers.push("Route", r.clone());
        }
        ack.headers.push("From", self.local.to_string());
        ack.headers.push("To", self.remote.to_string());
        ack.headers.push("Call-ID", self.call_id.clone());
        ack.headers.push("CSeq", format!("{seq} ACK"));
        ack
    }

    /// True when `msg` belongs to this dialog (Call-ID and both tags).
    pub fn matches(&self, msg: &Message) -> bool {
        let ours = msg.to().and_then(|t| t.tag().map(String::from));
        let theirs = msg.from().and_then(|f| f.tag().map(String::from));
        msg.call_id() == Some(self.call_id.as_str())
            && ours.as_deref() == Some(self.local_tag.as_str())
            && theirs == self.remote_tag
    }

    /// Checks and records the CSeq of an in-dialog request (§12.2.2). ACK and
    /// CANCEL reuse the INVITE's number.
    pub fn accept_request(&mut self, req: &Message) -> Result<(), DialogError> {
        let cseq = req.cseq().ok_or(DialogError::Missing("CSeq"))?;
        if matches!(cseq.method, Method::Ack | Method::Cancel) {
            return Ok(());
        }
        if cseq.seq <= self.remote_cseq && cseq.method != Method::Invite
            || cseq.seq < self.remote_cseq
        {
            return Err(DialogError::CSeqTooLow {
                got: cseq.seq,
                last: self.remote_cseq,
            });
        }
        self.remote_cseq = cseq.seq;
        if cseq.method == Method::Invite
            && let Some(c) = req.contact()
        {
            self.remote_target = c.uri;
        }
        Ok(())
    }

    /// A new in-dialog request from us (BYE, re-INVITE, INFO), with a fresh branch.
    pub fn request(&mut self, method: Method, via_addr: SocketAddr, branch: &str) -> Message {
        self.local_cseq += 1;
        let mut req = Message::request(method.clone(), self.remote_target.clone());
        req.headers
            .push("Via", Via::new("UDP", via_addr, branch).to_string());
        req.headers.push("Max-Forwards", "70");
        for r in &self.route_set {
            req.headers.push("Route", r.clone());
        }
        req.headers.push("From", self.local.to_string());
        req.headers.push("To", self.remote.to_string());
        req.headers.push("Call-ID", self.call_id.clone());
        req.headers
            .push("CSeq", format!("{} {method}", self.local_cseq));
        req
    }
}

/// A random tag or branch suffix.
pub fn random_token() -> String {
    use rand::Rng;
    let n: u64 = rand::rng().random();
    format!("{n:016x}")
}

/// A fresh RFC 3261 branch.
pub fn new_branch() -> String {
    format!("{}{}", super::via::MAGIC_COOKIE, random_token())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::parse::parse;
    use bytes::Bytes;

    fn invite() -> Message {
        let t = "INVITE sip:9999@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK1\r\n\
                 Record-Route: <sip:proxy.example;lr>\r\nFrom: <sip:a@x>;tag=ft\r\nTo: <sip:9999@127.0.0.1>\r\n\
                 Call-ID: c1\r\nCSeq: 10 INVITE\r\nContact: <sip:a@127.0.0.1:5061>\r\nContent-Length: 0\r\n\r\n";
        parse(&Bytes::from(t)).unwrap()
    }

    #[test]
    fn uas_dialog_builds_bye_to_the_contact_with_routes() {
        let src = "127.0.0.1:5061".parse().unwrap();
        let mut d = Dialog::uas(&invite(), "lt", src).unwrap();
        let bye = d.request(Method::Bye, "127.0.0.1:5060".parse().unwrap(), "z9hG4bKb");
        assert_eq!(
            bye.request_uri().unwrap().to_string(),
            "sip:a@127.0.0.1:5061"
        );
        assert_eq!(bye.headers.get("Route"), Some("<sip:proxy.example;lr>"));
        assert_eq!(bye.from().unwrap().tag(), Some("lt"));
        assert_eq!(bye.to().unwrap().tag(), Some("ft"));
        assert_eq!(bye.cseq().unwrap().seq, 2);
    }

    #[test]
    fn rejects_old_cseq_and_refreshes_target() {
        let src = "127.0.0.1:5061".parse().unwrap();
        let inv = invite();
        let mut d = Dialog::uas(&inv, "lt", src).unwrap();
        let mut bye = inv.clone();
        bye.start = crate::sip::StartLine::Request {
            method: Method::Bye,
            uri: Uri::parse("sip:x@y").unwrap(),
        };
        bye.headers.set("CSeq", "9 BYE");
        bye.headers.set("To", "<sip:9999@127.0.0.1>;tag=lt");
        assert!(d.matches(&bye));
        assert_eq!(
            d.accept_request(&bye),
            Err(DialogError::CSeqTooLow { got: 9, last: 10 })
        );
        let mut reinvite = inv;
        reinvite.headers.set("CSeq", "11 INVITE");
        reinvite.headers.set("Contact", "<sip:a@10.0.0.9:5070>");
        d.accept_request(&reinvite).unwrap();
        assert_eq!(d.remote_target.host, "10.0.0.9");
    }
}
