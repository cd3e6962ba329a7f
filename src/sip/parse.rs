//! Parsing SIP messages from bytes (RFC 3261 §7, §25): start line, unfolded
//! headers, Content-Length framing. `parse` is strict; a request that fails it but
//! still has the headers needed to answer gets its error response built by
//! `bad_request` from those headers alone, and anything worse is dropped
//! (RFC 3261 §8.2, RFC 4475).

use bytes::Bytes;

use super::headers::Headers;
use super::message::{Message, StartLine};
use super::method::{Method, is_token_char};
use super::name_addr::NameAddr;
use super::uri::{Uri, UriError};

/// Largest message accepted (UDP datagrams and stream frames alike).
pub const MAX_MESSAGE: usize = 65_535;

/// Headers that every request and response carries (RFC 3261 §8.1.1).
const MANDATORY: [&str; 5] = ["Via", "From", "To", "Call-ID", "CSeq"];

/// Headers that may appear once only (RFC 3261 §7.3.1, RFC 4475 §3.3.8, §3.3.9).
const SINGLE: [&str; 7] = [
    "Call-ID",
    "CSeq",
    "From",
    "To",
    "Max-Forwards",
    "Content-Length",
    "Content-Type",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    #[error("message too large")]
    TooLarge,
    #[error("no end of headers")]
    Incomplete,
    #[error("bad start line")]
    StartLine,
    #[error("unsupported SIP version")]
    Version,
    #[error("bad Request-URI: {0}")]
    RequestUri(String),
    #[error("unsupported URI scheme `{0}`")]
    UriScheme(String),
    #[error("malformed header line")]
    HeaderLine,
    #[error("missing {0} header")]
    Missing(&'static str),
    #[error("malformed {0} header")]
    Malformed(&'static str),
    #[error("more than one {0} header")]
    Repeated(&'static str),
    #[error("CSeq method does not match the request")]
    CSeqMethod,
    #[error("unknown method {0}")]
    UnknownMethod(String),
    #[error("Content-Length larger than the message")]
    ContentLength,
    #[error("not UTF-8 in headers")]
    Encoding,
}

impl ParseError {
    /// The status code that answers a request failing this way.
    pub fn status(&self) -> u16 {
        match self {
            ParseError::Version => 505,
            ParseError::TooLarge => 513,
            ParseError::UriScheme(_) => 416,
            // RFC 4475 §3.1.2.18: a 501 is more future-proof than a 400.
            ParseError::UnknownMethod(_) => 501,
            _ => 400,
        }
    }
}

/// Position just after the blank line that ends the headers, and its length.
pub fn header_end(buf: &[u8]) -> Option<(usize, usize)> {
    let crlf = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4));
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

/// Parses one whole message (a datagram, or a frame cut by the stream decoder).
pub fn parse(data: &Bytes) -> Result<Message, ParseError> {
    let msg = parse_structure(data)?;
    validate(&msg)?;
    Ok(msg)
}

/// A message cut into its start line, its unfolded headers and what follows
/// the blank line.
struct Head {
    start: String,
    headers: Headers,
    rest: Bytes,
}

fn split_head(data: &Bytes) -> Result<Head, ParseError> {
    if data.len() > MAX_MESSAGE {
        return Err(ParseError::TooLarge);
    }
    let start_at = data
        .iter()
        .position(|b| !matches!(b, b'\r' | b'\n'))
        .ok_or(ParseError::Incomplete)?;
    let rest = data.slice(start_at..);
    let (end, sep) = header_end(&rest).ok_or(ParseError::Incomplete)?;
    let head = std::str::from_utf8(&rest[..end]).map_err(|_| ParseError::Encoding)?;
    let mut lines = unfold(head).into_iter();
    let start = lines.next().ok_or(ParseError::StartLine)?;
    let mut headers = Headers::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(ParseError::HeaderLine)?;
        let name = name.trim_end_matches([' ', '\t']);
        if name.is_empty() || !name.chars().all(is_token_char) {
            return Err(ParseError::HeaderLine);
        }
        headers.push(name, value.trim());
    }
    Ok(Head {
        start,
        headers,
        rest: rest.slice(end + sep..),
    })
}

/// Parses the start line, headers and body without checking the headers'
/// values (`validate` does).
pub fn parse_structure(data: &Bytes) -> Result<Message, ParseError> {
    let head = split_head(data)?;
    let start = parse_start_line(&head.start)?;
    let body = match head.headers.get("Content-Length") {
        Some(v) => {
            let n: usize = v
                .trim()
                .parse()
                .map_err(|_| ParseError::Malformed("Content-Length"))?;
            if n > head.rest.len() {
                return Err(ParseError::ContentLength);
            }
            head.rest.slice(..n)
        }
        None => head.rest,
    };
    Ok(Message {
        start,
        headers: head.headers,
        body,
    })
}

/// Joins continuation lines (starting with SP or HT) to the line before (§7.3.1).
fn unfold(head: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in head.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.starts_with([' ', '\t'])
            && let Some(last) = out.last_mut()
        {
            last.push(' ');
            last.push_str(line.trim());
            continue;
        }
        out.push(line.to_string());
    }
    out
}

