//! Checking a routing rule set before it is stored (pure): its own shape (names,
//! keywords, hours, priorities, skills) and what it refers to (queues and named
//! intents that must exist). An error names the rule and the field; problems that
//! do not stop the set working (a skill no agent has yet) come back as warnings.

use std::collections::{BTreeMap, BTreeSet};

use super::rules::{Actions, Rule, RuleSet};
use crate::dialplan::{hours, intent};

/// Most rules in a set.
pub const MAX_RULES: usize = 200;
/// Most values in one condition (keywords, tiers…).
const MAX_VALUES: usize = 200;
/// Longest name, keyword or value.
const MAX_LEN: usize = 100;
/// Priorities a rule may give.
pub const PRIORITIES: std::ops::RangeInclusive<i32> = -100..=100;

/// A rule set that cannot be used: where (`rules[2] (vip).then.queue`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct RuleError {
    pub at: String,
    pub message: String,
}

fn err<T>(at: impl Into<String>, message: impl Into<String>) -> Result<T, RuleError> {
    Err(RuleError {
        at: at.into(),
        message: message.into(),
    })
}

/// What the rules may refer to: the queues, the dialplans' named intents, and
/// the skills agents have.
#[derive(Debug, Clone, Default)]
pub struct Known {
    pub queues: BTreeSet<String>,
    pub intents: BTreeSet<String>,
    pub skills: BTreeSet<String>,
}

fn rule_at(i: usize, r: &Rule) -> String {
    format!("rules[{i}] ({})", r.name)
}

/// The set's own consistency, whatever else exists.
pub fn shape(set: &RuleSet) -> Result<(), RuleError> {
    if set.rules.len() > MAX_RULES {
        return err("rules", format!("at most {MAX_RULES} rules"));
    }
    let mut names = BTreeSet::new();
    for (i, r) in set.rules.iter().enumerate() {
        let at = rule_at(i, r);
        let name = r.name.trim();
        if name.is_empty() || name.len() > 64 || name != r.name {
            return err(
                format!("rules[{i}].name"),
                "must be 1 to 64 characters without leading or trailing spaces",
            );
        }
        if name.eq_ignore_ascii_case("default") {
            return err(
                format!("{at}.name"),
                "`default` is the name recorded when no rule matches",
            );
        }
        if !names.insert(name.to_lowercase()) {
            return err(format!("{at}.name"), "another rule has this name");
        }
        conditions(&at, r)?;
        actions(&format!("{at}.then"), &r.then)?;
    }
    actions("default", &set.default)
}

fn conditions(at: &str, r: &Rule) -> Result<(), RuleError> {
    let w = &r.when;
    for (field, values) in [
        ("keywords", &w.keywords),
        ("intent", &w.intent),
        ("tier", &w.tier),
        ("language", &w.language),
        ("to", &w.to),
    ] {
        let at = format!("{at}.if.{field}");
        if values.len() > MAX_VALUES {
            return err(at, format!("at most {MAX_VALUES} values"));
        }
        for v in values {
            if v.trim().is_empty() || v.len() > MAX_LEN {
                return err(&at, format!("`{v}` must be 1 to {MAX_LEN} characters"));
            }
        }
    }
    for k in &w.keywords {
        if intent::normalise(k).is_empty() {
            return err(
                format!("{at}.if.keywords"),
                format!("`{k}` has no letters or digits"),
            );
        }
    }
    for l in &w.language {
        language(&format!("{at}.if.language"), l)?;
    }
    let Some(h) = &w.hours else { return Ok(()) };
    let at = format!("{at}.if.hours");
    if h.timezone.parse::<chrono_tz::Tz>().is_err() {
        return err(
            format!("{at}.timezone"),
            format!(
                "unknown time zone `{}` (an IANA name like `Asia/Shanghai`)",
                h.timezone
            ),
        );
    }
    if h.open.is_empty() {
        return err(
            format!("{at}.open"),
            "give at least one `days: span`, e.g. `\"mon-fri\": \"09:00-18:00\"`",
        );
    }
    for (days, span) in &h.open {
        if hours::parse_days(days).is_none() || hours::parse_span(span).is_none() {
            return err(
                format!("{at}.open"),
                format!(
                    "`{days}: {span}` must look like `\"mon-fri\": \"09:00-18:00\"` (days mon…sun, opening before closing)"
                ),
            );
        }
    }
    for d in &h.holidays {
        if chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
            return err(
                format!("{at}.holidays"),
                format!("`{d}` is not a date like 2026-10-01"),
            );
        }
    }
    Ok(())
}

fn actions(at: &str, a: &Actions) -> Result<(), RuleError> {
    if a.queue.trim().is_empty() {
        return err(format!("{at}.queue"), "a queue is required");
    }
    if !PRIORITIES.contains(&a.priority) {
        return err(
            format!("{at}.priority"),
            format!("must be {} to {}", PRIORITIES.start(), PRIORITIES.end()),
        );
    }
    for (skill, level) in &a.skills {
        if skill.trim().is_empty() || skill.len() > 64 {
            return err(
                format!("{at}.skills"),
                "skill names must be 1 to 64 characters",
            );
        }
        if !(1..=5).contains(level) {
            return err(format!("{at}.skills.{skill}"), "proficiency must be 1 to 5");
        }
    }
    if let Some(l) = &a.language {
        language(&format!("{at}.language"), l)?;
    }
    Ok(())
}

/// A language tag such as `zh`, `en` or `zh-CN`.
fn language(at: &str, l: &str) -> Result<(), RuleError> {
    let ok = (2..=16).contains(&l.len())
        && l.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        err(
            at,
            format!("`{l}` is not a language tag like `zh` or `en-US`"),
        )
    }
}

/// The queues and intents the set names must exist; returns warnings about what
/// works but is probably not meant.
pub fn references(set: &RuleSet, known: &Known) -> Result<Vec<String>, RuleError> {
    let mut warnings = Vec::new();
    let queue = |at: String, a: &Actions| {
        if known.queues.contains(&a.queue) {
            Ok(())
        } else {
            err(
                format!("{at}.queue"),
                format!(
                    "unknown queue `{}` (queues: {})",
                    a.queue,
                    list(&known.queues)
                ),
            )
        }
    };
    let mut skills = |at: String, wanted: &BTreeMap<String, u8>| {
        for s in wanted.keys().filter(|s| !known.skills.contains(*s)) {
            warnings.push(format!(
                "{at}.skills.{s}: no agent has this skill yet; items wait until their queue relaxes skill requirements"
            ));
        }
    };
    let mut catch_all = None;
    for (i, r) in set.rules.iter().enumerate() {
        let at = rule_at(i, r);
        queue(format!("{at}.then"), &r.then)?;
        skills(format!("{at}.then"), &r.then.skills);
        if let Some(name) = r.when.intent.iter().find(|n| !known.intents.contains(*n)) {
            return err(
                format!("{at}.if.intent"),
                format!(
                    "no dialplan in force has an intent `{name}` (intents: {})",
                    list(&known.intents)
                ),
            );
        }
        if catch_all.is_none() && r.when == Default::default() && i + 1 < set.rules.len() {
            catch_all = Some(at);
        }
    }
    queue("default".into(), &set.default)?;
    skills("default".into(), &set.default.skills);
    if let Some(at) = catch_all {
        warnings.push(format!(
            "{at}: has no conditions, so the rules after it never match"
        ));
    }
    Ok(warnings)
}

fn list(names: &BTreeSet<String>) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}
