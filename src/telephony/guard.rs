//! Cheap checks before a request reaches the transaction layer: known scanners
//! are dropped silently, exhausted Max-Forwards gets 483, and option tags we do
//! not support in Require get 420.

use crate::sip::Message;

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

pub fn is_scanner(msg: &Message) -> bool {
    msg.user_agent().is_some_and(|ua| {
        let ua = ua.to_ascii_lowercase();
        SCANNERS.iter().any(|s| ua.contains(s))
    })
}

/// Option tags in Require that we do not support.
pub fn unsupported_requirements(msg: &Message) -> Vec<String> {
    msg.require()
        .into_iter()
        .filter(|t| !SUPPORTED.iter().any(|s| s.eq_ignore_ascii_case(t)))
        .map(String::from)
        .collect()
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
}