fn parse_start_line(line: &str) -> Result<StartLine, ParseError> {
    if let Some(rest) = line.strip_prefix("SIP/") {
        let (version, rest) = rest.split_once(' ').ok_or(ParseError::StartLine)?;
        if version != "2.0" {
            return Err(ParseError::Version);
        }
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let code: u16 = code.parse().map_err(|_| ParseError::StartLine)?;
        if !(100..700).contains(&code) {
            return Err(ParseError::StartLine);
        }
        return Ok(StartLine::Response {
            code,
            reason: reason.to_string(),
        });
    }
    // Exactly one SP between the three parts, none at the end (RFC 4475
    // §3.1.2.8 to §3.1.2.10).
    let mut parts = line.split(' ');
    let (method, uri, version) = (parts.next(), parts.next(), parts.next());
    let (Some(method), Some(uri), Some(version), None) = (method, uri, version, parts.next())
    else {
        return Err(ParseError::StartLine);
    };
    if request_method(line) != Some(method) {
        return Err(ParseError::StartLine);
    }
    match version.strip_prefix("SIP/") {
        Some("2.0") => {}
        Some(_) => return Err(ParseError::Version),
        None => return Err(ParseError::StartLine),
    }
    Ok(StartLine::Request {
        method: Method::parse(method),
        uri: request_uri(uri)?,
    })
}

/// The method token of a request line; None for a status line or garbage.
fn request_method(line: &str) -> Option<&str> {
    if line.starts_with("SIP/") {
        return None;
    }
    let method = line.split(' ').next()?;
    (!method.is_empty() && method.chars().all(is_token_char)).then_some(method)
}

/// The Request-URI: a scheme we do not serve is 416, anything else wrong 400
/// (RFC 3261 §8.2.2.1, RFC 4475 §3.1.2.7, §3.3.2, §3.3.3); headers have no
/// place in it (RFC 3261 §19.1.1, RFC 4475 §3.1.2.11).
fn request_uri(text: &str) -> Result<Uri, ParseError> {
    let uri = Uri::parse(text).map_err(|e| match e {
        UriError::Scheme(_) => match text.split_once(':') {
            Some((scheme, _)) if is_scheme(scheme) => ParseError::UriScheme(scheme.to_string()),
            _ => ParseError::RequestUri(e.to_string()),
        },
        e => ParseError::RequestUri(e.to_string()),
    })?;
    if uri.headers.is_some() {
        return Err(ParseError::RequestUri("headers in a Request-URI".into()));
    }
    Ok(uri)
}

/// `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3261 §25.1).
fn is_scheme(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
}

