//! Reading an inbound e-mail: headers (unfolded; encoded words in the sender's
//! name and the subject decoded by `encoded_word`), the sender, subject, threading
//! ids, and a plain-text body (the text/plain part of a multipart message, or
//! HTML reduced to text so nothing from it is ever rendered as markup).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub from_name: Option<String>,
    pub from: String,
    pub subject: String,
    pub message_id: Option<String>,
    /// Message-IDs this one answers (In-Reply-To, then References).
    pub refers_to: Vec<String>,
    pub text: String,
    /// An auto-reply, bounce or list message that must not be answered.
    pub automatic: bool,
}

fn headers_and_body(raw: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .or_else(|| raw.split_once("\n\n"))
        .unwrap_or((raw, ""));
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    (out, body)
}

fn get<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn ids(v: &str) -> Vec<String> {
    v.split_whitespace()
        .map(|s| s.trim_matches(['<', '>', ',']).to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Removes tags and decodes the common entities.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    let lower = html.to_ascii_lowercase();
    let mut skip_until: Option<&str> = None;
    let mut i = 0;
    while i < html.len() {
        if let Some(end) = skip_until {
            match lower[i..].find(end) {
                Some(p) => {
                    i += p + end.len();
                    skip_until = None;
                    continue;
                }
                None => break,
            }
        }
        let rest = &lower[i..];
        if rest.starts_with("<script") {
            skip_until = Some("</script>");
            continue;
        }
        if rest.starts_with("<style") {
            skip_until = Some("</style>");
            continue;
        }
        let c = html[i..].chars().next().unwrap_or(' ');
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
        i += c.len_utf8();
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .trim()
        .to_string()
}

/// The text of a body given its Content-Type (one level of multipart).
fn text_of(content_type: &str, body: &str) -> String {
    let ct = content_type.to_ascii_lowercase();
    if ct.starts_with("multipart/") {
        let boundary = content_type
            .split(';')
            .find_map(|p| p.trim().strip_prefix("boundary="))
            .map(|b| b.trim_matches('"').to_string());
        if let Some(b) = boundary {
            let marker = format!("--{b}");
            let parts: Vec<&str> = body.split(marker.as_str()).skip(1).collect();
            let mut html = None;
            for part in parts {
                let (h, b) = headers_and_body(part.trim_start_matches(['\r', '\n']));
                let pct = get(&h, "content-type")
                    .unwrap_or("text/plain")
                    .to_ascii_lowercase();
                if pct.starts_with("text/plain") {
                    return b.trim().to_string();
                }
                if pct.starts_with("text/html") {
                    html = Some(html_to_text(b));
                }
            }
            return html.unwrap_or_default();
        }
    }
    if ct.starts_with("text/html") {
        html_to_text(body)
    } else {
        body.trim().to_string()
    }
}

pub fn parse(raw: &[u8], envelope_from: &str) -> Mail {
    let raw = String::from_utf8_lossy(raw);
    let (h, body) = headers_and_body(&raw);
    let from_header = &super::encoded_word::decode(get(&h, "from").unwrap_or(envelope_from));
    let (from_name, from) = match (from_header.find('<'), from_header.rfind('>')) {
        (Some(a), Some(b)) if a < b => {
            let name = from_header[..a].trim().trim_matches('"').to_string();
            (
                (!name.is_empty()).then_some(name),
                from_header[a + 1..b].trim().to_ascii_lowercase(),
            )
        }
        _ => (None, from_header.trim().to_ascii_lowercase()),
    };
    let mut refers_to = get(&h, "in-reply-to").map(ids).unwrap_or_default();
    refers_to.extend(get(&h, "references").map(ids).unwrap_or_default());
    let automatic = envelope_from.is_empty()
        || get(&h, "auto-submitted").is_some_and(|v| !v.eq_ignore_ascii_case("no"))
        || get(&h, "precedence").is_some_and(|v| {
            matches!(
                v.to_ascii_lowercase().as_str(),
                "bulk" | "junk" | "list" | "auto_reply"
            )
        })
        || get(&h, "x-autoreply").is_some()
        || get(&h, "list-id").is_some();
    Mail {
        from_name,
        from,
        subject: super::encoded_word::decode(get(&h, "subject").unwrap_or("")),
        message_id: get(&h, "message-id").map(|v| v.trim_matches(['<', '>']).to_string()),
        refers_to,
        text: text_of(get(&h, "content-type").unwrap_or("text/plain"), body),
        automatic,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_headers_threading_and_plain_text() {
        let raw = "From: \"Li Lei\" <Li@Example.com>\r\nSubject: Order\r\n late\r\nMessage-ID: <m2@example.com>\r\nIn-Reply-To: <m1@acme.test>\r\nReferences: <m0@acme.test> <m1@acme.test>\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--b1\r\nContent-Type: text/plain\r\n\r\nWhere is it?\r\n--b1--\r\n";
        let m = parse(raw.as_bytes(), "li@example.com");
        assert_eq!(
            (m.from.as_str(), m.from_name.as_deref(), m.subject.as_str()),
            ("li@example.com", Some("Li Lei"), "Order late")
        );
        assert_eq!(m.message_id.as_deref(), Some("m2@example.com"));
        assert_eq!(
            m.refers_to,
            ["m1@acme.test", "m0@acme.test", "m1@acme.test"]
        );
        assert_eq!(m.text, "Where is it?");
        assert!(!m.automatic);
    }

    #[test]
    fn html_is_reduced_to_text_and_bounces_are_spotted() {
        assert_eq!(
            html_to_text("<p>Hi &amp; bye<script>alert(1)</script><b>!</b></p>"),
            "Hi & bye!"
        );
        let bounce = parse(
            b"From: MAILER-DAEMON@x\r\nAuto-Submitted: auto-replied\r\n\r\nfailed",
            "",
        );
        assert!(bounce.automatic);
    }
}
