//! SIP and SIPS URIs (RFC 3261 §19.1): user, password, host (name, IPv4 or
//! bracketed IPv6), port, `;parameters` and `?headers`, with %-escapes decoded
//! in the user part. `tel:` URIs are accepted as an opaque number.

use std::fmt;

use super::params::{Params, parse_params};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scheme {
    Sip,
    Sips,
    Tel,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uri {
    pub scheme: Scheme,
    /// Decoded user part (or the number of a `tel:` URI).
    pub user: Option<String>,
    pub password: Option<String>,
    /// Host as written (IPv6 keeps its brackets).
    pub host: String,
    pub port: Option<u16>,
    pub params: Params,
    /// Raw `?headers` part without the `?`.
    pub headers: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    #[error("unsupported URI scheme in `{0}`")]
    Scheme(String),
    #[error("URI `{0}` has no host")]
    NoHost(String),
    #[error("URI `{0}` has a bad port")]
    Port(String),
    #[error("URI `{0}` has a bad character")]
    Char(String),
}

impl Uri {
    pub fn parse(s: &str) -> Result<Uri, UriError> {
        let s = s.trim();
        let (scheme, rest) = match s.split_once(':') {
            Some((sc, rest)) if sc.eq_ignore_ascii_case("sip") => (Scheme::Sip, rest),
            Some((sc, rest)) if sc.eq_ignore_ascii_case("sips") => (Scheme::Sips, rest),
            Some((sc, rest)) if sc.eq_ignore_ascii_case("tel") => (Scheme::Tel, rest),
            _ => return Err(UriError::Scheme(s.into())),
        };
        if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UriError::Char(s.into()));
        }
        if scheme == Scheme::Tel {
            let (number, params) = rest.split_once(';').map_or((rest, ""), |(n, p)| (n, p));
            return Ok(Uri {
                scheme,
                user: Some(number.into()),
                password: None,
                host: String::new(),
                port: None,
                params: parse_params(params),
                headers: None,
            });
        }
        // `@` can only end the userinfo (it is escaped anywhere else), and the
        // user part may hold `;` and `?` (RFC 3261 §25.1, RFC 4475 §3.1.1.2).
        let (userinfo, rest) = match rest.split_once('@') {
            Some((u, r)) => (Some(u), r),
            None => (None, rest),
        };
        let (hostpart, headers) = rest
            .split_once('?')
            .map_or((rest, None), |(r, h)| (r, Some(h.to_string())));
        let (hostport, params) = hostpart
            .split_once(';')
            .map_or((hostpart, ""), |(h, p)| (h, p));
        let (host, port) = split_host_port(hostport).ok_or_else(|| UriError::Port(s.into()))?;
        if host.is_empty() {
            return Err(UriError::NoHost(s.into()));
        }
        let (user, password) = match userinfo {
            Some(u) => {
                let (user, pw) = u.split_once(':').map_or((u, None), |(a, b)| (a, Some(b)));
                (Some(percent_decode(user)), pw.map(percent_decode))
            }
            None => (None, None),
        };
        Ok(Uri {
            scheme,
            user,
            password,
            host: host.to_string(),
            port,
            params: decode_params(params),
            headers,
        })
    }

    /// The value of parameter `name` (`Some("")` for a flag such as `;lr`).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name)
    }
}

