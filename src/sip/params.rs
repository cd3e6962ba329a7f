//! `;name=value` parameter lists of URIs and headers (names case-insensitive,
//! values possibly quoted), kept in order for printing back.

use std::fmt;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, Option<String>)>);

impl Params {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }

    pub fn set(&mut self, name: &str, value: Option<String>) {
        match self
            .0
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value,
            None => self.0.push((name.to_string(), value)),
        }
    }
}

/// Parses `a=1;b;c="x;y"` (without the leading `;`).
pub fn parse_params(s: &str) -> Params {
    let mut out = Vec::new();
    for part in split_semicolons(s) {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        match part.split_once('=') {
            Some((n, v)) => out.push((n.trim().to_string(), Some(v.trim().to_string()))),
            None => out.push((part.to_string(), None)),
        }
    }
    Params(out)
}

/// Splits on `;` outside double quotes.
pub fn split_semicolons(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ';' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, v) in &self.0 {
            match v {
                Some(v) => write!(f, ";{n}={v}")?,
                None => write!(f, ";{n}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_flags_values_and_quotes() {
        let p = parse_params(r#"branch=z9hG4bK1;rport;x="a;b""#);
        assert_eq!(p.get("BRANCH"), Some("z9hG4bK1"));
        assert_eq!(p.get("rport"), Some(""));
        assert_eq!(p.get("x"), Some(r#""a;b""#));
        assert_eq!(p.to_string(), r#";branch=z9hG4bK1;rport;x="a;b""#);
    }
}
