//! The dialplan interpreter for one call, sans-IO. It never plays audio or reads a
//! clock: it takes events (`handle(now, Event)`, `handle_timeout(now)`) and gives
//! commands (`poll_command()`: play, stop, enqueue, record a message, call back,
//! transfer, hang up, timeline entries) and its next deadline (`poll_timeout()`).
//! Drive it by feeding events, then draining commands until `None`, and calling
//! `handle_timeout` when the deadline passes.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use serde_saphyr::Spanned;

use super::hours;
use super::load::Dialplan;
use super::schema::{Condition, Step};
use crate::timeline::model::EventPayload;

/// Steps taken without waiting for the caller before the call is ended as a loop.
pub const MAX_HOPS: u32 = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    PlaybackDone,
    Digit(char),
    /// What the caller said after a `Listen` command (empty: silence).
    Heard(String),
    /// Speech recognition is off or could not take the utterance.
    SpeechUnavailable,
    /// The answer to a `Lookup`: the JSON object's fields, or why it failed.
    LookupDone(Result<BTreeMap<String, String>, String>),
    /// The answer to `AskPlace`: the call's place in its queue (1 is next) and
    /// the estimated wait, if known.
    QueuePlace {
        position: usize,
        wait_seconds: Option<u64>,
    },
    /// Routing could not say where the call stands; try again next time.
    PlaceUnknown,
    /// A `Transfer` did not connect: `busy`, `no_answer`, `unreachable`,
    /// `no_trunk` or `failed`.
    TransferFailed(String),
    /// The transferred-to side hung up first; the caller is still on the line.
    TransferEnded,
}

/// Where a `transfer` step sends the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferTarget {
    /// A phone registered with our registrar under this user name.
    Extension(String),
    /// A number dialled through the trunk.
    Number(String),
}

/// Time allowed beyond a lookup's own timeout before the VM gives up on it.
pub const LOOKUP_GRACE: Duration = Duration::from_secs(1);

/// Time allowed for recognising an utterance before a `listen` step gives up on it.
pub const RECOGNITION_GRACE: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Play these files (relative to the sounds folder) in order.
    Play {
        files: Vec<PathBuf>,
        barge_in: bool,
    },
    StopPlayback,
    /// Capture the caller's next utterance (waiting `timeout` for it to start, at
    /// most `max` long), recognise it in `language`, and answer with
    /// `Event::Heard` or `Event::SpeechUnavailable`.
    Listen {
        timeout: Duration,
        max: Duration,
        language: String,
    },
    /// POST `body` (the call's variables) to `url`; answer with `Event::LookupDone`
    /// within `timeout`.
    Lookup {
        url: String,
        body: serde_json::Value,
        timeout: Duration,
    },
    /// Hand the call to routing; `music` loops while it waits.
    Enqueue {
        queue: String,
        priority: i32,
        music: PathBuf,
    },
    /// Ask routing where the queued call stands; answer with `Event::QueuePlace`
    /// or `Event::PlaceUnknown`.
    AskPlace,
    /// Loop this file again (music on hold after an announcement).
    Music(PathBuf),
    /// Start keeping the caller's audio as a voicemail message, at most `max`
    /// long; `StopRecording` or the caller hanging up ends it. The message goes
    /// into the timeline; with `queue`, a callback to `number` waits there.
    Record {
        max: Duration,
        number: String,
        queue: Option<String>,
        priority: i32,
    },
    /// End the voicemail message being recorded and keep it.
    StopRecording,
    /// The caller asked to be called back at `number`. With `queue: None` the
    /// call's queued item keeps its place and becomes the callback; with a
    /// queue, a callback item is opened there.
    Callback {
        number: String,
        queue: Option<String>,
        priority: i32,
    },
    /// Connect the caller to `to`, letting it ring for `ring`. The shell answers
    /// with `Event::TransferFailed` when it cannot, or `Event::TransferEnded`
    /// when the other side hung up first and the caller is still there.
    Transfer {
        to: TransferTarget,
        ring: Duration,
    },
    Hangup {
        cause: String,
    },
    Timeline(EventPayload),
}

