//! The end of a queued call: when the agent hangs up first, the caller goes on
//! at the queue step's `next` (instead of being hung up on); and the `survey`
//! step, which takes a score from one key into the timeline as CSAT.

use std::time::Instant;

use serde_json::json;

use super::{Command, Vm, Wait};
use crate::dialplan::schema::Step;
use crate::timeline::model::EventPayload;

impl Vm {
    /// The agent hung up on the queued call: go on at the queue step's `next`.
    /// False when the step has none (the call ends).
    pub fn agent_left(&mut self, now: Instant) -> bool {
        if !matches!(self.wait, Wait::Queued { .. }) && !self.offering_in_queue() {
            return false;
        }
        let Some(next) = self
            .current()
            .and_then(|s| s.next.as_ref())
            .map(|n| n.value.clone())
        else {
            return false;
        };
        let step = self.step.clone();
        self.timeline_step(&step, json!({ "agent_left": true, "goto": next }));
        self.deadline = None;
        self.hops = 0;
        self.enter(now, &next);
        true
    }

    /// A key in a survey: a score in range is kept, anything else asks again.
    pub(super) fn take_score(&mut self, now: Instant, attempt: u32) {
        let Some(step) = self.current().cloned() else {
            return;
        };
        let Some(survey) = &step.survey else { return };
        let key: String = self.digits.drain(..1.min(self.digits.len())).collect();
        self.digits.clear();
        let name = self.step.clone();
        let score = key
            .parse::<u8>()
            .ok()
            .filter(|s| (1..=survey.scale).contains(s));
        let Some(score) = score else {
            self.timeline_step(&name, json!({ "invalid": key }));
            self.retry(now, attempt);
            return;
        };
        self.vars.insert("csat".into(), score.to_string());
        self.timeline_step(&name, json!({ "score": score, "scale": survey.scale }));
        self.out.push_back(Command::Timeline(EventPayload::Csat {
            score: i32::from(score),
        }));
        self.hops = 0;
        let next = step.next.as_ref().map(|n| n.value.clone());
        match (&survey.thanks, next) {
            (Some(thanks), Some(next)) => {
                self.out.push_back(Command::Play {
                    files: self.files(std::slice::from_ref(thanks)),
                    barge_in: true,
                });
                self.wait = Wait::Play {
                    next,
                    barge_in: true,
                };
            }
            (None, Some(next)) => self.enter(now, &next),
            (_, None) => self.end("dialplan_error"),
        }
    }

    /// Where a survey goes when the caller gave no score (noted in the timeline).
    pub(super) fn unrated(&mut self, step: &Step) -> Option<String> {
        step.survey.as_ref()?;
        let name = self.step.clone();
        self.timeline_step(&name, json!({ "unrated": true }));
        step.next.as_ref().map(|n| n.value.clone())
    }
}
