//! Writing an agent's reply as an e-mail: From is the agent's name at the support
//! address, the subject gets one "Re:", and In-Reply-To / References carry the
//! thread so the customer's mail program (and our own listener, when they answer)
//! keeps it in one conversation. Pure: the facts come in, a message goes out.

use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MessageBuilder};

/// Longest References chain we send (the oldest and the newest ids are kept).
const MAX_REFERENCES: usize = 10;

/// Everything a reply is made of.
#[derive(Debug, Clone)]
pub struct Reply<'a> {
    pub to: &'a str,
    pub to_name: Option<&'a str>,
    pub from_address: &'a str,
    /// The agent's name; shown as "Ann (Support)" (an RFC 2047 encoded word on the wire).
    pub agent: &'a str,
    pub company: &'a str,
    /// The thread's subject (the conversation's), without our "Re:".
    pub subject: &'a str,
    /// The customer's message this answers (In-Reply-To), without angle brackets.
    pub answering: Option<&'a str>,
    /// Message-IDs of the thread, oldest first, without angle brackets (References).
    pub thread: &'a [String],
    /// This reply's own Message-ID, without angle brackets.
    pub message_id: &'a str,
    pub text: &'a str,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ComposeError {
    #[error("the customer's address `{0}` is not a valid e-mail address")]
    BadRecipient(String),
    #[error("the support address `{0}` is not a valid e-mail address")]
    BadSender(String),
    #[error("the message could not be built: {0}")]
    Build(String),
}

/// Builds the reply. Errors are permanent: trying again cannot fix them.
pub fn compose(r: &Reply<'_>) -> Result<Message, ComposeError> {
    let to =
        r.to.parse::<lettre::Address>()
            .map_err(|_| ComposeError::BadRecipient(r.to.into()))?;
    let from = r
        .from_address
        .parse::<lettre::Address>()
        .map_err(|_| ComposeError::BadSender(r.from_address.into()))?;
    let display = format!("{} ({})", clean(r.agent), clean(r.company));
    let mut b: MessageBuilder = Message::builder()
        .from(Mailbox::new(Some(display), from))
        .to(Mailbox::new(r.to_name.map(clean), to))
        .subject(subject(r.subject))
        .message_id(Some(format!("<{}>", r.message_id)));
    if let Some(id) = r.answering.or(r.thread.last().map(String::as_str)) {
        b = b.in_reply_to(format!("<{id}>"));
    }
    if !r.thread.is_empty() {
        b = b.references(references(r.thread));
    }
    b.header(ContentType::TEXT_PLAIN)
        .body(r.text.replace("\r\n", "\n").replace('\n', "\r\n"))
        .map_err(|e| ComposeError::Build(e.to_string()))
}

/// "Re: <subject>", never "Re: Re: …"; a thread without a subject gets one.
pub fn subject(thread_subject: &str) -> String {
    let s = clean(thread_subject);
    let s = s.trim();
    if s.is_empty() {
        "Re: your message".into()
    } else if s.len() >= 3 && s[..3].eq_ignore_ascii_case("re:") {
        s.to_string()
    } else {
        format!("Re: {s}")
    }
}

/// The References header: the first id and the newest ones, each in brackets.
fn references(thread: &[String]) -> String {
    let picked: Vec<&String> = if thread.len() <= MAX_REFERENCES {
        thread.iter().collect()
    } else {
        std::iter::once(&thread[0])
            .chain(&thread[thread.len() - (MAX_REFERENCES - 1)..])
            .collect()
    };
    picked
        .iter()
        .map(|id| format!("<{id}>"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A header value without line breaks or control characters.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply<'a>(thread: &'a [String], to: &'a str) -> Reply<'a> {
        Reply {
            to,
            to_name: Some("Li Wei"),
            from_address: "support@example.com",
            agent: "Ann",
            company: "Support",
            subject: "Order 42 late",
            answering: None,
            thread,
            message_id: "c1.7@example.com",
            text: "Hello,\nit ships today.",
        }
    }

    fn text(m: &Message) -> String {
        String::from_utf8(m.formatted()).unwrap()
    }

    #[test]
    fn a_reply_carries_the_thread_and_the_agent() {
        let thread = vec!["a@cust".to_string(), "b@cust".to_string()];
        let m = text(&compose(&reply(&thread, "li@example.org")).unwrap());
        // "Ann (Support)" as an RFC 2047 encoded word.
        assert!(
            m.contains("From: =?utf-8?b?QW5uIChTdXBwb3J0KQ==?= <support@example.com>"),
            "{m}"
        );
        assert!(m.contains("To: \"Li Wei\" <li@example.org>"), "{m}");
        assert!(m.contains("Subject: Re: Order 42 late"), "{m}");
        assert!(m.contains("Message-ID: <c1.7@example.com>"), "{m}");
        assert!(m.contains("In-Reply-To: <b@cust>"), "{m}");
        assert!(m.contains("References: <a@cust> <b@cust>"), "{m}");
        assert!(m.contains("it ships today."), "{m}");
    }

    #[test]
    fn subjects_get_one_re_and_a_fallback() {
        assert_eq!(subject("RE: hi"), "RE: hi");
        assert_eq!(subject("hi"), "Re: hi");
        assert_eq!(subject("  "), "Re: your message");
        assert_eq!(subject("a\r\nBcc: x@y"), "Re: a  Bcc: x@y");
    }

    #[test]
    fn a_long_thread_keeps_the_first_and_the_newest_ids() {
        let thread: Vec<String> = (0..30).map(|i| format!("m{i}@x")).collect();
        let r = references(&thread);
        assert!(r.starts_with("<m0@x> <m21@x>"), "{r}");
        assert!(r.ends_with("<m29@x>"));
        assert_eq!(r.split(' ').count(), MAX_REFERENCES);
    }

    #[test]
    fn a_bad_address_is_a_permanent_error() {
        let e = compose(&reply(&[], "not an address")).unwrap_err();
        assert_eq!(e, ComposeError::BadRecipient("not an address".into()));
        let mut r = reply(&[], "li@example.org");
        r.from_address = "nobody";
        assert!(matches!(compose(&r), Err(ComposeError::BadSender(_))));
    }

    #[test]
    fn no_thread_means_no_in_reply_to() {
        let m = text(&compose(&reply(&[], "li@example.org")).unwrap());
        assert!(!m.contains("In-Reply-To"), "{m}");
    }
}
