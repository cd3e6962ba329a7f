//! Routing rules, the sans-IO core: an ordered list that chooses the queue,
//! priority, required skills and language of a new text conversation from what is
//! known when it opens (its channel, the address it was sent to, its first words,
//! the customer's tier and language) and the time, which the caller passes in.
//! Each rule's conditions must all hold; the first rule that matches wins, and
//! without one the set's `default` applies. Keywords and a dialplan's named
//! intents are matched with `dialplan::intent`, exactly as the IVR's `listen`
//! step matches a caller's words.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::rules_check::{self, RuleError};
use crate::dialplan::{hours, intent};
use crate::timeline::model::Channel;

/// The queue when no rule matches and no default is given.
pub const DEFAULT_QUEUE: &str = "support";

/// The ordered rules and what applies when none matches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    /// Tried in order; the first rule whose conditions all hold wins.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Applies when no rule matches (default: queue `support`).
    #[serde(default)]
    pub default: Actions,
}

/// One rule: a name (recorded with each conversation it routes), conditions and
/// what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    /// Every condition given must hold; none means always.
    #[serde(rename = "if", default)]
    pub when: Conditions,
    pub then: Actions,
}

/// A rule's conditions. Each list condition holds when any of its values does; a
/// single value may be given instead of a list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// The conversation's channel.
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub channel: Vec<Channel>,
    /// Words or phrases in the first message (an e-mail's subject and text):
    /// whole words in English, ignoring case and punctuation; substrings in
    /// Chinese (traditional characters match simplified ones).
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub keywords: Vec<String>,
    /// Intents by name, as a dialplan's `listen` step defines them: the first
    /// message has one of the intent's keywords.
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub intent: Vec<String>,
    /// The customer's tier (e.g. `vip`), ignoring case.
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tier: Vec<String>,
    /// The customer's language: `zh` matches `zh` and `zh-CN`, ignoring case.
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub language: Vec<String>,
    /// The address contacted: an e-mail's recipient, ignoring case.
    #[serde(
        default,
        deserialize_with = "one_or_many",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub to: Vec<String>,
    /// Business hours, in or (with `outside`) out of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<Hours>,
}

/// Business hours as a dialplan's `hours` condition writes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Hours {
    /// IANA time zone of the hours, e.g. `Asia/Shanghai` (default `UTC`).
    #[serde(default = "utc")]
    pub timezone: String,
    /// Weekdays (`mon`, `mon-fri`, `sat,sun`) → opening span (`09:00-18:00`).
    pub open: BTreeMap<String, String>,
    /// Dates (`2026-10-01`) that count as closed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holidays: Vec<String>,
    /// The condition holds outside these hours (and on holidays) instead.
    #[serde(default)]
    pub outside: bool,
}

fn utc() -> String {
    "UTC".into()
}

/// What a matching rule (or the default) asks of routing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Actions {
    /// An existing queue.
    pub queue: String,
    /// Higher is offered first, -100 to 100; one step is worth a minute of waiting.
    #[serde(default)]
    pub priority: i32,
    /// Skill name → minimum proficiency (1–5) the agent needs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub skills: BTreeMap<String, u8>,
    /// A language the agent must speak (among the agent's `languages`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}

impl Default for Actions {
    fn default() -> Self {
        Actions {
            queue: DEFAULT_QUEUE.into(),
            priority: 0,
            skills: BTreeMap::new(),
            language: None,
        }
    }
}

/// Accepts one value or a list of them.
fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    use serde::de::Error;
    let items = match serde_json::Value::deserialize(d)? {
        serde_json::Value::Array(a) => a,
        one => vec![one],
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| T::deserialize(v).map_err(|e| D::Error::custom(format!("item {i}: {e}"))))
        .collect()
}

/// Named intents (from the dialplans in force) → their keywords, `normalise`d.
pub type Intents = BTreeMap<String, Vec<String>>;

/// What is known about a conversation as it opens.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub channel: Channel,
    /// The first message; for an e-mail its subject and text.
    pub text: &'a str,
    /// The addresses contacted (an e-mail's recipients); empty when unknown.
    pub to: &'a [String],
    pub tier: Option<&'a str>,
    pub language: Option<&'a str>,
    pub now: DateTime<Utc>,
}

/// The rule that matched, by position and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    pub index: usize,
    pub name: String,
}

/// Where a conversation goes and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// `None` when no rule matched and the default applied.
    pub rule: Option<Matched>,
    pub actions: Actions,
    /// The conditions that held, e.g. `keyword refund`, `tier vip`.
    pub because: Vec<String>,
}

