//! The SDP data model and its text form: session-level lines, media sections with
//! their formats, connection and attributes. Unknown lines are kept.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    #[error("line {line}: {message}")]
    Line { line: usize, message: String },
    #[error("no v= line")]
    NoVersion,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionDescription {
    /// `o=` as written: username sess-id sess-version nettype addrtype address.
    pub origin: String,
    pub name: String,
    /// Session-level `c=` address.
    pub connection: Option<String>,
    pub attributes: Vec<String>,
    pub media: Vec<Media>,
    /// Other session-level lines (`b=`, `t=`, …) as `x=value`.
    pub other: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Media {
    pub kind: String,
    pub port: u16,
    pub proto: String,
    pub formats: Vec<String>,
    pub connection: Option<String>,
    /// `a=` values without the `a=`.
    pub attributes: Vec<String>,
    pub other: Vec<String>,
}

impl Media {
    /// Values of `a=name:value` attributes.
    pub fn attr_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.attributes
            .iter()
            .filter_map(move |a| a.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
    }

    pub fn has_flag(&self, name: &str) -> bool {
        self.attributes.iter().any(|a| a == name)
    }
}

/// The address of a `c=IN IP4 addr` value.
pub fn connection_address(c: &str) -> Option<&str> {
    let mut it = c.split_whitespace();
    match (it.next(), it.next(), it.next()) {
        (Some("IN"), Some("IP4" | "IP6"), Some(addr)) => {
            Some(addr.split('/').next().unwrap_or(addr))
        }
        _ => None,
    }
}

impl SessionDescription {
    pub fn parse(text: &str) -> Result<SessionDescription, ParseError> {
        let mut sd = SessionDescription::default();
        let mut seen_v = false;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim_end_matches('\r');
            if line.is_empty() {
                continue;
            }
            let err = |m: &str| ParseError::Line {
                line: i + 1,
                message: m.to_string(),
            };
            let (kind, value) = line
                .split_once('=')
                .ok_or_else(|| err("expected type=value"))?;
            if kind.len() != 1 {
                return Err(err("type must be one letter"));
            }
            match (kind, sd.media.last_mut()) {
                ("v", _) if value == "0" => seen_v = true,
                ("v", _) => return Err(err("version must be 0")),
                ("o", _) => sd.origin = value.to_string(),
                ("s", _) => sd.name = value.to_string(),
                ("m", _) => sd
                    .media
                    .push(parse_media(value).ok_or_else(|| err("bad m= line"))?),
                ("c", None) => sd.connection = Some(value.to_string()),
                ("c", Some(m)) => m.connection = Some(value.to_string()),
                ("a", None) => sd.attributes.push(value.to_string()),
                ("a", Some(m)) => m.attributes.push(value.to_string()),
                (_, None) => sd.other.push(line.to_string()),
                (_, Some(m)) => m.other.push(line.to_string()),
            }
            if !seen_v {
                return Err(ParseError::NoVersion);
            }
        }
        if !seen_v {
            return Err(ParseError::NoVersion);
        }
        Ok(sd)
    }
}

fn parse_media(value: &str) -> Option<Media> {
    let mut it = value.split_whitespace();
    let kind = it.next()?.to_string();
    let port = it.next()?.split('/').next()?.parse().ok()?;
    let proto = it.next()?.to_string();
    let formats: Vec<String> = it.map(String::from).collect();
    if formats.is_empty() {
        return None;
    }
    Some(Media {
        kind,
        port,
        proto,
        formats,
        ..Default::default()
    })
}

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "v=0\r\no={}\r\ns={}\r\n",
            self.origin,
            if self.name.is_empty() {
                "-"
            } else {
                &self.name
            }
        )?;
        if let Some(c) = &self.connection {
            write!(f, "c={c}\r\n")?;
        }
        let has_t = self.other.iter().any(|l| l.starts_with("t="));
        for l in &self.other {
            write!(f, "{l}\r\n")?;
        }
        if !has_t {
            f.write_str("t=0 0\r\n")?;
        }
        for a in &self.attributes {
            write!(f, "a={a}\r\n")?;
        }
        for m in &self.media {
            write!(
                f,
                "m={} {} {} {}\r\n",
                m.kind,
                m.port,
                m.proto,
                m.formats.join(" ")
            )?;
            if let Some(c) = &m.connection {
                write!(f, "c={c}\r\n")?;
            }
            for l in &m.other {
                write!(f, "{l}\r\n")?;
            }
            for a in &m.attributes {
                write!(f, "a={a}\r\n")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIPP: &str = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-11,16\r\n";

    #[test]
    fn parses_and_prints_back() {
        let sd = SessionDescription::parse(SIPP).unwrap();
        assert_eq!(sd.media[0].port, 6000);
        assert_eq!(sd.media[0].formats, ["8", "101"]);
        assert_eq!(
            connection_address(sd.connection.as_deref().unwrap()),
            Some("127.0.0.1")
        );
        assert_eq!(sd.media[0].attr_values("rtpmap").count(), 2);
        assert_eq!(SessionDescription::parse(&sd.to_string()).unwrap(), sd);
    }

    #[test]
    fn rejects_junk_without_panicking() {
        assert!(SessionDescription::parse("").is_err());
        assert!(SessionDescription::parse("o=x\r\nv=0\r\n").is_err());
        assert!(SessionDescription::parse("v=0\r\nm=audio x RTP/AVP 0\r\n").is_err());
        assert!(SessionDescription::parse("v=0\r\nm=audio 1 RTP/AVP\r\n").is_err());
        assert!(SessionDescription::parse("v=0\r\nxx=1\r\n").is_err());
        for junk in ["\u{0}", "=", "v=0\r\n=", "v=0\nm=\n"] {
            let _ = SessionDescription::parse(junk);
        }
    }
}
