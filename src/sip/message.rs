//! A SIP message (request or response): start line, headers, body, with typed
//! access to the headers a B2BUA needs and builders for responses.

use bytes::Bytes;

use super::cseq::CSeq;
use super::headers::Headers;
use super::method::Method;
use super::name_addr::NameAddr;
use super::uri::Uri;
use super::via::Via;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    Request { method: Method, uri: Uri },
    Response { code: u16, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub start: StartLine,
    pub headers: Headers,
    pub body: Bytes,
}

impl Message {
    pub fn request(method: Method, uri: Uri) -> Message {
        Message {
            start: StartLine::Request { method, uri },
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The request method, or for a response the method in its CSeq.
    pub fn method(&self) -> Option<Method> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method.clone()),
            StartLine::Response { .. } => self.cseq().map(|c| c.method),
        }
    }

    pub fn request_uri(&self) -> Option<&Uri> {
        match &self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response { code, .. } => Some(*code),
            StartLine::Request { .. } => None,
        }
    }

    pub fn call_id(&self) -> Option<&str> {
        self.headers.get("Call-ID")
    }

    pub fn cseq(&self) -> Option<CSeq> {
        self.headers.get("CSeq").and_then(CSeq::parse)
    }

    pub fn top_via(&self) -> Option<Via> {
        self.headers
            .get_all("Via")
            .first()
            .and_then(|v| Via::parse(v).ok())
    }

    pub fn from(&self) -> Option<NameAddr> {
        self.headers
            .get("From")
            .and_then(|v| NameAddr::parse(v).ok())
    }

    pub fn to(&self) -> Option<NameAddr> {
        self.headers.get("To").and_then(|v| NameAddr::parse(v).ok())
    }

    pub fn contact(&self) -> Option<NameAddr> {
        self.headers
            .get_all("Contact")
            .first()
            .and_then(|v| NameAddr::parse(v).ok())
    }

    pub fn max_forwards(&self) -> Option<u32> {
        self.headers
            .get("Max-Forwards")
            .and_then(|v| v.trim().parse().ok())
    }

    pub fn content_type(&self) -> Option<&str> {
        self.headers.get("Content-Type")
    }

    pub fn user_agent(&self) -> Option<&str> {
        self.headers.get("User-Agent")
    }

    /// Option tags in `Require`.
    pub fn require(&self) -> Vec<&str> {
        self.headers.get_all("Require")
    }

    /// Builds a response to this request (RFC 3261 §8.2.6): Via, From, To, Call-ID
    /// and CSeq copied; `to_tag` added to To when it has none.
    pub fn response(&self, code: u16, reason: &str, to_tag: Option<&str>) -> Message {
        Message::response_to(&self.headers, code, reason, to_tag)
    }

    /// A response to a request of which only `headers` are known (one whose
    /// start line did not parse): what `response` builds, from those alone.
    pub fn response_to(
        headers: &Headers,
        code: u16,
        reason: &str,
        to_tag: Option<&str>,
    ) -> Message {
        let mut out = Headers::new();
        for via in headers.lines("Via") {
            out.push("Via", via.value.clone());
        }
        if let Some(from) = headers.get("From") {
            out.push("From", from);
        }
        if let Some(to) = headers.get("To") {
            let untagged = NameAddr::parse(to).is_ok_and(|na| na.tag().is_none());
            let to = match to_tag {
                Some(tag) if untagged => format!("{to};tag={tag}"),
                _ => to.to_string(),
            };
            out.push("To", to);
        }
        for name in ["Call-ID", "CSeq"] {
            if let Some(v) = headers.get(name) {
                out.push(name, v);
            }
        }
        Message {
            start: StartLine::Response {
                code,
                reason: reason.to_string(),
            },
            headers: out,
            body: Bytes::new(),
        }
    }

    /// Sets the body and its Content-Type and Content-Length.
    pub fn set_body(&mut self, content_type: &str, body: Bytes) {
        self.headers.set("Content-Type", content_type);
        self.body = body;
    }

    /// The message on the wire, with a Content-Length that matches the body.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = String::with_capacity(512 + self.body.len());
        match &self.start {
            StartLine::Request { method, uri } => {
                out.push_str(&format!("{method} {uri} SIP/2.0\r\n"))
            }
            StartLine::Response { code, reason } => {
                out.push_str(&format!("SIP/2.0 {code} {reason}\r\n"))
            }
        }
        for h in self.headers.iter().filter(|h| h.name != "Content-Length") {
            out.push_str(&h.name);
            out.push_str(": ");
            out.push_str(&h.value);
            out.push_str("\r\n");
        }
        out.push_str(&format!("Content-Length: {}\r\n\r\n", self.body.len()));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(&self.body);
        Bytes::from(bytes)
    }
}

/// The standard reason phrase of a status code.
pub fn reason_phrase(code: u16) -> &'static str {
    match code {
        100 => "Trying",
        180 => "Ringing",
        183 => "Session Progress",
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        423 => "Interval Too Brief",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        491 => "Request Pending",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        603 => "Decline",
        _ => "Unknown",
    }
}