impl Decision {
    /// The matched rule's name, or `default`.
    pub fn rule_name(&self) -> &str {
        self.rule.as_ref().map_or("default", |m| m.name.as_str())
    }
}

/// A rule set checked and ready to match: keywords normalised, time zones parsed.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    set: RuleSet,
    compiled: Vec<Compiled>,
}

#[derive(Debug, Clone)]
struct Compiled {
    /// (as written, normalised)
    keywords: Vec<(String, String)>,
    timezone: Option<chrono_tz::Tz>,
}

impl Rules {
    /// Checks the set's own consistency (see `rules_check::shape`) and prepares it.
    pub fn new(set: RuleSet) -> Result<Rules, RuleError> {
        rules_check::shape(&set)?;
        let compiled = set
            .rules
            .iter()
            .map(|r| Compiled {
                keywords: r
                    .when
                    .keywords
                    .iter()
                    .map(|k| (k.clone(), intent::normalise(k)))
                    .collect(),
                timezone: r.when.hours.as_ref().and_then(|h| h.timezone.parse().ok()),
            })
            .collect();
        Ok(Rules { set, compiled })
    }

    pub fn set(&self) -> &RuleSet {
        &self.set
    }

    /// The first rule that matches `facts`, else the default.
    pub fn decide(&self, facts: &Facts<'_>, intents: &Intents) -> Decision {
        let text = intent::normalise(facts.text);
        for (index, (rule, compiled)) in self.set.rules.iter().zip(&self.compiled).enumerate() {
            if let Some(because) = matches(rule, compiled, facts, &text, intents) {
                return Decision {
                    rule: Some(Matched {
                        index,
                        name: rule.name.clone(),
                    }),
                    actions: rule.then.clone(),
                    because,
                };
            }
        }
        Decision {
            rule: None,
            actions: self.set.default.clone(),
            because: vec![],
        }
    }
}

/// The reasons `rule` holds for these facts, or `None` when a condition fails.
fn matches(
    rule: &Rule,
    compiled: &Compiled,
    facts: &Facts<'_>,
    text: &str,
    intents: &Intents,
) -> Option<Vec<String>> {
    let w = &rule.when;
    let mut because = Vec::new();
    if !w.channel.is_empty() {
        w.channel.iter().find(|c| **c == facts.channel)?;
        because.push(format!("channel {}", channel_name(facts.channel)));
    }
    if !w.to.is_empty() {
        let hit = facts
            .to
            .iter()
            .find(|a| w.to.iter().any(|t| t.trim().eq_ignore_ascii_case(a.trim())))?;
        because.push(format!("to {hit}"));
    }
    if !compiled.keywords.is_empty() {
        let (k, _) = compiled
            .keywords
            .iter()
            .find(|(_, norm)| intent::contains(text, norm))?;
        because.push(format!("keyword {k}"));
    }
    if !w.intent.is_empty() {
        let name = w.intent.iter().find(|name| {
            intents
                .get(name.as_str())
                .is_some_and(|ks| ks.iter().any(|k| intent::contains(text, k)))
        })?;
        because.push(format!("intent {name}"));
    }
    if !w.tier.is_empty() {
        let tier = facts.tier?;
        w.tier.iter().find(|t| t.eq_ignore_ascii_case(tier))?;
        because.push(format!("tier {tier}"));
    }
    if !w.language.is_empty() {
        let language = facts.language?;
        w.language.iter().find(|l| language_matches(l, language))?;
        because.push(format!("language {language}"));
    }
    if let Some(h) = &w.hours {
        let tz = compiled.timezone?;
        let open = hours::is_open(&h.open, &h.holidays, tz, facts.now);
        if open == h.outside {
            return None;
        }
        because.push(if open { "open hours" } else { "outside hours" }.into());
    }
    Some(because)
}

/// `wanted` `zh` takes `zh`, `zh-CN` and `zh_cn`; `zh-CN` takes only `zh-CN`.
fn language_matches(wanted: &str, language: &str) -> bool {
    let fold = |s: &str| s.trim().to_ascii_lowercase().replace('_', "-");
    let (wanted, language) = (fold(wanted), fold(language));
    language == wanted
        || language
            .strip_prefix(&wanted)
            .is_some_and(|rest| rest.starts_with('-'))
}

pub fn channel_name(c: Channel) -> &'static str {
    match c {
        Channel::Voice => "voice",
        Channel::Chat => "chat",
        Channel::Email => "email",
        Channel::Social => "social",
    }
}

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;
