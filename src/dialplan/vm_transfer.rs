//! The `transfer` step: the caller is put through to an extension registered
//! with our registrar or to a number dialled through the trunk, after the step's
//! prompts (no barge-in). The VM only asks for it (`Transfer`), then waits for
//! the call shell's answer with no deadline of its own (a bridged call may last
//! hours): `TransferFailed` goes on at `on_fail`, `TransferEnded` (the other side
//! hung up first) at `next`, and without them the call ends. Keys meanwhile are
//! recorded and do nothing. A number that is not digits once its `{variables}`
//! are expanded is never dialled: it fails at once as `bad_number`.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{Command, Event, TransferTarget, Vm, Wait};
use crate::dialplan::schema::{self, Transfer};

/// Where a transfer step is.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Stage {
    /// The prompts are playing; then the caller is put through to `to`.
    Prompting { to: TransferTarget, ring: Duration },
    /// The transfer was asked for; the shell tells how it ends.
    Transferring,
}

/// Hang-up causes of the step.
pub const CAUSE_FAILED: &str = "transfer_failed";
pub const CAUSE_ENDED: &str = "transfer_ended";

/// The failure of a number that is not digits after expanding its variables.
pub const BAD_NUMBER: &str = "bad_number";

impl Vm {
    /// A transfer step: its prompts, then `Transfer`. Returns the step to go on
    /// with when the transfer fails at once (a bad number).
    pub(super) fn run_transfer(&mut self, name: &str, t: &Transfer) -> Option<String> {
        self.digits.clear();
        let ring = Duration::from_secs(u64::from(t.ring_seconds.value));
        let to = self.transfer_target(t);
        let secs = t.ring_seconds.value;
        let detail = match &to {
            TransferTarget::Extension(e) => json!({ "extension": e, "ring_seconds": secs }),
            TransferTarget::Number(n) => json!({ "number": n, "ring_seconds": secs }),
        };
        self.timeline_step(name, detail);
        if matches!(&to, TransferTarget::Number(n) if !schema::is_dialable(n)) {
            return self.transfer_failed(BAD_NUMBER);
        }
        if t.prompts.is_empty() {
            self.put_through(to, ring);
            return None;
        }
        self.out.push_back(Command::Play {
            files: self.files(&t.prompts),
            barge_in: false,
        });
        self.wait = Wait::Transfer(Stage::Prompting { to, ring });
        None
    }

    pub(super) fn transfer_event(&mut self, now: Instant, event: Event, stage: Stage) {
        match (event, stage) {
            (Event::PlaybackDone, Stage::Prompting { to, ring }) => self.put_through(to, ring),
            (Event::TransferFailed(reason), Stage::Transferring) => {
                self.hops = 0;
                if let Some(next) = self.transfer_failed(&reason) {
                    self.enter(now, &next);
                }
            }
            (Event::TransferEnded, Stage::Transferring) => self.transfer_ended(now),
            (Event::Digit(d), _) => self.record_digit(d),
            _ => {}
        }
    }

    /// The extension, or the number with its variables expanded.
    fn transfer_target(&self, t: &Transfer) -> TransferTarget {
        match (&t.extension, &t.number) {
            (Some(e), _) => TransferTarget::Extension(e.value.clone()),
            (None, n) => {
                let text = n.as_ref().map_or("", |n| n.value.as_str());
                TransferTarget::Number(self.expand_with(text, false))
            }
        }
    }

    fn put_through(&mut self, to: TransferTarget, ring: Duration) {
        self.out.push_back(Command::Transfer { to, ring });
        self.wait = Wait::Transfer(Stage::Transferring);
        self.deadline = None;
    }

    /// Notes why the transfer failed; returns `on_fail`, or hangs up without it.
    fn transfer_failed(&mut self, reason: &str) -> Option<String> {
        let on_fail = self
            .current()
            .and_then(|s| s.transfer.as_ref())
            .and_then(|t| t.on_fail.as_ref())
            .map(|f| f.value.clone());
        self.transfer_over(json!({ "failed": reason }), on_fail, CAUSE_FAILED)
    }

    /// The other side hung up first: on at `next`, or hang up.
    fn transfer_ended(&mut self, now: Instant) {
        let next = self
            .current()
            .and_then(|s| s.next.as_ref())
            .map(|n| n.value.clone());
        self.hops = 0;
        if let Some(next) = self.transfer_over(json!({ "ended": true }), next, CAUSE_ENDED) {
            self.enter(now, &next);
        }
    }

    /// Records `detail` with where the call goes; ends the call with `cause`
    /// when it goes nowhere.
    fn transfer_over(
        &mut self,
        mut detail: serde_json::Value,
        to: Option<String>,
        cause: &str,
    ) -> Option<String> {
        detail["goto"] = json!(to);
        let step = self.step.clone();
        self.timeline_step(&step, detail);
        if to.is_none() {
            self.end(cause);
        }
        to
    }
}
