//! Voicemail and callbacks: the `voicemail` step (greeting, beep, then the
//! caller's message until `#` or its longest time), the `callback` step (an offer
//! to be called back; declined, the plan goes on at `next`), and a queue's one
//! callback offer after `after` seconds of waiting, made between stretches of
//! music with the place announcements held meanwhile. The VM only asks for the
//! recording and the callback (`Record`, `StopRecording`, `Callback`); the call
//! shell keeps the message and dials back.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;
use serde_saphyr::Spanned;

use super::{Command, Event, Vm, Wait};
use crate::dialplan::schema::{self, QueueStep, Voicemail};

/// Where a voicemail step is.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Message {
    /// The greeting is playing; a key skips it.
    Greeting,
    /// The beep is playing; recording starts when it ends.
    Beep,
    /// The caller's audio is being kept since `since`.
    Recording { since: Instant },
}

/// A callback offer being made, by a `callback` step or in a queue.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Offer {
    /// The prompt has ended; the deadline is the key's timeout.
    prompt_done: bool,
    /// Made in a queue: a declined offer goes back to the music.
    in_queue: bool,
    /// In a queue, the next announcement's deadline, held during the offer.
    held: Option<Instant>,
}

/// What an offer's key does, from the step making it.
struct Terms {
    key: String,
    confirm: Option<Spanned<String>>,
    timeout: Duration,
    number: String,
    queue: Option<String>,
    priority: i32,
}

/// Hang-up causes of these steps.
pub const CAUSE_VOICEMAIL: &str = "voicemail";
pub const CAUSE_CALLBACK: &str = "callback";
pub const CAUSE_DECLINED: &str = "callback_declined";

fn secs(n: u32) -> Duration {
    Duration::from_secs(u64::from(n))
}

impl Vm {
    /// A voicemail step: the greeting (a key skips it), or straight to the beep.
    pub(super) fn run_voicemail(&mut self, name: &str, v: &Voicemail) {
        self.digits.clear();
        self.timeline_step(name, json!({}));
        if v.prompts.is_empty() {
            self.play_beep(v);
            return;
        }
        self.out.push_back(Command::Play {
            files: self.files(&v.prompts),
            barge_in: true,
        });
        self.wait = Wait::Voicemail(Message::Greeting);
    }

    pub(super) fn voicemail_event(&mut self, now: Instant, event: Event, stage: Message) {
        let Some(v) = self.message_settings() else {
            return;
        };
        match (event, stage) {
            (Event::PlaybackDone, Message::Greeting) => self.play_beep(&v),
            (Event::Digit(d), Message::Greeting) => {
                // The media cuts a barge-in prompt on any key.
                self.record_digit(d);
                self.out.push_back(Command::StopPlayback);
                self.play_beep(&v);
            }
            (Event::PlaybackDone, Message::Beep) => self.start_recording(now, &v),
            (Event::Digit('#'), Message::Recording { since }) => {
                self.record_digit('#');
                self.stop_recording(now, since, "key");
            }
            (Event::Digit(d), _) => self.record_digit(d),
            _ => {}
        }
    }

    fn play_beep(&mut self, v: &Voicemail) {
        let beep = v
            .beep
            .as_ref()
            .map_or(schema::DEFAULT_BEEP, |b| b.value.as_str());
        self.out.push_back(Command::Play {
            files: vec![self.prompt_file(beep)],
            barge_in: false,
        });
        self.wait = Wait::Voicemail(Message::Beep);
    }

    fn start_recording(&mut self, now: Instant, v: &Voicemail) {
        let max = secs(v.max_seconds.value);
        let number = self.number_of(v.number.as_ref());
        let queue = v.queue.as_ref().map(|q| q.value.clone());
        let step = self.step.clone();
        self.timeline_step(
            &step,
            json!({ "record": { "max_seconds": v.max_seconds.value, "number": number, "queue": queue } }),
        );
        self.out.push_back(Command::Record {
            max,
            number,
            queue,
            priority: v.priority,
        });
        self.wait = Wait::Voicemail(Message::Recording { since: now });
        self.deadline = Some(now + max);
    }