/// Checks what RFC 3261 §8.1.1 requires of every message.
pub fn validate(msg: &Message) -> Result<(), ParseError> {
    for name in MANDATORY {
        if msg.headers.get(name).is_none_or(|v| v.trim().is_empty()) {
            return Err(ParseError::Missing(name));
        }
    }
    for name in SINGLE {
        if msg.headers.lines(name).count() > 1 {
            return Err(ParseError::Repeated(name));
        }
    }
    msg.top_via().ok_or(ParseError::Malformed("Via"))?;
    for v in msg.headers.get_all("Via") {
        super::via::Via::parse(v).map_err(|_| ParseError::Malformed("Via"))?;
    }
    msg.from().ok_or(ParseError::Malformed("From"))?;
    msg.to().ok_or(ParseError::Malformed("To"))?;
    for c in msg
        .headers
        .get_all("Contact")
        .into_iter()
        .filter(|c| *c != "*")
    {
        NameAddr::parse(c).map_err(|_| ParseError::Malformed("Contact"))?;
    }
    let cseq = msg.cseq().ok_or(ParseError::Malformed("CSeq"))?;
    if let Some(mf) = msg.headers.get("Max-Forwards") {
        mf.trim()
            .parse::<u8>()
            .map_err(|_| ParseError::Malformed("Max-Forwards"))?;
    }
    if let StartLine::Request { method, .. } = &msg.start
        && *method != cseq.method
    {
        return Err(match method {
            Method::Other(m) => ParseError::UnknownMethod(m.clone()),
            _ => ParseError::CSeqMethod,
        });
    }
    if let Some(e) = msg.headers.get("Expires") {
        e.trim()
            .parse::<u32>()
            .map_err(|_| ParseError::Malformed("Expires"))?;
    }
    Ok(())
}