#[derive(Debug, Clone, PartialEq)]
enum Wait {
    Idle,
    /// A `play` step; then go to `next`.
    Play {
        next: String,
        barge_in: bool,
    },
    /// A menu or collect step: prompt playing (deadline None) or waiting for keys.
    Input {
        attempt: u32,
        prompt_done: bool,
    },
    /// A listen step: prompt playing, then (`hearing`) waiting for the words.
    Listen {
        attempt: u32,
        hearing: bool,
    },
    /// A lookup step waiting for its answer.
    Lookup,
    /// In a queue; `announcing` while the place in queue is being said.
    Queued {
        announcing: bool,
    },
    /// A voicemail step (`vm_voicemail.rs`).
    Voicemail(voicemail::Message),
    /// A callback offer: the `callback` step's, or a queue's.
    Offer(voicemail::Offer),
    /// A transfer step (`vm_transfer.rs`).
    Transfer(transfer::Stage),
    /// A last prompt is playing; then hang up with `cause`.
    Closing {
        cause: String,
    },
    Done,
}

pub struct Vm {
    plan: Arc<Dialplan>,
    caller: String,
    language: String,
    vars: BTreeMap<String, String>,
    step: String,
    wait: Wait,
    digits: String,
    deadline: Option<Instant>,
    /// When a queue step's callback offer is due (once per stay).
    offer_at: Option<Instant>,
    /// The queue's overflow took the call to voicemail (`vm_overflow.rs`).
    overflowed: bool,
    hops: u32,
    started: Instant,
    started_wall: chrono::DateTime<chrono::Utc>,
    out: VecDeque<Command>,
}

impl Vm {
    /// Starts the plan at its `start` step. `wall` is the wall-clock time at `now`,
    /// used for business hours.
    pub fn new(
        plan: Arc<Dialplan>,
        caller: &str,
        did: &str,
        now: Instant,
        wall: chrono::DateTime<chrono::Utc>,
    ) -> Vm {
        Vm::with_variables(plan, caller, did, &BTreeMap::new(), now, wall)
    }

    /// Like `new`, with variables set before the first step.
    pub fn with_variables(
        plan: Arc<Dialplan>,
        caller: &str,
        did: &str,
        vars: &BTreeMap<String, String>,
        now: Instant,
        wall: chrono::DateTime<chrono::Utc>,
    ) -> Vm {
        let start = plan.file.start.value.clone();
        let mut vm = Vm {
            language: plan.file.language.clone(),
            plan,
            caller: caller.to_string(),
            vars: BTreeMap::from([
                ("caller".to_string(), caller.to_string()),
                ("did".to_string(), did.to_string()),
            ]),
            step: String::new(),
            wait: Wait::Idle,
            digits: String::new(),
            deadline: None,
            offer_at: None,
            overflowed: false,
            hops: 0,
            started: now,
            started_wall: wall,
            out: VecDeque::new(),
        };
        vm.vars.extend(vars.clone());
        vm.enter(now, &start);
        vm
    }

    pub fn poll_command(&mut self) -> Option<Command> {
        self.out.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline.into_iter().chain(self.queue_offer_at()).min()
    }

    pub fn language(&self) -> &str {
        &self.language
    }

    pub fn is_done(&self) -> bool {
        self.wait == Wait::Done
    }

