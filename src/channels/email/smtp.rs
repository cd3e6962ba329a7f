//! The SMTP server conversation (RFC 5321), sans-IO: lines in, replies out, and
//! a finished message when DATA ends. Only what a mail server forwarding our
//! support address needs: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT.

/// Largest message accepted, in bytes (also announced as SIZE).
pub const MAX_MESSAGE: usize = 10 * 1024 * 1024;
/// Recipients per message.
const MAX_RCPT: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub from: String,
    pub to: Vec<String>,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send this reply line (with CRLF) and keep reading.
    Reply(String),
    /// A whole message arrived; store it, then send `ok` (or a 4xx if storing failed).
    Message(Envelope),
    /// Send this reply and close.
    Close(String),
}

#[derive(Debug, Default)]
enum State {
    #[default]
    Greeted,
    Ready,
    Mail {
        from: String,
        to: Vec<String>,
    },
    Data {
        from: String,
        to: Vec<String>,
        data: Vec<u8>,
        too_big: bool,
    },
}

#[derive(Debug, Default)]
pub struct Session {
    state: State,
    host: String,
}

impl Session {
    pub fn new(host: &str) -> Session {
        Session {
            state: State::Greeted,
            host: host.into(),
        }
    }

    pub fn greeting(&self) -> String {
        format!("220 {} Switchboard ESMTP", self.host)
    }

    /// Takes one line without its CRLF.
    pub fn line(&mut self, line: &[u8]) -> Step {
        if let State::Data { .. } = self.state {
            return self.data_line(line);
        }
        let text = String::from_utf8_lossy(line);
        let (verb, arg) = text.split_once(' ').unwrap_or((&text, ""));
        match (verb.to_ascii_uppercase().as_str(), &mut self.state) {
            ("EHLO", _) => {
                self.state = State::Ready;
                Step::Reply(format!(
                    "250-{}\r\n250-SIZE {MAX_MESSAGE}\r\n250-8BITMIME\r\n250 PIPELINING",
                    self.host
                ))
            }
            ("HELO", _) => {
                self.state = State::Ready;
                Step::Reply(format!("250 {}", self.host))
            }
            ("NOOP", _) => Step::Reply("250 OK".into()),
            ("QUIT", _) => Step::Close("221 Bye".into()),
            ("RSET", State::Greeted) => Step::Reply("250 OK".into()),
            ("RSET", _) => {
                self.state = State::Ready;
                Step::Reply("250 OK".into())
            }
            ("MAIL", State::Ready) => match path(arg, "FROM:") {
                Some(from) => {
                    self.state = State::Mail { from, to: vec![] };
                    Step::Reply("250 OK".into())
                }
                None => Step::Reply("501 Syntax: MAIL FROM:<address>".into()),
            },
            ("RCPT", State::Mail { to, .. }) => match path(arg, "TO:") {
                Some(_) if to.len() >= MAX_RCPT => Step::Reply("452 Too many recipients".into()),
                Some(rcpt) if !rcpt.is_empty() => {
                    to.push(rcpt);
                    Step::Reply("250 OK".into())
                }
                _ => Step::Reply("501 Syntax: RCPT TO:<address>".into()),
            },
            ("DATA", State::Mail { from, to }) if !to.is_empty() => {
                self.state = State::Data {
                    from: std::mem::take(from),
                    to: std::mem::take(to),
                    data: vec![],
                    too_big: false,
                };
                Step::Reply("354 End data with <CR><LF>.<CR><LF>".into())
            }
            ("MAIL" | "RCPT" | "DATA", _) => Step::Reply("503 Bad sequence of commands".into()),
            _ => Step::Reply("502 Command not implemented".into()),
        }
    }

    fn data_line(&mut self, line: &[u8]) -> Step {
        let State::Data { data, too_big, .. } = &mut self.state else {
            return Step::Reply("451 Internal error".into());
        };
        if line == b"." {
            let state = std::mem::replace(&mut self.state, State::Ready);
            return match state {
                State::Data { too_big: true, .. } => Step::Reply("552 Message too large".into()),
                State::Data { from, to, data, .. } => Step::Message(Envelope { from, to, data }),
                _ => Step::Reply("451 Internal error".into()),
            };
        }
        let line = line.strip_prefix(b".").unwrap_or(line);
        if data.len() + line.len() + 2 > MAX_MESSAGE {
            *too_big = true;
        } else {
            data.extend_from_slice(line);
            data.extend_from_slice(b"\r\n");
        }
        Step::Reply(String::new())
    }
}

/// The address inside `FROM:<a@b> SIZE=…` (empty for the null sender `<>`).
fn path(arg: &str, prefix: &str) -> Option<String> {
    let rest = arg.trim();
    if !rest.to_ascii_uppercase().starts_with(prefix) {
        return None;
    }
    let rest = rest[prefix.len()..].trim_start();
    let inner = rest.strip_prefix('<')?.split('>').next()?;
    Some(inner.trim().to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(s: &mut Session, lines: &[&str]) -> Vec<Step> {
        lines.iter().map(|l| s.line(l.as_bytes())).collect()
    }

    #[test]
    fn a_message_goes_through_and_dots_are_unstuffed() {
        let mut s = Session::new("mx.test");
        let out = run(
            &mut s,
            &[
                "EHLO client",
                "MAIL FROM:<Li@Example.com> SIZE=100",
                "RCPT TO:<support@acme.test>",
                "DATA",
                "Subject: hi",
                "",
                "..line",
                ".",
            ],
        );
        match out.last().unwrap() {
            Step::Message(e) => {
                assert_eq!(e.from, "li@example.com");
                assert_eq!(e.to, ["support@acme.test"]);
                assert_eq!(e.data, b"Subject: hi\r\n\r\n.line\r\n");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.line(b"QUIT"), Step::Close("221 Bye".into()));
    }

    #[test]
    fn bad_sequences_and_garbage_get_errors() {
        let mut s = Session::new("mx.test");
        assert_eq!(
            s.line(b"DATA"),
            Step::Reply("503 Bad sequence of commands".into())
        );
        assert_eq!(
            s.line(b"\xff\xfe garbage"),
            Step::Reply("502 Command not implemented".into())
        );
        s.line(b"HELO x");
        assert_eq!(
            s.line(b"MAIL FROM: nobody"),
            Step::Reply("501 Syntax: MAIL FROM:<address>".into())
        );
        s.line(b"MAIL FROM:<>");
        assert_eq!(
            s.line(b"DATA"),
            Step::Reply("503 Bad sequence of commands".into()),
            "no recipient yet"
        );
    }
}
