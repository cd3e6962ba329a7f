//! RFC 2047 encoded words in mail headers (`=?UTF-8?B?6YCA5qy+?=`), as mail
//! programs write any subject or name that is not plain ASCII: base64 (`B`) or
//! quoted-printable (`Q`) in any charset `encoding_rs` knows (UTF-8, GBK, Big5…).
//! Whitespace between two encoded words is dropped; a word that cannot be decoded
//! is kept as it was written.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A header value with its encoded words decoded.
pub fn decode(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    let mut rest = header;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, candidate) = rest.split_at(start);
        match word(candidate) {
            Some((text, len)) => {
                if !(after_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&text);
                rest = &candidate[len..];
                after_word = true;
            }
            None => {
                out.push_str(before);
                out.push_str("=?");
                rest = &candidate[2..];
                after_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text of the encoded word at the start of `s`, and its length.
fn word(s: &str) -> Option<(String, usize)> {
    let inner = s.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let text = &inner[..end];
    if text.contains(char::is_whitespace) {
        return None;
    }
    let bytes = match encoding {
        "B" | "b" => BASE64.decode(text).ok()?,
        "Q" | "q" => q_decode(text)?,
        _ => return None,
    };
    // `charset*language` (RFC 2231) names the language too.
    let label = charset.split('*').next().unwrap_or(charset);
    let (decoded, _, _) = encoding_rs::Encoding::for_label(label.as_bytes())?.decode(&bytes);
    let len = 2 + charset.len() + 1 + encoding.len() + 1 + end + 2;
    Some((decoded.into_owned(), len))
}

/// `Q`: `_` is a space, `=XX` a byte in hex.
fn q_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'_' => out.push(b' '),
            b'=' => {
                let hex = [bytes.next()?, bytes.next()?];
                out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
            }
            b => out.push(b),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64_and_q_in_any_charset() {
        assert_eq!(decode("=?utf-8?b?6YCA5qy+55Sz6K+3?="), "退款申请");
        assert_eq!(decode("=?UTF-8?B?6YCA5qy+55Sz6K+3?="), "退款申请");
        assert_eq!(decode("=?utf-8?q?Caf=C3=A9_au_lait?="), "Café au lait");
        assert_eq!(decode("=?gb2312?B?zcu/7g==?="), "退款");
        assert_eq!(decode("=?iso-8859-1?Q?J=F6rg?= <j@x.de>"), "Jörg <j@x.de>");
        assert_eq!(decode("=?utf-8*zh?B?6YCA5qy+?="), "退款", "with a language");
    }

    #[test]
    fn joins_adjacent_words_and_keeps_the_rest() {
        assert_eq!(
            decode("Re: =?utf-8?B?6YCA?= =?utf-8?B?5qy+?= now"),
            "Re: 退款 now"
        );
        assert_eq!(decode("plain subject"), "plain subject");
        assert_eq!(decode("a =? b ?= c"), "a =? b ?= c");
        assert_eq!(decode("=?x-unknown?B?YQ==?="), "=?x-unknown?B?YQ==?=");
        assert_eq!(decode("=?utf-8?B?***?="), "=?utf-8?B?***?=");
        assert_eq!(decode("=?utf-8?Q?=Z?="), "=?utf-8?Q?=Z?=");
        assert_eq!(decode("=?utf-8?B?YQ"), "=?utf-8?B?YQ");
    }
}