    pub fn handle(&mut self, now: Instant, event: Event) {
        match (event, self.wait.clone()) {
            (Event::PlaybackDone, Wait::Play { next, .. }) => {
                self.hops = 0;
                self.enter(now, &next);
            }
            (Event::PlaybackDone, Wait::Input { attempt, .. }) => {
                self.wait = Wait::Input {
                    attempt,
                    prompt_done: true,
                };
                self.deadline = Some(now + self.input_timeout());
            }
            (Event::Digit(d), Wait::Play { next, barge_in }) => {
                self.record_digit(d);
                if barge_in {
                    self.digits.push(d);
                    self.out.push_back(Command::StopPlayback);
                    self.enter(now, &next);
                }
            }
            (
                Event::Digit(d),
                Wait::Input {
                    attempt,
                    prompt_done,
                },
            ) => {
                self.record_digit(d);
                if !prompt_done {
                    self.out.push_back(Command::StopPlayback);
                }
                self.digits.push(d);
                self.take_input(now, attempt);
            }
            (
                Event::PlaybackDone,
                Wait::Listen {
                    attempt,
                    hearing: false,
                },
            ) => self.start_hearing(now, attempt),
            (
                Event::Heard(text),
                Wait::Listen {
                    attempt,
                    hearing: true,
                },
            ) => self.heard(now, attempt, &text),
            (Event::SpeechUnavailable, Wait::Listen { .. }) => self.speech_unavailable(now),
            (Event::LookupDone(result), Wait::Lookup) => self.lookup_done(now, result),
            (
                Event::QueuePlace {
                    position,
                    wait_seconds,
                },
                Wait::Queued { announcing: false },
            ) => self.announce_place(position, wait_seconds),
            (Event::PlaybackDone, Wait::Queued { announcing: true }) => self.announced(now),
            (Event::PlaceUnknown, Wait::Queued { announcing: false }) => {
                self.schedule_announcement(now)
            }
            (event, Wait::Voicemail(stage)) => self.voicemail_event(now, event, stage),
            (event, Wait::Offer(offer)) => self.offer_event(now, event, offer),
            (event, Wait::Transfer(stage)) => self.transfer_event(now, event, stage),
            (Event::PlaybackDone, Wait::Closing { cause }) => self.end(&cause),
            (Event::Digit(d), _) => self.record_digit(d),
            (
                Event::PlaybackDone
                | Event::Heard(_)
                | Event::SpeechUnavailable
                | Event::LookupDone(_)
                | Event::QueuePlace { .. }
                | Event::PlaceUnknown
                | Event::TransferFailed(_)
                | Event::TransferEnded,
                _,
            ) => {}
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.offer_callback_if_due(now) || self.deadline.is_none_or(|d| d > now) {
            return;
        }
        self.deadline = None;
        if self.offer_timeout(now) {
            return;
        }
        if let Wait::Queued { .. } = self.wait {
            self.out.push_back(Command::AskPlace);
            return;
        }
        if self.wait == Wait::Lookup {
            self.lookup_done(now, Err("timeout".into()));
            return;
        }
        if let Wait::Listen { attempt, .. } = self.wait {
            let step = self.step.clone();
            self.timeline_step(&step, json!({ "timeout": attempt + 1 }));
            self.retry_listen(now, attempt);
            return;
        }
        if let Wait::Input { attempt, .. } = self.wait {
            let step = self.step.clone();
            let collected = std::mem::take(&mut self.digits);
            if self.current().and_then(|s| s.collect.as_ref()).is_some() && !collected.is_empty() {
                self.digits = collected;
                self.finish_collect(now, attempt);
            } else {
                self.timeline_step(&step, json!({ "timeout": attempt + 1 }));
                self.retry(now, attempt);
            }
        }
    }

    fn current(&self) -> Option<&Step> {
        self.plan.step(&self.step)
    }

    fn input_timeout(&self) -> Duration {
        let secs = self
            .current()
            .map(|s| {
                s.menu
                    .as_ref()
                    .map(|m| m.timeout)
                    .or(s.collect.as_ref().map(|c| c.timeout))
                    .or(s.survey.as_ref().map(|v| v.timeout))
                    .unwrap_or(5)
            })
            .unwrap_or(5);
        Duration::from_secs(u64::from(secs))
    }

    fn record_digit(&mut self, d: char) {
        self.out.push_back(Command::Timeline(EventPayload::Dtmf {
            digits: d.to_string(),
        }));
    }

    fn timeline_step(&mut self, step: &str, detail: serde_json::Value) {
        self.out.push_back(Command::Timeline(EventPayload::IvrStep {
            step: step.to_string(),
            detail,
        }));
    }

    fn files(&self, prompts: &[Spanned<String>]) -> Vec<PathBuf> {
        prompts
            .iter()
            .map(|p| PathBuf::from(&self.language).join(format!("{}.wav", p.value)))
            .collect()
    }

    /// Runs steps until one waits for the caller (or the call ends).
    fn enter(&mut self, now: Instant, name: &str) {
        let mut next = Some(name.to_string());
        while let Some(name) = next.take() {
            self.hops += 1;
            if self.hops > MAX_HOPS {
                self.end("dialplan_loop");
                return;
            }
            let Some(step) = self.plan.step(&name).cloned() else {
                self.end("dialplan_error");
                return;
            };
            self.step = name.clone();
            self.deadline = None;
            self.offer_at = None;
            next = self.run(now, &name, &step);
        }
    }

    /// Executes one step; returns the step to continue with, if it does not wait.
    fn run(&mut self, now: Instant, name: &str, step: &Step) -> Option<String> {
        let next = step.next.as_ref().map(|n| n.value.clone());
        if step.answer.is_some() {
            return next;
        }
        if let Some(vars) = &step.set {
            self.vars.extend(vars.clone());
            return next;
        }
        if let Some(lang) = &step.language {
            self.language = lang.clone();
            self.timeline_step(name, json!({ "language": lang }));
            return next;
        }
        if let Some(target) = &step.goto {
            return Some(target.value.clone());
        }
        if let Some(rules) = &step.branch {
            let wall = self.started_wall
                + chrono::Duration::from_std(now.saturating_duration_since(self.started))
                    .unwrap_or_default();
            let chosen = rules
                .iter()
                .find(|r| r.when.as_ref().is_none_or(|c| self.holds(c, wall)))
                .map(|r| r.goto.value.clone());
            self.timeline_step(name, json!({ "branch": chosen }));
            return chosen.or_else(|| {
                self.end("dialplan_no_branch");
                None
            });
        }
        if let Some(p) = &step.play {
            self.timeline_step(
                name,
                json!({ "play": p.prompts.iter().map(|x| x.value.clone()).collect::<Vec<_>>() }),
            );
            self.out.push_back(Command::Play {
                files: self.files(&p.prompts),
                barge_in: p.barge_in,
            });
            self.wait = Wait::Play {
                next: next.unwrap_or_default(),
                barge_in: p.barge_in,
            };
            return None;
        }
        if let Some(parts) = &step.say {
            self.run_say(name, parts, next);
            return None;
        }
        if step.menu.is_some() || step.collect.is_some() || step.survey.is_some() {
            self.timeline_step(name, json!({}));
            self.prompt_input(now, 0, None);
            return None;
        }
        if let Some(l) = &step.lookup {
            self.start_lookup(now, name, l);
            return None;
        }
        if step.listen.is_some() {
            self.timeline_step(name, json!({}));
            self.prompt_listen(0, None);
            return None;
        }
        if let Some(q) = &step.queue {
            self.timeline_step(name, json!({ "queue": q.name.value }));
            self.out.push_back(Command::Enqueue {
                queue: q.name.value.clone(),
                priority: q.priority,
                music: PathBuf::from(format!("{}.wav", q.music)),
            });
            self.wait = Wait::Queued { announcing: false };
            self.schedule_announcement(now);
            self.schedule_callback_offer(now, q);
            return None;
        }
        if let Some(v) = &step.voicemail {
            self.run_voicemail(name, v);
            return None;
        }
        if let Some(c) = &step.callback {
            self.run_callback(name, &c.prompts);
            return None;
        }
        if let Some(t) = &step.transfer {
            return self.run_transfer(name, t);
        }
        if step.hangup.is_some() {
            self.timeline_step(name, json!({}));
            self.end("dialplan_hangup");
        }
        None
    }

    fn holds(&self, c: &Condition, wall: chrono::DateTime<chrono::Utc>) -> bool {
        let hours_ok = c
            .hours
            .as_ref()
            .is_none_or(|h| hours::is_open(h, &c.holidays, self.plan.timezone, wall));
        let vars_ok = c
            .equals
            .as_ref()
            .is_none_or(|m| m.iter().all(|(k, v)| self.vars.get(k) == Some(v)));
        let caller_ok = c
            .caller
            .as_ref()
            .is_none_or(|p| regex::Regex::new(&p.value).is_ok_and(|r| r.is_match(&self.caller)));
        hours_ok && vars_ok && caller_ok
    }

    /// Plays the prompt of the current menu/collect step, after `lead` if given
    /// (one playback, so the second prompt does not cut the first); keys typed
    /// ahead count.
    fn prompt_input(&mut self, now: Instant, attempt: u32, lead: Option<Spanned<String>>) {
        let Some(step) = self.current().cloned() else {
            return;
        };
        let prompts = step
            .menu
            .as_ref()
            .map(|m| m.prompts.clone())
            .or(step.collect.as_ref().map(|c| c.prompts.clone()))
            .or(step.survey.as_ref().map(|v| v.prompts.clone()))
            .unwrap_or_default();
        let prompts: Vec<Spanned<String>> = lead.into_iter().chain(prompts).collect();
        self.wait = Wait::Input {
            attempt,
            prompt_done: false,
        };
        if !self.digits.is_empty() {
            // Keys typed ahead answer the prompt before it plays.
            self.wait = Wait::Input {
                attempt,
                prompt_done: true,
            };
            self.take_input(now, attempt);
            return;
        }
        self.out.push_back(Command::Play {
            files: self.files(&prompts),
            barge_in: true,
        });
    }

    fn take_input(&mut self, now: Instant, attempt: u32) {
        let Some(step) = self.current().cloned() else {
            return;
        };
        if step.survey.is_some() {
            self.take_score(now, attempt);
            return;
        }
        if let Some(menu) = &step.menu {
            let key: String = self.digits.drain(..1.min(self.digits.len())).collect();
            let name = self.step.clone();
            match menu.options.get(&key) {
                Some(target) => {
                    self.timeline_step(&name, json!({ "key": key, "goto": target.value }));
                    self.hops = 0;
                    self.enter(now, &target.value.clone());
                }
                None => {
                    self.timeline_step(&name, json!({ "invalid": key }));
                    self.digits.clear();
                    self.retry(now, attempt);
                }
            }
            return;
        }
        if let Some(c) = &step.collect {
            if self.digits.ends_with('#') || self.digits.len() >= c.max_digits {
                self.finish_collect(now, attempt);
            } else {
                self.deadline = Some(now + self.input_timeout());
            }
        }
    }

    fn finish_collect(&mut self, now: Instant, attempt: u32) {
        let Some(c) = self.current().and_then(|s| s.collect.clone()) else {
            return;
        };
        let value: String = std::mem::take(&mut self.digits)
            .trim_end_matches('#')
            .to_string();
        let ok = c.pattern.as_ref().is_none_or(|p| {
            regex::Regex::new(&format!("^(?:{})$", p.value)).is_ok_and(|r| r.is_match(&value))
        });
        let name = self.step.clone();
        if ok && !value.is_empty() {
            self.vars.insert(c.into.clone(), value.clone());
            self.timeline_step(&name, json!({ "collected": value }));
            self.hops = 0;
            let next = self
                .current()
                .and_then(|s| s.next.as_ref())
                .map(|n| n.value.clone());
            match next {
                Some(n) => self.enter(now, &n),
                None => self.end("dialplan_error"),
            }
        } else {
            self.timeline_step(&name, json!({ "rejected": value }));
            self.retry(now, attempt);
        }
    }

    fn retry(&mut self, now: Instant, attempt: u32) {
        let Some(step) = self.current().cloned() else {
            return;
        };
        let retries = step
            .menu
            .as_ref()
            .map(|m| m.retries)
            .or(step.collect.as_ref().map(|c| c.retries))
            .or(step.survey.as_ref().map(|v| v.retries))
            .unwrap_or(0);
        if attempt >= retries {
            let fail = step
                .menu
                .as_ref()
                .map(|m| m.on_fail.value.clone())
                .or(step.collect.as_ref().map(|c| c.on_fail.value.clone()))
                .or(self.unrated(&step));
            match fail {
                Some(f) => {
                    self.hops = 0;
                    self.enter(now, &f);
                }
                None => self.end("dialplan_error"),
            }
            return;
        }
        let invalid = step
            .menu
            .as_ref()
            .and_then(|m| m.invalid_prompt.clone())
            .or(step.survey.as_ref().and_then(|v| v.invalid_prompt.clone()));
        self.prompt_input(now, attempt + 1, invalid);
    }

    /// Plays the listen step's prompt; hearing starts when it is done.
    fn prompt_listen(&mut self, attempt: u32, lead: Option<Spanned<String>>) {
        let Some(l) = self.current().and_then(|s| s.listen.clone()) else {
            return;
        };
        let prompts: Vec<Spanned<String>> = lead.into_iter().chain(l.prompts).collect();
        self.wait = Wait::Listen {
            attempt,
            hearing: false,
        };
        self.out.push_back(Command::Play {
            files: self.files(&prompts),
            barge_in: false,
        });
    }

    fn start_hearing(&mut self, now: Instant, attempt: u32) {
        let Some(l) = self.current().and_then(|s| s.listen.clone()) else {
            return;
        };
        let (timeout, max) = (
            Duration::from_secs(u64::from(l.timeout)),
            Duration::from_secs(u64::from(l.max_seconds)),
        );
        self.wait = Wait::Listen {
            attempt,
            hearing: true,
        };
        self.deadline = Some(now + timeout + max + RECOGNITION_GRACE);
        self.out.push_back(Command::Listen {
            timeout,
            max,
            language: self.language.clone(),
        });
    }

    fn heard(&mut self, now: Instant, attempt: u32, text: &str) {
        let Some(l) = self.current().and_then(|s| s.listen.clone()) else {
            return;
        };
        self.deadline = None;
        let name = self.step.clone();
        let text = text.trim();
        match super::intent::find(&l.intents, text) {
            Some(intent) => {
                self.vars.insert("speech".into(), text.to_string());
                self.vars.insert("intent".into(), intent.name.clone());
                self.timeline_step(
                    &name,
                    json!({ "heard": text, "intent": intent.name, "goto": intent.goto.value }),
                );
                self.hops = 0;
                self.enter(now, &intent.goto.value);
            }
            None => {
                self.timeline_step(&name, json!({ "heard": text, "intent": null }));
                self.retry_listen(now, attempt);
            }
        }
    }

    fn retry_listen(&mut self, now: Instant, attempt: u32) {
        let Some(l) = self.current().and_then(|s| s.listen.clone()) else {
            return;
        };
        self.deadline = None;
        if attempt >= l.retries {
            self.hops = 0;
            self.enter(now, &l.on_fail.value);
            return;
        }
        self.prompt_listen(attempt + 1, l.retry_prompt);
    }

    fn speech_unavailable(&mut self, now: Instant) {
        let Some(l) = self.current().and_then(|s| s.listen.clone()) else {
            return;
        };
        let name = self.step.clone();
        let target = l.unavailable.unwrap_or(l.on_fail).value;
        self.timeline_step(&name, json!({ "speech": "unavailable", "goto": target }));
        self.hops = 0;
        self.enter(now, &target);
    }

    fn end(&mut self, cause: &str) {
        self.deadline = None;
        self.wait = Wait::Done;
        self.out.push_back(Command::Hangup {
            cause: cause.to_string(),
        });
    }
}

#[path = "vm_lookup.rs"]
mod lookup;
#[path = "vm_overflow.rs"]
mod overflow;
#[path = "vm_speak.rs"]
mod speak;
#[path = "vm_survey.rs"]
mod survey;
#[path = "vm_transfer.rs"]
mod transfer;
#[path = "vm_voicemail.rs"]
mod voicemail;
pub use overflow::{OVERFLOW_CALLBACK, OVERFLOW_GREETING, OVERFLOW_THANKS, QueueOverflow};
pub use speak::PLACE_PROMPTS;

#[cfg(test)]
#[path = "vm_overflow_tests.rs"]
mod overflow_tests;
#[cfg(test)]
#[path = "vm_tests.rs"]
mod tests;
#[cfg(test)]
#[path = "vm_transfer_tests.rs"]
mod transfer_tests;
#[cfg(test)]
#[path = "vm_voicemail_tests.rs"]
mod voicemail_tests;
