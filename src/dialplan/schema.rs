//! The dialplan file format (YAML): which calls a plan takes, its defaults, and its
//! named steps. Each step has exactly one action key and an optional `next`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialplanFile {
    pub name: String,
    #[serde(rename = "match", default)]
    pub matching: Match,
    /// Prompt language at the start (`zh` or `en`).
    #[serde(default = "default_language")]
    pub language: String,
    /// IANA time zone for business hours, e.g. `Asia/Shanghai`.
    #[serde(default = "default_timezone")]
    pub timezone: Spanned<String>,
    pub start: Spanned<String>,
    pub steps: BTreeMap<String, Spanned<Step>>,
}

fn default_language() -> String {
    "en".into()
}

fn default_timezone() -> Spanned<String> {
    Spanned::new(
        "UTC".into(),
        serde_saphyr::Location::UNKNOWN,
        serde_saphyr::Location::UNKNOWN,
    )
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Match {
    /// Dialed numbers this plan answers.
    #[serde(default)]
    pub dids: Vec<Spanned<String>>,
    /// Take calls no other plan matches.
    #[serde(default)]
    pub default: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub answer: Option<Empty>,
    pub play: Option<Play>,
    pub say: Option<Vec<SayPart>>,
    pub menu: Option<Menu>,
    pub collect: Option<Collect>,
    pub listen: Option<Listen>,
    pub lookup: Option<Lookup>,
    pub set: Option<BTreeMap<String, String>>,
    pub branch: Option<Vec<Rule>>,
    pub language: Option<String>,
    pub queue: Option<QueueStep>,
    pub survey: Option<Survey>,
    pub voicemail: Option<Voicemail>,
    pub callback: Option<CallbackStep>,
    pub transfer: Option<Transfer>,
    pub hangup: Option<Empty>,
    pub goto: Option<Spanned<String>>,
    /// The step after this one, for actions that finish (answer, play, say, set,
    /// language, collect, lookup, voicemail), after a queued call's agent hangs
    /// up, when a `callback` offer is declined, and when the other side of a
    /// `transfer` hangs up first.
    pub next: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Play {
    /// Prompt names under `sounds/<language>/`, without `.wav`.
    pub prompts: Vec<Spanned<String>>,
    /// Let a key press cut the prompt short.
    #[serde(default = "yes")]
    pub barge_in: bool,
}

fn yes() -> bool {
    true
}

/// One part of a `say` step: a prompt, or a value said with the language's
/// snippets (`sounds/<language>/say/`). Values may use `{variable}`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SayPart {
    /// A prompt name; `{variable}` picks one at run time (e.g. `status_{order.status}`).
    pub prompt: Option<Spanned<String>>,
    pub digits: Option<Spanned<String>>,
    pub number: Option<Spanned<String>>,
    pub amount: Option<Spanned<String>>,
    /// `YYYY-MM-DD`, said as month and day.
    pub date: Option<Spanned<String>>,
    /// Currency of an `amount`: `cny` (default) or `usd`.
    #[serde(default)]
    pub currency: Option<Spanned<String>>,
}

impl SayPart {
    /// The value to say and how, or `None` for a prompt.
    pub fn value(&self) -> Option<(crate::dialplan::say::Kind, &Spanned<String>)> {
        use crate::dialplan::say::Kind;
        self.digits
            .as_ref()
            .map(|v| (Kind::Digits, v))
            .or(self.number.as_ref().map(|v| (Kind::Number, v)))
            .or(self.amount.as_ref().map(|v| (Kind::Amount, v)))
            .or(self.date.as_ref().map(|v| (Kind::Date, v)))
    }

    /// How many of prompt/digits/number/amount/date are set (must be one).
    pub fn kinds(&self) -> usize {
        [
            self.prompt.is_some(),
            self.digits.is_some(),
            self.number.is_some(),
            self.amount.is_some(),
            self.date.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Menu {
    pub prompts: Vec<Spanned<String>>,
    /// Key → step.
    pub options: BTreeMap<String, Spanned<String>>,
    /// Seconds to wait for a key after the prompt.
    #[serde(default = "default_timeout")]
    pub timeout: u32,
    /// Times the prompt is repeated after a wrong key or silence.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Prompt played after a wrong key, before repeating.
    #[serde(default)]
    pub invalid_prompt: Option<Spanned<String>>,
    /// Where to go when the retries run out.
    pub on_fail: Spanned<String>,
}

fn default_timeout() -> u32 {
    5
}

fn default_retries() -> u32 {
    2
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Collect {
    pub prompts: Vec<Spanned<String>>,
    /// Variable the digits go into.
    pub into: String,
    #[serde(default = "default_max_digits")]
    pub max_digits: usize,
    #[serde(default = "default_timeout")]
    pub timeout: u32,
    /// A regular expression the digits must match.
    #[serde(default)]
    pub pattern: Option<Spanned<String>>,
    #[serde(default = "default_retries")]
    pub retries: u32,
    pub on_fail: Spanned<String>,
}

fn default_max_digits() -> usize {
    20
}

/// An HTTP lookup (e.g. an order's status): POSTs the call's variables as JSON to
/// `url` and puts the fields of the JSON object it answers into variables named
/// `<into>.<field>`; `next` on success, `on_fail` on an error or timeout.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    /// `http://` or `https://`; `{name}` is replaced by the variable `name`.
    pub url: Spanned<String>,
    /// Prefix of the variables the answer sets.
    pub into: String,
    #[serde(default = "default_lookup_ms")]
    pub timeout_ms: u64,
    pub on_fail: Spanned<String>,
}

fn default_lookup_ms() -> u64 {
    3000
}

/// Speech input: a prompt, then the caller's words, recognised on the server and
/// matched against intents by keywords.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Listen {
    pub prompts: Vec<Spanned<String>>,
    /// Tried in order; the first intent with a keyword in what was said wins.
    pub intents: Vec<Intent>,
    /// Seconds to wait for the caller to start speaking.
    #[serde(default = "default_timeout")]
    pub timeout: u32,
    /// Longest utterance in seconds; longer speech is cut here.
    #[serde(default = "default_max_speech")]
    pub max_seconds: u32,
    /// Times the prompt is repeated after silence or words that match no intent.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Prompt played before asking again.
    #[serde(default)]
    pub retry_prompt: Option<Spanned<String>>,
    /// Where to go when the retries run out.
    pub on_fail: Spanned<String>,
    /// Where to go when speech recognition is off or overloaded (default `on_fail`).
    #[serde(default)]
    pub unavailable: Option<Spanned<String>>,
}

fn default_max_speech() -> u32 {
    10
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    pub name: String,
    /// Words or phrases, any language; English matches whole words, ignoring case.
    pub keywords: Vec<Spanned<String>>,
    pub goto: Spanned<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Conditions that must all hold; none means always.
    #[serde(default, rename = "if")]
    pub when: Option<Condition>,
    pub goto: Spanned<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// Business hours per weekday (`mon`…`sun`, or `mon-fri`): `"09:00-18:00"`.
    #[serde(default)]
    pub hours: Option<BTreeMap<String, String>>,
    /// Dates (`2026-10-01`) that count as closed.
    #[serde(default)]
    pub holidays: Vec<String>,
    /// Variable equals a value.
    #[serde(default)]
    pub equals: Option<BTreeMap<String, String>>,
    /// The caller id matches this regular expression.
    #[serde(default)]
    pub caller: Option<Spanned<String>>,
}

/// A satisfaction survey: the caller rates with one key from 1 to `scale`; the
/// score goes into the timeline as CSAT. Then `next`, rated or not.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Survey {
    pub prompts: Vec<Spanned<String>>,
    /// Highest score (keys 1 to `scale`), 2 to 9.
    #[serde(default = "default_scale")]
    pub scale: u8,
    #[serde(default = "default_timeout")]
    pub timeout: u32,
    #[serde(default = "default_survey_retries")]
    pub retries: u32,
    /// Prompt played after a key out of range, before asking again.
    #[serde(default)]
    pub invalid_prompt: Option<Spanned<String>>,
    /// Prompt played after a score.
    #[serde(default)]
    pub thanks: Option<Spanned<String>>,
}

fn default_scale() -> u8 {
    5
}

fn default_survey_retries() -> u32 {
    1
}

/// A queue; with `next`, the caller goes on there when the agent hangs up
/// (e.g. to a survey) instead of being hung up on.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueStep {
    pub name: Spanned<String>,
    #[serde(default)]
    pub priority: i32,
    /// Prompt looped while waiting.
    #[serde(default = "default_music")]
    pub music: String,
    /// Seconds between telling the caller their place in the queue and the
    /// estimated wait; 0 never does.
    #[serde(default)]
    pub announce_every: u32,
    /// Offer a callback once the caller has waited a while.
    #[serde(default)]
    pub callback: Option<QueueCallback>,
}

fn default_music() -> String {
    "moh".into()
}

/// A voicemail message: the greeting (a key skips it), a beep, then the caller's
/// audio is kept until `#`, `max_seconds` or the caller hanging up; `thanks`, then
/// `next` (without `next` the call ends after the message).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Voicemail {
    #[serde(default)]
    pub prompts: Vec<Spanned<String>>,
    /// Played right before recording (default `beep`).
    #[serde(default)]
    pub beep: Option<Spanned<String>>,
    /// Longest message, 1 to 600 seconds.
    #[serde(default = "default_voicemail_seconds")]
    pub max_seconds: Spanned<u32>,
    /// With a queue, a callback item for the message waits there for an agent.
    #[serde(default)]
    pub queue: Option<Spanned<String>>,
    #[serde(default)]
    pub priority: i32,
    /// The number to call back; `{variables}` are expanded (default `{caller}`).
    #[serde(default)]
    pub number: Option<Spanned<String>>,
    #[serde(default)]
    pub thanks: Option<Spanned<String>>,
}