    /// The message is over (`#` or its longest time): `thanks`, then `next`.
    fn stop_recording(&mut self, now: Instant, since: Instant, ended_by: &str) {
        self.deadline = None;
        self.out.push_back(Command::StopRecording);
        let step = self.step.clone();
        let seconds = now.saturating_duration_since(since).as_secs();
        self.timeline_step(
            &step,
            json!({ "recorded": { "seconds": seconds, "ended_by": ended_by } }),
        );
        let (thanks, next) = match self.current() {
            // An overflow's message ends the call.
            _ if self.overflowed => (self.message_settings().and_then(|v| v.thanks), None),
            Some(s) => (
                s.voicemail.as_ref().and_then(|v| v.thanks.clone()),
                s.next.as_ref().map(|n| n.value.clone()),
            ),
            None => (None, None),
        };
        self.hops = 0;
        self.last_words(now, thanks, next, CAUSE_VOICEMAIL);
    }

    /// Plays `prompt` if any, then goes to `next`, or hangs up with `cause`.
    pub(super) fn last_words(
        &mut self,
        now: Instant,
        prompt: Option<Spanned<String>>,
        next: Option<String>,
        cause: &str,
    ) {
        let Some(prompt) = prompt else {
            match next {
                Some(n) => self.enter(now, &n),
                None => self.end(cause),
            }
            return;
        };
        self.out.push_back(Command::Play {
            files: self.files(std::slice::from_ref(&prompt)),
            barge_in: false,
        });
        self.wait = match next {
            Some(next) => Wait::Play {
                next,
                barge_in: false,
            },
            None => Wait::Closing {
                cause: cause.to_string(),
            },
        };
    }

    /// A callback step: the offer, answered by a key during or after it.
    pub(super) fn run_callback(&mut self, name: &str, prompts: &[Spanned<String>]) {
        self.digits.clear();
        self.timeline_step(name, json!({}));
        self.offer(prompts, false, None);
    }

    fn offer(&mut self, prompts: &[Spanned<String>], in_queue: bool, held: Option<Instant>) {
        self.out.push_back(Command::Play {
            files: self.files(prompts),
            barge_in: true,
        });
        self.wait = Wait::Offer(Offer {
            prompt_done: false,
            in_queue,
            held,
        });
    }

    pub(super) fn offer_event(&mut self, now: Instant, event: Event, offer: Offer) {
        let Some(terms) = self.terms(offer.in_queue) else {
            return;
        };
        match event {
            Event::PlaybackDone if !offer.prompt_done => {
                self.deadline = Some(now + terms.timeout);
                self.wait = Wait::Offer(Offer {
                    prompt_done: true,
                    ..offer
                });
            }
            Event::Digit(d) => {
                self.record_digit(d);
                if !offer.prompt_done {
                    self.out.push_back(Command::StopPlayback);
                }
                self.deadline = None;
                if terms.key == d.to_string() {
                    self.accept_callback(now, terms);
                } else {
                    let detail = json!({ "callback": "declined", "key": d.to_string() });
                    self.decline_offer(now, offer, detail);
                }
            }
            _ => {}
        }
    }

    /// What the current step's offer does: a `callback` step's, or its queue's.
    fn terms(&self, in_queue: bool) -> Option<Terms> {
        let step = self.current()?;
        if in_queue {
            let q = step.queue.as_ref()?;
            let c = q.callback.as_ref()?;
            return Some(Terms {
                key: schema::callback_key(c.key.as_ref()).to_string(),
                confirm: c.confirm.clone(),
                timeout: secs(c.timeout.value),
                number: self.number_of(None),
                queue: None,
                priority: q.priority,
            });
        }
        let c = step.callback.as_ref()?;
        Some(Terms {
            key: schema::callback_key(c.key.as_ref()).to_string(),
            confirm: c.confirm.clone(),
            timeout: secs(c.timeout.value),
            number: self.number_of(c.number.as_ref()),
            queue: c.queue.as_ref().map(|q| q.value.clone()),
            priority: c.priority,
        })
    }