/// The error response for a message that failed `parse`, built from its
/// headers alone (its start line or body may be what failed): answered when it
/// is a request other than ACK with a Via (where the answer goes) and a CSeq
/// (how the sender matches it), copying whichever of From, To and Call-ID it
/// has, as RFC 4475 §3.3.1 would have a request without them answered 400;
/// else None (a response, garbage, or a request no answer could reach).
pub fn bad_request(data: &Bytes, error: &ParseError) -> Option<Message> {
    let head = split_head(data).ok()?;
    let method = request_method(&head.start)?;
    let present = |name: &str| head.headers.get(name).is_some_and(|v| !v.trim().is_empty());
    if method == "ACK" || !present("Via") || !present("CSeq") {
        return None;
    }
    let code = error.status();
    let detail: String = error
        .to_string()
        .chars()
        .filter(|c| !c.is_control())
        .collect();
    let reason = format!("{} ({detail})", super::message::reason_phrase(code));
    Some(Message::response_to(&head.headers, code, &reason, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub const INVITE: &str = "INVITE sip:4000@127.0.0.1:5060 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0\r\n\
From: sipp <sip:sipp@127.0.0.1:5061>;tag=1\r\n\
To: <sip:4000@127.0.0.1:5060>\r\n\
Call-ID: 1-1@127.0.0.1\r\n\
CSeq: 1 INVITE\r\n\
Contact: sip:sipp@127.0.0.1:5061\r\n\
Max-Forwards: 70\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 5\r\n\r\nv=0\r\nEXTRA";

    #[test]
    fn parses_invite_with_body_framed_by_content_length() {
        let m = parse(&Bytes::from_static(INVITE.as_bytes())).unwrap();
        assert_eq!(m.method(), Some(Method::Invite));
        assert_eq!(m.body.as_ref(), b"v=0\r\n");
        assert_eq!(m.top_via().unwrap().branch(), Some("z9hG4bK-1-0"));
        assert_eq!(m.from().unwrap().tag(), Some("1"));
        assert_eq!(m.max_forwards(), Some(70));
        let again = parse(&m.to_bytes()).unwrap();
        assert_eq!(again, m);
    }

    #[test]
    fn unfolds_and_accepts_compact_forms() {
        let text = "OPTIONS sip:x@y SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bKa\r\nf: <sip:a@b>\r\n ;tag=9\r\nt: sip:x@y\r\ni: c1\r\nCSeq: 3\r\n\tOPTIONS\r\nl: 0\r\n\r\n";
        let m = parse(&Bytes::from(text)).unwrap();
        assert_eq!(m.from().unwrap().tag(), Some("9"));
        assert_eq!(m.cseq().unwrap().seq, 3);
        assert_eq!(m.call_id(), Some("c1"));
    }

    #[test]
    fn short_body_is_an_error_answered_400() {
        let text = INVITE.replace("Content-Length: 5", "Content-Length: 500");
        let data = Bytes::from(text);
        let err = parse(&data).unwrap_err();
        assert_eq!(err, ParseError::ContentLength);
        let resp = bad_request(&data, &err).unwrap();
        assert_eq!(resp.status(), Some(400));
    }

    #[test]
    fn bad_requests_map_to_their_codes() {
        let v = INVITE.replace("SIP/2.0\r\nVia", "SIP/7.0\r\nVia");
        assert_eq!(parse(&Bytes::from(v)).unwrap_err().status(), 505);
        let u = INVITE.replace("sip:4000@127.0.0.1:5060 SIP", "http://x SIP");
        assert_eq!(parse(&Bytes::from(u)).unwrap_err().status(), 416);
        let c = INVITE.replace("CSeq: 1 INVITE", "CSeq: 1 BYE");
        assert_eq!(parse(&Bytes::from(c)).unwrap_err(), ParseError::CSeqMethod);
        let no_callid = INVITE.replace("Call-ID: 1-1@127.0.0.1\r\n", "");
        let data = Bytes::from(no_callid);
        let err = parse(&data).unwrap_err();
        assert_eq!(err, ParseError::Missing("Call-ID"));
        let answer = bad_request(&data, &err).expect("answered from Via and CSeq");
        assert_eq!(answer.status(), Some(400));
        assert_eq!(answer.call_id(), None);
        let no_via = INVITE.replace("Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1-0\r\n", "");
        let data = Bytes::from(no_via);
        let err = parse(&data).unwrap_err();
        assert!(bad_request(&data, &err).is_none(), "no Via: no way back");
    }

    #[test]
    fn requests_with_a_broken_start_line_are_still_answered() {
        for (line, code) in [
            ("INVITE <sip:4000@127.0.0.1> SIP/2.0", 400),
            ("INVITE sip:4000@127.0.0.1; lr SIP/2.0", 400),
            ("INVITE  sip:4000@127.0.0.1  SIP/2.0", 400),
            ("INVITE sip:4000@127.0.0.1 SIP/2.0  ", 400),
            ("INVITE sip:4000@127.0.0.1?Route=%3Csip:x%3E SIP/2.0", 400),
            ("INVITE soap.beep://192.0.2.103:3002 SIP/2.0", 416),
            ("INVITE sip:4000@127.0.0.1 SIP/7.0", 505),
        ] {
            let text = INVITE.replacen("INVITE sip:4000@127.0.0.1:5060 SIP/2.0", line, 1);
            let data = Bytes::from(text);
            let err = parse(&data).unwrap_err();
            assert_eq!(err.status(), code, "{line}: {err}");
            let resp = bad_request(&data, &err).expect(line);
            assert_eq!(resp.status(), Some(code), "{line}");
            assert_eq!(resp.call_id(), Some("1-1@127.0.0.1"));
        }
        let bad_length = INVITE.replace("Content-Length: 5", "Content-Length: -5");
        let data = Bytes::from(bad_length);
        let err = parse(&data).unwrap_err();
        assert_eq!(bad_request(&data, &err).unwrap().status(), Some(400));
    }

    #[test]
    fn unknown_method_with_another_cseq_is_501_and_repeats_are_400() {
        let m = INVITE.replacen("INVITE sip", "NEWMETHOD sip", 1);
        let err = parse(&Bytes::from(m)).unwrap_err();
        assert_eq!(err, ParseError::UnknownMethod("NEWMETHOD".into()));
        assert_eq!(err.status(), 501);
        let twice = INVITE.replace("Content-Length: 5", "Content-Length: 5\r\nl: 3");
        assert_eq!(
            parse(&Bytes::from(twice)).unwrap_err(),
            ParseError::Repeated("Content-Length")
        );
        let two_to = INVITE.replace("To: <", "To: <sip:x@y>\r\nTo: <");
        assert_eq!(
            parse(&Bytes::from(two_to)).unwrap_err(),
            ParseError::Repeated("To")
        );
    }

    #[test]
    fn garbage_never_panics() {
        for junk in [
            &b""[..],
            b"\r\n\r\n",
            b"SIP/2.0 abc\r\n\r\n",
            b"INVITE\r\n\r\n",
            b"\xff\xfe\r\n\r\n",
            b"A B C D\r\n\r\n",
        ] {
            let d = Bytes::copy_from_slice(junk);
            let _ = parse(&d);
            let _ = bad_request(&d, &ParseError::StartLine);
        }
    }
}
