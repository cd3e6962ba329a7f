//! The `lookup` step: POSTs the call's variables to a URL with `{variables}`
//! expanded (percent-encoded), then puts the answer's fields into variables and
//! goes on at `next`, or at `on_fail` on an error or timeout.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Command, LOOKUP_GRACE, Vm, Wait};
use crate::dialplan::schema::Lookup;

impl Vm {
    pub(super) fn start_lookup(&mut self, now: Instant, name: &str, l: &Lookup) {
        let url = self.expand(&l.url.value);
        let timeout = Duration::from_millis(l.timeout_ms);
        self.timeline_step(name, json!({ "lookup": url }));
        self.out.push_back(Command::Lookup {
            url,
            body: json!(self.vars),
            timeout,
        });
        self.wait = Wait::Lookup;
        self.deadline = Some(now + timeout + LOOKUP_GRACE);
    }

    /// `{name}` in `text` replaced by the variable `name`, percent-encoded
    /// (everything but RFC 3986 unreserved characters).
    fn expand(&self, text: &str) -> String {
        self.expand_with(text, true)
    }

    /// `{name}` in `text` replaced by the variable `name` (empty if unset),
    /// percent-encoded if `encode`.
    pub(super) fn expand_with(&self, text: &str, encode: bool) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            out.push_str(&rest[..open]);
            let key = &rest[open + 1..open + close];
            let value = self.vars.get(key).map(String::as_str).unwrap_or("");
            if !encode {
                out.push_str(value);
                rest = &rest[open + close + 1..];
                continue;
            }
            for b in value.bytes() {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    out.push(char::from(b));
                } else {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
            rest = &rest[open + close + 1..];
        }
        out.push_str(rest);
        out
    }

    pub(super) fn lookup_done(
        &mut self,
        now: Instant,
        result: Result<BTreeMap<String, String>, String>,
    ) {
        let Some(step) = self.current().cloned() else {
            return;
        };
        let Some(l) = &step.lookup else { return };
        self.deadline = None;
        self.wait = Wait::Idle;
        let name = self.step.clone();
        self.hops = 0;
        match result {
            Ok(fields) => {
                self.timeline_step(&name, json!({ "ok": true, "fields": fields }));
                for (k, v) in fields {
                    self.vars.insert(format!("{}.{k}", l.into), v);
                }
                match step.next.as_ref().map(|n| n.value.clone()) {
                    Some(n) => self.enter(now, &n),
                    None => self.end("dialplan_error"),
                }
            }
            Err(reason) => {
                self.timeline_step(&name, json!({ "ok": false, "error": reason }));
                self.enter(now, &l.on_fail.value.clone());
            }
        }
    }
}
