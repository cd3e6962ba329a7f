//! The CSeq header (RFC 3261 §20.16): sequence number and method.

use super::method::Method;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}

impl CSeq {
    pub fn parse(s: &str) -> Option<CSeq> {
        let mut it = s.split_whitespace();
        let seq = it.next()?.parse::<u32>().ok()?;
        let method = Method::parse(it.next()?);
        if it.next().is_some() || seq >= 1 << 31 {
            return None;
        }
        Some(CSeq { seq, method })
    }
}

impl std::fmt::Display for CSeq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        assert_eq!(
            CSeq::parse("4711 INVITE"),
            Some(CSeq {
                seq: 4711,
                method: Method::Invite
            })
        );
        assert_eq!(
            CSeq::parse("  1   BYE "),
            Some(CSeq {
                seq: 1,
                method: Method::Bye
            })
        );
        assert_eq!(CSeq::parse("x INVITE"), None);
        assert_eq!(CSeq::parse("1"), None);
        assert_eq!(CSeq::parse("2147483648 INVITE"), None);
        assert_eq!(CSeq::parse("1 INVITE x"), None);
    }
}
