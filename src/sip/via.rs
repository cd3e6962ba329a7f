//! The Via header (RFC 3261 §20.42, RFC 3581): protocol, transport, sent-by, and
//! the branch, received and rport parameters that route responses back.

use std::fmt;
use std::net::SocketAddr;

use super::params::{Params, parse_params};
use super::uri::split_host_port;

static SLASH_SPACES: std::sync::LazyLock<regex::Regex> =
    std::sync::LazyLock::new(|| regex::Regex::new(r"\s*/\s*").expect("valid pattern"));

/// The RFC 3261 branch prefix; a branch without it comes from an RFC 2543 peer.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    pub transport: String,
    pub host: String,
    pub port: Option<u16>,
    pub params: Params,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed Via `{0}`")]
pub struct ViaError(pub String);

impl Via {
    pub fn parse(s: &str) -> Result<Via, ViaError> {
        let err = || ViaError(s.to_string());
        // SWS is allowed around the slashes of sent-protocol (RFC 3261 §25.1).
        let compact = SLASH_SPACES.replace_all(s.trim(), "/");
        let s = compact.as_ref();
        let (proto, rest) = s.split_once(|c: char| c.is_whitespace()).ok_or_else(err)?;
        let mut parts = proto.split('/').map(str::trim);
        let (name, version, transport) = (parts.next(), parts.next(), parts.next());
        if !name.is_some_and(|n| n.eq_ignore_ascii_case("SIP"))
            || version != Some("2.0")
            || parts.next().is_some()
        {
            return Err(err());
        }
        let transport = transport
            .filter(|t| !t.is_empty())
            .ok_or_else(err)?
            .to_ascii_uppercase();
        let rest = rest.trim();
        let (sent_by, params) = rest.split_once(';').map_or((rest, ""), |(a, b)| (a, b));
        let (host, port) = split_host_port(sent_by.trim()).ok_or_else(err)?;
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(err());
        }
        Ok(Via {
            transport,
            host: host.to_string(),
            port,
            params: parse_params(params),
        })
    }

    pub fn new(transport: &str, addr: SocketAddr, branch: &str) -> Via {
        let host = match addr {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        };
        let mut params = Params::default();
        params.set("branch", Some(branch.to_string()));
        params.set("rport", None);
        Via {
            transport: transport.to_string(),
            host,
            port: Some(addr.port()),
            params,
        }
    }

    pub fn branch(&self) -> Option<&str> {
        self.params.get("branch").filter(|b| !b.is_empty())
    }

    /// True for an RFC 3261 branch: the magic cookie and something after it. A
    /// branch of the cookie alone identifies nothing, so its request is matched
    /// the RFC 2543 way (RFC 4475 §3.2.1).
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch()
            .is_some_and(|b| b.len() > MAGIC_COOKIE.len() && b.starts_with(MAGIC_COOKIE))
    }

    /// Stamps `received` and a requested `rport` with the real source (RFC 3581 §4).
    pub fn stamp_source(&mut self, source: SocketAddr) {
        let ip = source.ip().to_string();
        if self.host != ip || self.params.get("rport").is_some() {
            self.params.set("received", Some(ip));
        }
        if self.params.get("rport").is_some() {
            self.params.set("rport", Some(source.port().to_string()));
        }
    }

    /// Where a response to this Via goes over UDP (RFC 3261 §18.2.2, RFC 3581 §4).
    pub fn response_target(&self, source: SocketAddr) -> SocketAddr {
        let rport = self.params.get("rport").and_then(|p| p.parse::<u16>().ok());
        let host = self.params.get("received").and_then(|r| r.parse().ok());
        match (host, rport) {
            (Some(ip), Some(p)) => SocketAddr::new(ip, p),
            (Some(ip), None) => SocketAddr::new(ip, self.port.unwrap_or(5060)),
            (None, Some(p)) => SocketAddr::new(source.ip(), p),
            (None, None) => {
                let ip = self
                    .host
                    .trim_matches(['[', ']'])
                    .parse()
                    .unwrap_or(source.ip());
                SocketAddr::new(ip, self.port.unwrap_or(5060))
            }
        }
    }

    /// The sent-by as `host:port` for transaction matching.
    pub fn sent_by(&self) -> String {
        format!(
            "{}:{}",
            self.host.to_ascii_lowercase(),
            self.port.unwrap_or(5060)
        )
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        write!(f, "{}", self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_routes_with_rport() {
        let mut v = Via::parse("SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK776;rport").unwrap();
        assert_eq!(
            (v.transport.as_str(), v.host.as_str(), v.port),
            ("UDP", "10.0.0.5", Some(5062))
        );
        assert!(v.has_rfc3261_branch());
        let bare = Via::parse("SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK").unwrap();
        assert!(!bare.has_rfc3261_branch());
        let src: SocketAddr = "203.0.113.9:40000".parse().unwrap();
        v.stamp_source(src);
        assert_eq!(
            v.to_string(),
            "SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK776;rport=40000;received=203.0.113.9"
        );
        assert_eq!(v.response_target(src), src);
    }

    #[test]
    fn without_rport_uses_sent_by_port_and_received() {
        let mut v = Via::parse("SIP/2.0/UDP pc33.example.com;branch=z9hG4bKx").unwrap();
        let src: SocketAddr = "192.0.2.4:5070".parse().unwrap();
        v.stamp_source(src);
        assert_eq!(
            v.response_target(src),
            "192.0.2.4:5060".parse::<std::net::SocketAddr>().unwrap()
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "SIP/2.0/UDP",
            "SIP/3.0/UDP a",
            "HTTP/2.0/UDP a",
            "SIP/2.0/ a",
            "SIP/2.0/UDP a:b",
        ] {
            assert!(Via::parse(bad).is_err(), "{bad}");
        }
        let spaced = Via::parse("SIP / 2.0 / UDP host.example.com;branch=z9hG4bK1").unwrap();
        assert_eq!(
            (spaced.transport.as_str(), spaced.host.as_str()),
            ("UDP", "host.example.com")
        );
    }
}