/// Splits `host[:port]`, handling `[v6]:port`. None when the port is not a number.
pub fn split_host_port(s: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']')?;
        let host = &s[..end + 2];
        let after = &rest[end + 1..];
        return match after.strip_prefix(':') {
            Some(p) => Some((host, Some(p.parse().ok()?))),
            None if after.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match s.rsplit_once(':') {
        Some((h, p)) => Some((h, Some(p.parse().ok()?))),
        None => Some((s, None)),
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// URI parameters with their %-escapes decoded (RFC 3261 §19.1.4: `%6C%72` is
/// `lr`); decoded once only, so `v%61lue%25%34%31` is `value%41` (RFC 4475
/// §3.1.1.3).
fn decode_params(s: &str) -> Params {
    let Params(list) = parse_params(s);
    Params(
        list.into_iter()
            .map(|(n, v)| (percent_decode(&n), v.as_deref().map(percent_decode)))
            .collect(),
    )
}

/// Characters a user part keeps unescaped (RFC 3261 §25.1 `user`).
const USER_CHARS: &str = "-_.!~*'()&=+$,;?/";
/// Characters a URI parameter keeps unescaped (`paramchar`).
const PARAM_CHARS: &str = "-_.!~*'()[]/:&+$";

fn percent_encode_user(s: &str) -> String {
    percent_encode(s, USER_CHARS)
}

fn percent_encode(s: &str, keep: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || keep.contains(c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
            Scheme::Tel => "tel",
        };
        write!(f, "{scheme}:")?;
        if self.scheme == Scheme::Tel {
            return write!(f, "{}{}", self.user.as_deref().unwrap_or(""), self.params);
        }
        if let Some(u) = &self.user {
            f.write_str(&percent_encode_user(u))?;
            if let Some(p) = &self.password {
                write!(f, ":{}", percent_encode_user(p))?;
            }
            f.write_str("@")?;
        }
        f.write_str(&self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        for (n, v) in &self.params.0 {
            write!(f, ";{}", percent_encode(n, PARAM_CHARS))?;
            if let Some(v) = v {
                write!(f, "={}", percent_encode(v, PARAM_CHARS))?;
            }
        }
        if let Some(h) = &self.headers {
            write!(f, "?{h}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_full_uri() {
        let u =
            Uri::parse("sips:alice:secret@[2001:db8::10]:5061;transport=tcp;lr?subject=x").unwrap();
        assert_eq!(u.scheme, Scheme::Sips);
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.password.as_deref(), Some("secret"));
        assert_eq!(u.host, "[2001:db8::10]");
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.param("transport"), Some("tcp"));
        assert_eq!(u.param("lr"), Some(""));
        assert_eq!(u.headers.as_deref(), Some("subject=x"));
    }

    #[test]
    fn decodes_escapes_and_prints_back() {
        let u = Uri::parse("sip:%61lice%20b@example.com").unwrap();
        assert_eq!(u.user.as_deref(), Some("alice b"));
        assert_eq!(u.to_string(), "sip:alice%20b@example.com");
        assert_eq!(
            Uri::parse("sip:4000@127.0.0.1:5060").unwrap().to_string(),
            "sip:4000@127.0.0.1:5060"
        );
    }

    #[test]
    fn user_and_password_may_hold_separators() {
        let u = Uri::parse(
            "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com",
        )
        .unwrap();
        assert_eq!(
            u.user.as_deref(),
            Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        );
        assert_eq!(
            u.password.as_deref(),
            Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
        );
        assert_eq!(
            (u.host.as_str(), u.headers.as_deref()),
            ("example.com", None)
        );
        let semi = Uri::parse("sip:user;par=u%40example.net@example.com").unwrap();
        assert_eq!(semi.user.as_deref(), Some("user;par=u@example.net"));
        let h = Uri::parse("sip:user@example.com?Route=%3Csip:example.com%3E").unwrap();
        assert_eq!(h.headers.as_deref(), Some("Route=%3Csip:example.com%3E"));
    }

    #[test]
    fn decodes_parameters_once() {
        let u =
            Uri::parse("sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31").unwrap();
        assert_eq!(u.user.as_deref(), Some("caller"));
        assert_eq!(u.param("lr"), Some(""));
        assert_eq!(u.param("name"), Some("value%41"));
        let printed = u.to_string();
        assert_eq!(printed, "sip:caller@host5.example.net;lr;name=value%2541");
        assert_eq!(Uri::parse(&printed).unwrap(), u);
    }

    #[test]
    fn rejects_bad_uris() {
        assert!(Uri::parse("http://x").is_err());
        assert!(Uri::parse("sip:@").is_err());
        assert!(Uri::parse("sip:a@b:port").is_err());
        assert!(Uri::parse("sip:a b@c").is_err());
        assert_eq!(
            Uri::parse("tel:+8613800138000").unwrap().user.as_deref(),
            Some("+8613800138000")
        );
    }
}
