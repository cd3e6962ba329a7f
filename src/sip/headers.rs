//! The header list of a SIP message: names compared case-insensitively, compact
//! forms expanded (RFC 3261 §7.3.3), order and unknown headers kept as received,
//! comma-separated values split outside quotes and angle brackets.

/// One header line as received (name canonicalised, value trimmed and unfolded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    list: Vec<Header>,
}

/// Maps a header name to its canonical long form.
pub fn canonical(name: &str) -> String {
    let long = match name.to_ascii_lowercase().as_str() {
        "i" | "call-id" => "Call-ID",
        "m" | "contact" => "Contact",
        "e" | "content-encoding" => "Content-Encoding",
        "l" | "content-length" => "Content-Length",
        "c" | "content-type" => "Content-Type",
        "f" | "from" => "From",
        "s" | "subject" => "Subject",
        "k" | "supported" => "Supported",
        "t" | "to" => "To",
        "v" | "via" => "Via",
        "o" | "event" => "Event",
        "r" | "refer-to" => "Refer-To",
        "cseq" => "CSeq",
        "max-forwards" => "Max-Forwards",
        "www-authenticate" => "WWW-Authenticate",
        "authorization" => "Authorization",
        "proxy-authenticate" => "Proxy-Authenticate",
        "proxy-authorization" => "Proxy-Authorization",
        "record-route" => "Record-Route",
        "route" => "Route",
        "expires" => "Expires",
        "require" => "Require",
        "proxy-require" => "Proxy-Require",
        "allow" => "Allow",
        "accept" => "Accept",
        "user-agent" => "User-Agent",
        "server" => "Server",
        "unsupported" => "Unsupported",
        "retry-after" => "Retry-After",
        "session-expires" | "x" => "Session-Expires",
        "min-se" => "Min-SE",
        _ => return name.to_string(),
    };
    long.to_string()
}

impl Headers {
    pub fn new() -> Headers {
        Headers::default()
    }

    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.list.push(Header {
            name: canonical(name),
            value: value.into(),
        });
    }

    /// Inserts a header before all others of any name (for a new top Via).
    pub fn push_front(&mut self, name: &str, value: impl Into<String>) {
        self.list.insert(
            0,
            Header {
                name: canonical(name),
                value: value.into(),
            },
        );
    }

    /// Replaces every header named `name` with one value.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let name = canonical(name);
        let pos = self
            .list
            .iter()
            .position(|h| h.name.eq_ignore_ascii_case(&name));
        self.list.retain(|h| !h.name.eq_ignore_ascii_case(&name));
        let header = Header {
            name,
            value: value.into(),
        };
        match pos {
            Some(p) if p <= self.list.len() => self.list.insert(p, header),
            _ => self.list.push(header),
        }
    }

    pub fn remove(&mut self, name: &str) {
        let name = canonical(name);
        self.list.retain(|h| !h.name.eq_ignore_ascii_case(&name));
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        let name = canonical(name);
        self.list
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(&name))
            .map(|h| h.value.as_str())
    }

    /// Every value of `name`, with comma-separated lists split into elements.
    pub fn get_all(&self, name: &str) -> Vec<&str> {
        let name = canonical(name);
        self.list
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(&name))
            .flat_map(|h| split_list(&h.value))
            .collect()
    }

    /// The raw header lines of `name` (not split).
    pub fn lines(&self, name: &str) -> impl Iterator<Item = &Header> {
        let name = canonical(name);
        self.list
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(&name))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.list.iter()
    }

    /// Removes the first element of the first `name` header (the top Via).
    pub fn pop_first_element(&mut self, name: &str) {
        let name = canonical(name);
        let Some(i) = self
            .list
            .iter()
            .position(|h| h.name.eq_ignore_ascii_case(&name))
        else {
            return;
        };
        let parts = split_list(&self.list[i].value);
        if parts.len() <= 1 {
            self.list.remove(i);
        } else {
            self.list[i].value = parts[1..].join(", ");
        }
    }

    /// Replaces the first element of the first `name` header.
    pub fn replace_first_element(&mut self, name: &str, value: String) {
        let name = canonical(name);
        let Some(i) = self
            .list
            .iter()
            .position(|h| h.name.eq_ignore_ascii_case(&name))
        else {
            return;
        };
        let mut parts: Vec<String> = split_list(&self.list[i].value)
            .into_iter()
            .map(String::from)
            .collect();
        if parts.is_empty() {
            parts.push(value);
        } else {
            parts[0] = value;
        }
        self.list[i].value = parts.join(", ");
    }
}

/// Splits a comma-separated header value, ignoring commas inside quotes or `<…>`.
pub fn split_list(value: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut angle, mut escaped) = (0, false, false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ',' if !quoted && !angle => {
                let part = value[start..i].trim();
                if !part.is_empty() {
                    out.push(part);
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = value[start..].trim();
    if !last.is_empty() {
        out.push(last);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_and_case_insensitive() {
        let mut h = Headers::new();
        h.push("v", "SIP/2.0/UDP a;branch=z9hG4bK1");
        h.push(
            "VIA",
            "SIP/2.0/UDP b;branch=z9hG4bK2, SIP/2.0/UDP c;branch=z9hG4bK3",
        );
        h.push("i", "abc");
        assert_eq!(h.get("call-id"), Some("abc"));
        assert_eq!(h.get_all("Via").len(), 3);
        h.pop_first_element("via");
        assert_eq!(
            h.get("Via"),
            Some("SIP/2.0/UDP b;branch=z9hG4bK2, SIP/2.0/UDP c;branch=z9hG4bK3")
        );
        h.pop_first_element("via");
        assert_eq!(h.get_all("Via"), vec!["SIP/2.0/UDP c;branch=z9hG4bK3"]);
    }

    #[test]
    fn splits_outside_quotes_and_brackets() {
        let v = r#""Doe, John" <sip:j@x;a=1,2>;tag=1, <sip:b@y>"#;
        assert_eq!(
            split_list(v),
            vec![r#""Doe, John" <sip:j@x;a=1,2>;tag=1"#, "<sip:b@y>"]
        );
        assert_eq!(split_list(r#""a\",b", c"#), vec![r#""a\",b""#, "c"]);
    }

    #[test]
    fn set_replaces_in_place() {
        let mut h = Headers::new();
        h.push("To", "a");
        h.push("Content-Length", "5");
        h.push("l", "6");
        h.set("content-length", "0");
        assert_eq!(h.get_all("Content-Length"), vec!["0"]);
        assert_eq!(h.iter().count(), 2);
    }
}