fn default_voicemail_seconds() -> Spanned<u32> {
    Spanned::new(
        120,
        serde_saphyr::Location::UNKNOWN,
        serde_saphyr::Location::UNKNOWN,
    )
}

/// The prompt played before a voicemail recording when the step names none.
pub const DEFAULT_BEEP: &str = "beep";

/// The number called back when a step names none.
pub const DEFAULT_NUMBER: &str = "{caller}";

/// The key that accepts a callback when a step names none.
pub const DEFAULT_CALLBACK_KEY: &str = "1";

/// An offer to be called back: `key` within `timeout` seconds after the prompt
/// opens a callback item in `queue` for `number`, plays `confirm` and hangs up;
/// any other key or silence goes on at `next` (none: hang up).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbackStep {
    pub prompts: Vec<Spanned<String>>,
    /// One of 0-9, `*`, `#` (default `1`).
    #[serde(default)]
    pub key: Option<Spanned<String>>,
    #[serde(default)]
    pub confirm: Option<Spanned<String>>,
    /// Required: where the callback waits for an agent.
    #[serde(default)]
    pub queue: Option<Spanned<String>>,
    #[serde(default)]
    pub priority: i32,
    /// `{variables}` are expanded (default `{caller}`).
    #[serde(default)]
    pub number: Option<Spanned<String>>,
    /// Seconds to wait for the key after the prompt, 1 to 60.
    #[serde(default = "default_offer_timeout")]
    pub timeout: Spanned<u32>,
}

