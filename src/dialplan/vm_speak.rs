//! What the VM says with values: the `say` step (prompts and values in one
//! playback), and a queued caller's place in the queue and estimated wait,
//! announced every `announce_every` seconds between stretches of music.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{Command, Vm, Wait};
use crate::dialplan::say;
use crate::dialplan::schema::SayPart;

/// Prompts of the queue announcement: "You are number" N "in line." "Your
/// estimated wait is about" M "minutes." / "… less than a minute."
pub const PLACE_PROMPTS: &[&str] = &[
    "queue_place",
    "queue_place_end",
    "queue_wait",
    "minutes",
    "queue_wait_short",
];

impl Vm {
    /// Plays a `say` step's parts as one playback, then goes to `next`. A value
    /// that cannot be said (e.g. a lookup gave text where a number was expected)
    /// is left out and noted in the timeline; the call goes on.
    pub(super) fn run_say(&mut self, name: &str, parts: &[SayPart], next: Option<String>) {
        let mut files = Vec::new();
        let mut said = Vec::new();
        let mut problems = Vec::new();
        for part in parts {
            match self.say_part(part) {
                Ok((text, mut f)) => {
                    said.push(text);
                    files.append(&mut f);
                }
                Err(e) => problems.push(e),
            }
        }
        let detail = if problems.is_empty() {
            json!({ "say": said })
        } else {
            json!({ "say": said, "errors": problems })
        };
        self.timeline_step(name, detail);
        self.out.push_back(Command::Play {
            files,
            barge_in: true,
        });
        self.wait = Wait::Play {
            next: next.unwrap_or_default(),
            barge_in: true,
        };
    }

    /// One part: what it says (for the timeline) and its files.
    fn say_part(&self, part: &SayPart) -> Result<(String, Vec<PathBuf>), String> {
        if let Some(p) = &part.prompt {
            let name = self.expand_with(&p.value, false);
            let safe = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
                && !name.contains("..");
            if !safe {
                return Err(format!("no prompt named `{name}`"));
            }
            let file = PathBuf::from(&self.language).join(format!("{name}.wav"));
            return Ok((name, vec![file]));
        }
        let Some((kind, value)) = part.value() else {
            return Err("nothing to say".into());
        };
        let value = self.expand_with(&value.value, false);
        let currency = part.currency.as_ref().map_or("cny", |c| c.value.as_str());
        let snippets = say::snippets(self.say_language(), kind, &value, currency)
            .map_err(|e| e.to_string())?;
        Ok((value, self.snippet_files(&snippets)))
    }

    /// The snippet language for the current prompt language (English when the
    /// language has no snippets).
    fn say_language(&self) -> &str {
        if say::LANGUAGES.contains(&self.language.as_str()) {
            &self.language
        } else {
            "en"
        }
    }

    fn snippet_files(&self, snippets: &[String]) -> Vec<PathBuf> {
        let lang = self.say_language();
        snippets
            .iter()
            .map(|s| PathBuf::from(lang).join("say").join(format!("{s}.wav")))
            .collect()
    }

    /// Sets the deadline of the next announcement of a queued call, if its step
    /// announces.
    pub(super) fn schedule_announcement(&mut self, now: Instant) {
        let every = self
            .current()
            .and_then(|s| s.queue.as_ref())
            .map_or(0, |q| q.announce_every);
        self.deadline = (every > 0).then(|| now + Duration::from_secs(u64::from(every)));
    }

    /// Says the caller's place and estimated wait over the music.
    pub(super) fn announce_place(&mut self, position: usize, wait_seconds: Option<u64>) {
        let prompt = |p: &str| PathBuf::from(&self.language).join(format!("{p}.wav"));
        let mut files = vec![prompt("queue_place")];
        let place = say::snippets(
            self.say_language(),
            say::Kind::Number,
            &position.to_string(),
            "cny",
        )
        .unwrap_or_default();
        files.extend(self.snippet_files(&place));
        files.push(prompt("queue_place_end"));
        let minutes = wait_seconds.map(|s| s.div_ceil(60));
        match minutes {
            Some(0 | 1) => files.push(prompt("queue_wait_short")),
            Some(m) => {
                files.push(prompt("queue_wait"));
                let n = say::snippets(
                    self.say_language(),
                    say::Kind::Number,
                    &m.to_string(),
                    "cny",
                )
                .unwrap_or_default();
                files.extend(self.snippet_files(&n));
                files.push(prompt("minutes"));
            }
            None => {}
        }
        let step = self.step.clone();
        self.timeline_step(
            &step,
            json!({ "announce": { "position": position, "wait_minutes": minutes } }),
        );
        self.out.push_back(Command::Play {
            files,
            barge_in: false,
        });
        self.wait = Wait::Queued { announcing: true };
    }

    /// The announcement is over: music again until the next one, or the
    /// queue's callback offer if it fell due meanwhile.
    pub(super) fn announced(&mut self, now: Instant) {
        self.wait = Wait::Queued { announcing: false };
        self.schedule_announcement(now);
        if self.offer_callback_if_due(now) {
            return;
        }
        if let Some(music) = self.music() {
            self.out.push_back(Command::Music(music));
        }
    }
}
