//! Framing SIP on stream transports (TCP, TLS): messages are cut by their
//! Content-Length (RFC 3261 §18.3); CRLF CRLF between messages is a keep-alive
//! ping answered with CRLF (RFC 5626 §3.5.1). A tokio-util codec, so it is pure
//! and testable with byte buffers.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::parse::{MAX_MESSAGE, header_end};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// One whole SIP message, ready for `parse`.
    Message(Bytes),
    /// A double-CRLF keep-alive ping; answer with a single CRLF.
    Ping,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FramingError {
    #[error("message larger than {MAX_MESSAGE} bytes")]
    TooLarge,
    #[error("missing or bad Content-Length on a stream")]
    ContentLength,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

#[derive(Debug, Default)]
pub struct SipCodec;

impl Decoder for SipCodec {
    type Item = Frame;
    type Error = FramingError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Frame>, FramingError> {
        if buf.starts_with(b"\r\n\r\n") {
            buf.advance(4);
            return Ok(Some(Frame::Ping));
        }
        while buf.starts_with(b"\r\n") && buf.len() >= 4 || buf.first() == Some(&b'\n') {
            buf.advance(if buf.starts_with(b"\r\n") { 2 } else { 1 });
        }
        let Some((end, sep)) = header_end(buf) else {
            return if buf.len() > MAX_MESSAGE {
                Err(FramingError::TooLarge)
            } else {
                Ok(None)
            };
        };
        let head = std::str::from_utf8(&buf[..end]).map_err(|_| FramingError::ContentLength)?;
        let length = content_length(head).ok_or(FramingError::ContentLength)?;
        let total = end + sep + length;
        if total > MAX_MESSAGE {
            return Err(FramingError::TooLarge);
        }
        if buf.len() < total {
            buf.reserve(total - buf.len());
            return Ok(None);
        }
        Ok(Some(Frame::Message(buf.split_to(total).freeze())))
    }
}

/// The Content-Length (or `l`) header's value; mandatory on streams.
fn content_length(head: &str) -> Option<usize> {
    head.lines().skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        let name = name.trim();
        (name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l"))
            .then(|| value.trim().parse().ok())?
    })
}

impl Encoder<Bytes> for SipCodec {
    type Error = FramingError;

    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), FramingError> {
        dst.extend_from_slice(&item);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nContent-Length: 4\r\n\r\nbody";

    #[test]
    fn frames_split_and_joined_messages() {
        let mut c = SipCodec;
        let mut buf = BytesMut::new();
        buf.extend_from_slice(b"\r\n\r\n");
        buf.extend_from_slice(&OPTIONS[..30]);
        assert_eq!(c.decode(&mut buf).unwrap(), Some(Frame::Ping));
        assert_eq!(c.decode(&mut buf).unwrap(), None, "half a message");
        buf.extend_from_slice(&OPTIONS[30..]);
        buf.extend_from_slice(OPTIONS);
        assert_eq!(
            c.decode(&mut buf).unwrap(),
            Some(Frame::Message(Bytes::from_static(OPTIONS)))
        );
        assert_eq!(
            c.decode(&mut buf).unwrap(),
            Some(Frame::Message(Bytes::from_static(OPTIONS)))
        );
        assert!(buf.is_empty());
    }

    #[test]
    fn refuses_missing_length_and_oversized_input() {
        let mut c = SipCodec;
        let mut buf = BytesMut::from(&b"OPTIONS sip:a@b SIP/2.0\r\nVia: x\r\n\r\n"[..]);
        assert!(matches!(
            c.decode(&mut buf),
            Err(FramingError::ContentLength)
        ));
        let mut big = BytesMut::from(&b"OPTIONS sip:a@b SIP/2.0\r\nl: 999999\r\n\r\n"[..]);
        assert!(matches!(c.decode(&mut big), Err(FramingError::TooLarge)));
        let mut endless = BytesMut::from(vec![b'a'; MAX_MESSAGE + 10].as_slice());
        assert!(matches!(
            c.decode(&mut endless),
            Err(FramingError::TooLarge)
        ));
    }
}