fn default_offer_timeout() -> Spanned<u32> {
    Spanned::new(
        default_timeout(),
        serde_saphyr::Location::UNKNOWN,
        serde_saphyr::Location::UNKNOWN,
    )
}

/// A queue's callback offer, made once per stay after `after` seconds of
/// waiting: `key` turns the waiting call into a callback to the caller's number
/// at the same place in line; anything else goes back to the music.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueCallback {
    pub after: Spanned<u32>,
    pub prompts: Vec<Spanned<String>>,
    #[serde(default)]
    pub key: Option<Spanned<String>>,
    #[serde(default)]
    pub confirm: Option<Spanned<String>>,
    #[serde(default = "default_offer_timeout")]
    pub timeout: Spanned<u32>,
}

/// A transfer: the caller is put through to a phone registered with our
/// registrar (`extension`) or to a number dialled through the trunk (`number`),
/// exactly one of them, after `prompts` (no barge-in). When it does not connect
/// the call goes to `on_fail` (none: hang up); when the other side hangs up
/// first, to the step's `next` (none: hang up).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// A registrar user name, e.g. `"1001"`.
    #[serde(default)]
    pub extension: Option<Spanned<String>>,
    /// Digits with an optional leading `+`; `{variables}` are expanded.
    #[serde(default)]
    pub number: Option<Spanned<String>>,
    #[serde(default)]
    pub prompts: Vec<Spanned<String>>,
    /// How long the other side rings, 5 to 120 seconds.
    #[serde(default = "default_ring_seconds")]
    pub ring_seconds: Spanned<u32>,
    #[serde(default)]
    pub on_fail: Option<Spanned<String>>,
}

fn default_ring_seconds() -> Spanned<u32> {
    Spanned::new(
        30,
        serde_saphyr::Location::UNKNOWN,
        serde_saphyr::Location::UNKNOWN,
    )
}

/// A number a transfer may dial: digits, with an optional leading `+`.
pub fn is_dialable(number: &str) -> bool {
    let digits = number.strip_prefix('+').unwrap_or(number);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The accepting key of a callback offer.
pub fn callback_key(key: Option<&Spanned<String>>) -> &str {
    key.map_or(DEFAULT_CALLBACK_KEY, |k| k.value.as_str())
}
