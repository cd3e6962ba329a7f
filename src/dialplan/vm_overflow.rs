//! A queued call taken out of the line by its queue's overflow (routing's
//! `max_wait_seconds` with `voicemail` or `callback`). `voicemail`: the
//! `voicemail_greeting` prompt (a key skips it), the beep, then the caller's
//! message until `#`, two minutes or the hang-up, `voicemail_saved`, and the
//! call ends. `callback`: the queued call becomes a callback keeping its place
//! (as when the caller takes a queue's callback offer), `callback_confirmed`,
//! and the call ends. The prompts are the call's language's.

use std::time::Instant;

use serde_json::json;
use serde_saphyr::{Location, Spanned};

use super::voicemail::{CAUSE_CALLBACK, Message};
use super::{Command, Vm, Wait};
use crate::dialplan::schema::Voicemail;

/// What the queue's overflow does with the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueOverflow {
    Voicemail,
    Callback,
}

/// The greeting before an overflow's voicemail message.
pub const OVERFLOW_GREETING: &str = "voicemail_greeting";
/// Played after an overflow's voicemail message.
pub const OVERFLOW_THANKS: &str = "voicemail_saved";
/// Played once an overflow turned the call into a callback.
pub const OVERFLOW_CALLBACK: &str = "callback_confirmed";
/// Longest overflow voicemail message, in seconds.
pub const OVERFLOW_MESSAGE_SECONDS: u32 = 120;

fn spanned<T>(v: T) -> Spanned<T> {
    Spanned::new(v, Location::UNKNOWN, Location::UNKNOWN)
}

/// The voicemail an overflow records: no callback queue, then the call ends.
pub(super) fn overflow_voicemail() -> Voicemail {
    Voicemail {
        prompts: vec![spanned(OVERFLOW_GREETING.to_string())],
        beep: None,
        max_seconds: spanned(OVERFLOW_MESSAGE_SECONDS),
        queue: None,
        priority: 0,
        number: None,
        thanks: Some(spanned(OVERFLOW_THANKS.to_string())),
    }
}

impl Vm {
    /// Routing took the queued call out of the line. False (and nothing done)
    /// when the call is not waiting in a queue step any more.
    pub fn queue_overflowed(&mut self, now: Instant, what: QueueOverflow) -> bool {
        if !self.is_queued() {
            return false;
        }
        self.out.push_back(Command::StopPlayback);
        self.deadline = None;
        self.offer_at = None;
        self.digits.clear();
        let step = self.step.clone();
        match what {
            QueueOverflow::Voicemail => {
                self.timeline_step(&step, json!({ "overflow": "voicemail" }));
                self.overflowed = true;
                self.out.push_back(Command::Play {
                    files: self.files(&overflow_voicemail().prompts),
                    barge_in: true,
                });
                self.wait = Wait::Voicemail(Message::Greeting);
            }
            QueueOverflow::Callback => {
                let number = self.number_of(None);
                self.timeline_step(&step, json!({ "overflow": "callback", "number": number }));
                let priority = self
                    .current()
                    .and_then(|s| s.queue.as_ref())
                    .map_or(0, |q| q.priority);
                self.out.push_back(Command::Callback {
                    number,
                    queue: None,
                    priority,
                });
                self.hops = 0;
                let confirm = spanned(OVERFLOW_CALLBACK.to_string());
                self.last_words(now, Some(confirm), None, CAUSE_CALLBACK);
            }
        }
        true
    }

    /// Whether the call waits in a queue step (routing may take it out).
    pub fn is_queued(&self) -> bool {
        matches!(self.wait, Wait::Queued { .. }) || self.offering_in_queue()
    }

    /// The voicemail being left: the current step's, or an overflow's.
    pub(super) fn message_settings(&self) -> Option<Voicemail> {
        if self.overflowed {
            return Some(overflow_voicemail());
        }
        self.current().and_then(|s| s.voicemail.clone())
    }
}