    fn accept_callback(&mut self, now: Instant, t: Terms) {
        let step = self.step.clone();
        self.timeline_step(
            &step,
            json!({ "callback": "accepted", "number": t.number, "queue": t.queue }),
        );
        self.out.push_back(Command::Callback {
            number: t.number,
            queue: t.queue,
            priority: t.priority,
        });
        self.last_words(now, t.confirm, None, CAUSE_CALLBACK);
    }

    /// Another key or silence: back to the queue's music, or on at `next`.
    fn decline_offer(&mut self, now: Instant, offer: Offer, detail: serde_json::Value) {
        let step = self.step.clone();
        self.timeline_step(&step, detail);
        if offer.in_queue {
            if let Some(music) = self.music() {
                self.out.push_back(Command::Music(music));
            }
            self.wait = Wait::Queued { announcing: false };
            self.deadline = offer.held;
            return;
        }
        let next = self
            .current()
            .and_then(|s| s.next.as_ref())
            .map(|n| n.value.clone());
        self.hops = 0;
        match next {
            Some(n) => self.enter(now, &n),
            None => self.end(CAUSE_DECLINED),
        }
    }

    /// The deadline of a voicemail or offer step passed; false if not one.
    pub(super) fn offer_timeout(&mut self, now: Instant) -> bool {
        match self.wait.clone() {
            Wait::Voicemail(Message::Recording { since }) => {
                self.stop_recording(now, since, "max");
                true
            }
            Wait::Offer(offer) => {
                self.decline_offer(now, offer, json!({ "callback": "timeout" }));
                true
            }
            _ => false,
        }
    }

    /// Entering a queue step: when its callback offer falls due.
    pub(super) fn schedule_callback_offer(&mut self, now: Instant, q: &QueueStep) {
        self.offer_at = q.callback.as_ref().map(|c| now + secs(c.after.value));
    }

    /// The queue's callback offer, if it is due and the caller hears music (not
    /// an announcement, nor waiting for routing to give the place): made once.
    /// True when made.
    pub(super) fn offer_callback_if_due(&mut self, now: Instant) -> bool {
        if self.queue_offer_at().is_none_or(|at| at > now) {
            return false;
        }
        let Some(c) = self
            .current()
            .and_then(|s| s.queue.as_ref())
            .and_then(|q| q.callback.clone())
        else {
            return false;
        };
        self.offer_at = None;
        let step = self.step.clone();
        self.timeline_step(&step, json!({ "callback": "offered" }));
        let held = self.deadline.take();
        self.offer(&c.prompts, true, held);
        true
    }

    /// When the queue's callback offer can be made, if it is still to come.
    pub(super) fn queue_offer_at(&self) -> Option<Instant> {
        let announces = self
            .current()
            .and_then(|s| s.queue.as_ref())
            .is_some_and(|q| q.announce_every > 0);
        // An announcing queue without a deadline is waiting for its place.
        let asking = announces && self.deadline.is_none();
        let on_music = self.wait == (Wait::Queued { announcing: false });
        self.offer_at.filter(|_| on_music && !asking)
    }

    /// True while a queue's callback offer is being made (the call is still
    /// queued).
    pub(super) fn offering_in_queue(&self) -> bool {
        matches!(&self.wait, Wait::Offer(o) if o.in_queue)
    }

    pub(super) fn music(&self) -> Option<PathBuf> {
        self.current()
            .and_then(|s| s.queue.as_ref())
            .map(|q| PathBuf::from(format!("{}.wav", q.music)))
    }

    fn prompt_file(&self, name: &str) -> PathBuf {
        PathBuf::from(&self.language).join(format!("{name}.wav"))
    }

    /// The number to call back: `number` (default `{caller}`) with variables.
    pub(super) fn number_of(&self, number: Option<&Spanned<String>>) -> String {
        let text = number.map_or(schema::DEFAULT_NUMBER, |n| n.value.as_str());
        self.expand_with(text, false)
    }
}
