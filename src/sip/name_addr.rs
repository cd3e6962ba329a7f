//! name-addr / addr-spec values of From, To, Contact, Route and Record-Route
//! (RFC 3261 §20.10, §25.1): optional display name, the URI, header parameters
//! such as `tag`.

use std::fmt;

use super::params::{Params, parse_params};
use super::uri::{Uri, UriError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    pub display: Option<String>,
    pub uri: Uri,
    pub params: Params,
}

impl NameAddr {
    pub fn parse(s: &str) -> Result<NameAddr, UriError> {
        let s = s.trim();
        let bad = || UriError::Char(s.into());
        if let Some(open) = find_unquoted(s, '<') {
            let close = s[open..].find('>').map(|i| i + open).ok_or_else(bad)?;
            let display = s[..open].trim();
            if !is_display_name(display) {
                return Err(bad());
            }
            let display = (!display.is_empty()).then(|| unquote(display));
            // No LWS inside the brackets (RFC 4475 §3.1.2.14).
            let inner = &s[open + 1..close];
            if inner.starts_with(char::is_whitespace) || inner.ends_with(char::is_whitespace) {
                return Err(bad());
            }
            let uri = Uri::parse(inner)?;
            let rest = s[close + 1..].trim();
            let params = rest.strip_prefix(';').map(parse_params).unwrap_or_default();
            if !rest.is_empty() && !rest.starts_with(';') {
                return Err(bad());
            }
            return Ok(NameAddr {
                display,
                uri,
                params,
            });
        }
        // addr-spec: parameters after the URI belong to the header, not the URI;
        // a URI with headers must be in brackets (RFC 3261 §20, RFC 4475 §3.1.2.13).
        let (uri, params) = s.split_once(';').map_or((s, ""), |(u, p)| (u, p));
        if uri.contains('?') {
            return Err(bad());
        }
        Ok(NameAddr {
            display: None,
            uri: Uri::parse(uri)?,
            params: parse_params(params),
        })
    }

    pub fn tag(&self) -> Option<&str> {
        self.params.get("tag").filter(|t| !t.is_empty())
    }

    pub fn with_tag(mut self, tag: &str) -> NameAddr {
        self.params.set("tag", Some(tag.to_string()));
        self
    }
}

/// A display name before `<`: empty, one quoted string, or words separated by
/// whitespace. RFC 3261 wants tokens for the words; we also take UTF-8 (names
/// as phones send them) but not the separators that make a value ambiguous,
/// such as the comma of `Bell, Alexander` (RFC 4475 §3.1.2.15).
fn is_display_name(s: &str) -> bool {
    if s.starts_with('"') {
        return closing_quote(s) == Some(s.len() - 1);
    }
    s.chars()
        .all(|c| c.is_whitespace() || !(c.is_ascii_control() || "()<>@,;:\\\"/[]?={}".contains(c)))
}

/// The index of the `"` that closes the quoted string `s` starts with.
fn closing_quote(s: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

fn find_unquoted(s: &str, target: char) -> Option<usize> {
    let (mut quoted, mut escaped) = (false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == target && !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

fn unquote(s: &str) -> String {
    match s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
        None => s.to_string(),
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display {
            write!(f, "\"{}\" ", d.replace('\\', "\\\\").replace('"', "\\\""))?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_display_name_and_tag() {
        let n = NameAddr::parse(
            r#""Li \"Lei\"" <sip:+8613800138000@carrier.example;user=phone>;tag=a73kszlfl"#,
        )
        .unwrap();
        assert_eq!(n.display.as_deref(), Some(r#"Li "Lei""#));
        assert_eq!(n.uri.user.as_deref(), Some("+8613800138000"));
        assert_eq!(n.uri.param("user"), Some("phone"));
        assert_eq!(n.tag(), Some("a73kszlfl"));
    }

    #[test]
    fn addr_spec_params_belong_to_header() {
        let n = NameAddr::parse("sip:alice@atlanta.example.com;tag=1928301774").unwrap();
        assert_eq!(n.tag(), Some("1928301774"));
        assert!(n.uri.params.0.is_empty());
        assert_eq!(
            n.to_string(),
            "<sip:alice@atlanta.example.com>;tag=1928301774"
        );
        assert!(NameAddr::parse("<sip:a@b").is_err());
        assert!(NameAddr::parse("sip:a@b?Route=%3Csip:c%3E").is_err());
        assert!(NameAddr::parse("<sip:a@b?Route=%3Csip:c%3E>").is_ok());
        assert!(NameAddr::parse("Bob <sip:a@b> junk").is_err());
    }

    #[test]
    fn display_names_must_not_be_ambiguous() {
        for good in [
            "caller<sip:caller@example.com>;tag=323",
            "A. Bell <sip:a.g.bell@example.com>",
            "\"Bell, Alexander\" <sip:a.g.bell@example.com>",
            "\"J Rosenberg \\\\\\\"\"  <sip:jdrosen@example.com> ; tag = 98asjd8",
            "李雷 <sip:+8613800138000@carrier.example>",
            "token1~` token2'+_ token3*%!.- <sip:mundane@example.com>",
        ] {
            assert!(NameAddr::parse(good).is_ok(), "{good}");
        }
        let n = NameAddr::parse("\"J Rosenberg \\\\\\\"\" <sip:j@x> ; tag = 9").unwrap();
        assert_eq!(n.display.as_deref(), Some("J Rosenberg \\\""));
        assert_eq!(n.tag(), Some("9"));
        for bad in [
            "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
            "\"Watson, Thomas\" < sip:t.watson@example.org >",
            "\"Mr. J. User <sip:j.user@example.com>",
            "\"a\" b <sip:x@y>",
        ] {
            assert!(NameAddr::parse(bad).is_err(), "{bad}");
        }
    }
}
