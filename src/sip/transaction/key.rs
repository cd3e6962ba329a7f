//! Transaction identity (RFC 3261 §17.1.3, §17.2.3): the top Via branch with the
//! sent-by and method for RFC 3261 peers; a key built from Call-ID, tags, CSeq and
//! Via for RFC 2543 peers whose branch lacks the magic cookie.

use crate::sip::message::Message;
use crate::sip::method::Method;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TxKey(pub String);

impl TxKey {
    /// The key of the server transaction a request belongs to. ACK belongs to the
    /// INVITE transaction it acknowledges; CANCEL has its own.
    pub fn server(msg: &Message) -> Option<TxKey> {
        let via = msg.top_via()?;
        let method = match msg.method()? {
            Method::Ack => Method::Invite,
            m => m,
        };
        if via.has_rfc3261_branch() {
            return Some(TxKey(format!(
                "s|{}|{}|{}",
                via.branch()?,
                via.sent_by(),
                method
            )));
        }
        // RFC 2543: Request-URI, From tag, Call-ID, CSeq number and top Via. The To
        // tag is left out so the ACK of a non-2xx (which has it) still matches.
        let cseq = msg.cseq()?;
        let uri = msg.request_uri().map(|u| u.to_string()).unwrap_or_default();
        let from_tag = msg
            .from()
            .and_then(|f| f.tag().map(String::from))
            .unwrap_or_default();
        Some(TxKey(format!(
            "s2543|{uri}|{from_tag}|{}|{}|{}|{}",
            msg.call_id()?,
            cseq.seq,
            via,
            method
        )))
    }

    /// The key of the client transaction a response belongs to.
    pub fn client(msg: &Message) -> Option<TxKey> {
        let via = msg.top_via()?;
        let method = msg.cseq()?.method;
        Some(TxKey(format!("c|{}|{}", via.branch()?, method)))
    }

    /// The key of a client transaction for a request we send (CANCEL and ACK keep
    /// their own method).
    pub fn for_sent_request(msg: &Message) -> Option<TxKey> {
        let via = msg.top_via()?;
        Some(TxKey(format!("c|{}|{}", via.branch()?, msg.method()?)))
    }

    /// For a CANCEL, the key of the INVITE server transaction it cancels.
    pub fn cancelled_invite(cancel: &Message) -> Option<TxKey> {
        let mut invite = cancel.clone();
        if let crate::sip::message::StartLine::Request { method, .. } = &mut invite.start {
            *method = Method::Invite;
        }
        let seq = cancel.cseq()?.seq;
        invite.headers.set("CSeq", format!("{seq} INVITE"));
        TxKey::server(&invite)
    }
}
