//! Mail for tests: a real SMTP server (Debian's aiosmtpd) storing what it
//! receives in a Maildir, and reading headers of what it got.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real SMTP server that stores what it receives in a Maildir.
pub struct Relay {
    child: Child,
    maildir: PathBuf,
}

impl Relay {
    pub fn start(port: u16, dir: &Path) -> Relay {
        let maildir = dir.join("maildir");
        let child = Command::new("/usr/bin/python3")
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("aiosmtpd (Debian package python3-aiosmtpd)");
        Relay { child, maildir }
    }

    /// The messages received so far.
    pub fn messages(&self) -> Vec<String> {
        let mut out = vec![];
        for sub in ["new", "cur"] {
            if let Ok(dir) = std::fs::read_dir(self.maildir.join(sub)) {
                for f in dir.flatten() {
                    out.push(std::fs::read_to_string(f.path()).unwrap_or_default());
                }
            }
        }
        out
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A header's value (first occurrence, unfolded).
pub fn header(mail: &str, name: &str) -> Option<String> {
    let head = mail.split("\n\n").next().unwrap_or("");
    let mut value: Option<String> = None;
    for line in head.lines() {
        if let Some(v) = value.as_mut() {
            if line.starts_with([' ', '\t']) {
                v.push(' ');
                v.push_str(line.trim());
                continue;
            }
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case(name)
        {
            value = Some(v.trim().to_string());
        }
    }
    value
}

/// A header with its RFC 2047 `=?utf-8?b?…?=` words decoded.
pub fn decoded(value: &str) -> String {
    use base64::Engine;
    let words = value.split(' ').map(|w| {
        let inner = w
            .get(..10)
            .filter(|p| p.eq_ignore_ascii_case("=?utf-8?b?"))
            .and_then(|_| w[10..].strip_suffix("?="));
        match inner {
            Some(b64) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap();
                String::from_utf8(bytes).unwrap()
            }
            None => w.to_string(),
        }
    });
    words.collect::<Vec<_>>().join(" ")
}
