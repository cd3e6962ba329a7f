//! Loading and validating dialplans: YAML with line/column errors, then checks of
//! every reference, prompt, time zone, pattern, loop and DID, each reported as
//! `file:line:col: message`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde_saphyr::Spanned;

use super::schema::{DialplanFile, Step};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    pub line: u64,
    pub col: u64,
    pub message: String,
    /// Warnings are reported but do not stop a plan from being used.
    pub warning: bool,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.warning { "warning: " } else { "" };
        write!(
            f,
            "{}:{}:{}: {kind}{}",
            self.file, self.line, self.col, self.message
        )
    }
}

/// A validated dialplan, ready to run.
#[derive(Debug, Clone)]
pub struct Dialplan {
    pub path: PathBuf,
    pub file: DialplanFile,
    pub timezone: chrono_tz::Tz,
}

impl Dialplan {
    pub fn name(&self) -> &str {
        &self.file.name
    }

    pub fn step(&self, name: &str) -> Option<&Step> {
        self.file.steps.get(name).map(|s| &s.value)
    }
}

struct Checker<'a> {
    file: String,
    sounds: &'a Path,
    out: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn at<T>(&mut self, s: &Spanned<T>, message: impl Into<String>) {
        self.push(
            s.referenced.line(),
            s.referenced.column(),
            message.into(),
            false,
        );
    }

    /// At `s`, or at `fallback` when `s` has no place (a default value).
    fn at_or<T, U>(&mut self, s: &Spanned<T>, fallback: &Spanned<U>, message: &str) {
        if s.referenced.line() == 0 {
            self.at(fallback, message);
        } else {
            self.at(s, message);
        }
    }

    fn push(&mut self, line: u64, col: u64, message: String, warning: bool) {
        self.out.push(Diagnostic {
            file: self.file.clone(),
            line: line.max(1),
            col: col.max(1),
            message,
            warning,
        });
    }
}

/// Parses and checks one dialplan file's text.
pub fn parse(
    path: &Path,
    text: &str,
    sounds: &Path,
) -> Result<(Dialplan, Vec<Diagnostic>), Vec<Diagnostic>> {
    let file_name = path.display().to_string();
    let parsed: DialplanFile = serde_saphyr::from_str(text).map_err(|e| {
        let (line, col) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((1, 1));
        let message = e.without_snippet().to_string();
        let message = message.lines().next().unwrap_or("invalid YAML").to_string();
        vec![Diagnostic {
            file: file_name.clone(),
            line: line.max(1),
            col: col.max(1),
            message,
            warning: false,
        }]
    })?;
    let mut c = Checker {
        file: file_name,
        sounds,
        out: Vec::new(),
    };
    let timezone = match parsed.timezone.value.parse::<chrono_tz::Tz>() {
        Ok(tz) => tz,
        Err(_) => {
            c.at(
                &parsed.timezone,
                format!("unknown time zone `{}`", parsed.timezone.value),
            );
            chrono_tz::UTC
        }
    };
    check_steps(&mut c, &parsed);
    let errors: Vec<Diagnostic> = c.out.iter().filter(|d| !d.warning).cloned().collect();
    if !errors.is_empty() {
        return Err(c.out);
    }
    Ok((
        Dialplan {
            path: path.to_path_buf(),
            file: parsed,
            timezone,
        },
        c.out,
    ))
}

fn check_steps(c: &mut Checker<'_>, plan: &DialplanFile) {
    let names: BTreeSet<&str> = plan.steps.keys().map(String::as_str).collect();
    let refs = |c: &mut Checker<'_>, r: &Spanned<String>| {
        if !names.contains(r.value.as_str()) {
            c.at(r, format!("no step named `{}`", r.value));
        }
    };
    refs(c, &plan.start);
    let languages = languages_of(plan);
    for (name, step) in &plan.steps {
        let actions = action_count(&step.value);
        if actions != 1 {
            c.at(step, format!("step `{name}` must have exactly one action (answer, play, say, menu, collect, listen, lookup, set, branch, language, queue, survey, voicemail, callback, transfer, hangup, goto), found {actions}"));
        }
        for r in targets(&step.value) {
            refs(c, r);
        }
        let finishes = step.value.answer.is_some()
            || step.value.say.is_some()
            || step.value.survey.is_some()
            || step.value.lookup.is_some()
            || step.value.play.is_some()
            || step.value.set.is_some()
            || step.value.language.is_some();
        if finishes && step.value.next.is_none() {
            c.at(step, format!("step `{name}` needs `next`"));
        }
        for p in prompts(&step.value) {
            for lang in &languages {
                let file = c.sounds.join(lang).join(format!("{}.wav", p.value));
                if !file.is_file() {
                    c.at(
                        p,
                        format!("prompt `{}` is missing: {}", p.value, file.display()),
                    );
                }
            }
        }
        check_patterns(c, &step.value);
        check_say(c, step, &languages);
        check_offers(c, step, &languages);
        transfer::check_transfer(c, step);
    }
    check_reachability(c, plan);
    check_input_loops(c, plan);
}

fn action_count(s: &Step) -> usize {
    [
        s.answer.is_some(),
        s.play.is_some(),
        s.say.is_some(),
        s.menu.is_some(),
        s.collect.is_some(),
        s.listen.is_some(),
        s.lookup.is_some(),
        s.set.is_some(),
        s.branch.is_some(),
        s.language.is_some(),
        s.queue.is_some(),
        s.survey.is_some(),
        s.voicemail.is_some(),
        s.callback.is_some(),
        s.transfer.is_some(),
        s.hangup.is_some(),
        s.goto.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count()
}

/// Every step name a step may continue to.
pub fn targets(s: &Step) -> Vec<&Spanned<String>> {
    let mut out: Vec<&Spanned<String>> = Vec::new();
    out.extend(s.next.iter());
    out.extend(s.goto.iter());
    if let Some(m) = &s.menu {
        out.extend(m.options.values());
        out.push(&m.on_fail);
    }
    if let Some(c) = &s.collect {
        out.push(&c.on_fail);
    }
    if let Some(l) = &s.listen {
        out.extend(l.intents.iter().map(|i| &i.goto));
        out.push(&l.on_fail);
        out.extend(l.unavailable.iter());
    }
    if let Some(l) = &s.lookup {
        out.push(&l.on_fail);
    }
    if let Some(t) = &s.transfer {
        out.extend(t.on_fail.iter());
    }
    if let Some(rules) = &s.branch {
        out.extend(rules.iter().map(|r| &r.goto));
    }
    out
}

fn prompts(s: &Step) -> Vec<&Spanned<String>> {
    let mut out: Vec<&Spanned<String>> = Vec::new();
    if let Some(p) = &s.play {
        out.extend(p.prompts.iter());
    }
    if let Some(m) = &s.menu {
        out.extend(m.prompts.iter());
        out.extend(m.invalid_prompt.iter());
    }
    if let Some(c) = &s.collect {
        out.extend(c.prompts.iter());
    }
    if let Some(l) = &s.listen {
        out.extend(l.prompts.iter());
        out.extend(l.retry_prompt.iter());
    }
    if let Some(v) = &s.survey {
        out.extend(v.prompts.iter());
        out.extend(v.invalid_prompt.iter());
        out.extend(v.thanks.iter());
    }
    if let Some(v) = &s.voicemail {
        out.extend(v.prompts.iter());
        out.extend(v.beep.iter());
        out.extend(v.thanks.iter());
    }
    if let Some(b) = &s.callback {
        out.extend(b.prompts.iter());
        out.extend(b.confirm.iter());
    }
    if let Some(b) = s.queue.as_ref().and_then(|q| q.callback.as_ref()) {
        out.extend(b.prompts.iter());
        out.extend(b.confirm.iter());
    }
    if let Some(t) = &s.transfer {
        out.extend(t.prompts.iter());
    }
    out
}

fn languages_of(plan: &DialplanFile) -> BTreeSet<String> {
    let mut out = BTreeSet::from([plan.language.clone()]);
    out.extend(plan.steps.values().filter_map(|s| s.value.language.clone()));
    out
}

fn check_patterns(c: &mut Checker<'_>, s: &Step) {
    check_listen(c, s);
    check_lookup(c, s);
    if let Some(v) = &s.survey
        && !(2..=9).contains(&v.scale)
        && let Some(p) = v.prompts.first()
    {
        c.at(p, "`scale` must be between 2 and 9");
    }
    if let Some(p) = s.collect.as_ref().and_then(|c| c.pattern.as_ref())
        && let Err(e) = regex::Regex::new(&p.value)
    {
        c.at(p, format!("invalid pattern: {e}"));
    }
    for rule in s.branch.iter().flatten() {
        let Some(cond) = &rule.when else { continue };
        if let Some(p) = &cond.caller
            && let Err(e) = regex::Regex::new(&p.value)
        {
            c.at(p, format!("invalid caller pattern: {e}"));
        }
        for (days, span) in cond.hours.iter().flatten() {
            if super::hours::parse_days(days).is_none() || super::hours::parse_span(span).is_none()
            {
                c.at(
                    &rule.goto,
                    format!("hours `{days}: {span}` must look like `mon-fri: \"09:00-18:00\"`"),
                );
            }
        }
        for d in &cond.holidays {
            if chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err() {
                c.at(
                    &rule.goto,
                    format!("holiday `{d}` is not a YYYY-MM-DD date"),
                );
            }
        }
    }
}

/// A `say` step's parts, and what a step that speaks values needs on disk: the
/// snippets of each language (and the announcement prompts of a queue).
fn check_say(c: &mut Checker<'_>, step: &Spanned<Step>, languages: &BTreeSet<String>) {
    let s = &step.value;
    let announces = s.queue.as_ref().is_some_and(|q| q.announce_every > 0);
    if s.say.is_none() && !announces {
        return;
    }
    for part in s.say.iter().flatten() {
        check_say_part(c, step, part, languages);
    }
    for lang in languages {
        let lang_dir = if super::say::LANGUAGES.contains(&lang.as_str()) {
            lang.as_str()
        } else {
            "en"
        };
        let missing = super::say::all_snippets(lang_dir).into_iter().find(|n| {
            !c.sounds
                .join(lang_dir)
                .join("say")
                .join(format!("{n}.wav"))
                .is_file()
        });
        if let Some(n) = missing {
            let file = c.sounds.join(lang_dir).join("say").join(format!("{n}.wav"));
            c.at(
                step,
                format!(
                    "snippet `{n}` for saying values is missing: {}",
                    file.display()
                ),
            );
        }
        if announces {
            for p in super::vm::PLACE_PROMPTS {
                let file = c.sounds.join(lang).join(format!("{p}.wav"));
                if !file.is_file() {
                    c.at(
                        step,
                        format!("announcement prompt `{p}` is missing: {}", file.display()),
                    );
                }
            }
        }
    }
}

fn check_say_part(
    c: &mut Checker<'_>,
    step: &Spanned<Step>,
    part: &super::schema::SayPart,
    languages: &BTreeSet<String>,
) {
    if part.kinds() != 1 {
        c.at(
            step,
            "each part of `say` needs exactly one of prompt, digits, number, amount, date",
        );
        return;
    }
    let currency = part.currency.as_ref().map_or("cny", |c| c.value.as_str());
    if let Some(cur) = &part.currency
        && !super::say::CURRENCIES.contains(&cur.value.as_str())
    {
        c.at(
            cur,
            format!("unknown currency `{}` (known: cny, usd)", cur.value),
        );
    }
    if let Some(p) = &part.prompt {
        if p.value.contains('{') {
            return;
        }
        for lang in languages {
            let file = c.sounds.join(lang).join(format!("{}.wav", p.value));
            if !file.is_file() {
                c.at(
                    p,
                    format!("prompt `{}` is missing: {}", p.value, file.display()),
                );
            }
        }
        return;
    }
    if let Some((kind, value)) = part.value()
        && !value.value.contains('{')
        && let Err(e) = super::say::snippets("en", kind, &value.value, currency)
    {
        c.at(value, e.to_string());
    }
}

/// The voicemail and callback steps, and a queue's callback offer: ranges, keys,
/// queue names, and the default beep on disk.
fn check_offers(c: &mut Checker<'_>, step: &Spanned<Step>, languages: &BTreeSet<String>) {
    let s = &step.value;
    if let Some(v) = &s.voicemail {
        if !(1..=600).contains(&v.max_seconds.value) {
            c.at_or(
                &v.max_seconds,
                step,
                "`max_seconds` must be between 1 and 600",
            );
        }
        check_queue_name(c, v.queue.as_ref());
        check_number(c, v.number.as_ref());
        if v.beep.is_none() {
            check_prompt_at(c, step, super::schema::DEFAULT_BEEP, languages);
        }
    }
    if let Some(b) = &s.callback {
        check_key(c, b.key.as_ref());
        check_offer_timeout(c, &b.timeout, step);
        check_number(c, b.number.as_ref());
        match &b.queue {
            Some(_) => check_queue_name(c, b.queue.as_ref()),
            None => c.at(step, "the `callback` step needs `queue`"),
        }
        if b.prompts.is_empty() {
            c.at(step, "`callback` needs at least one prompt");
        }
    }
    if let Some(b) = s.queue.as_ref().and_then(|q| q.callback.as_ref()) {
        if b.after.value == 0 {
            c.at(&b.after, "`after` must be more than 0 seconds");
        }
        check_key(c, b.key.as_ref());
        check_offer_timeout(c, &b.timeout, step);
        if b.prompts.is_empty() {
            c.at(&b.after, "a queue's `callback` needs at least one prompt");
        }
    }
}

fn check_key(c: &mut Checker<'_>, key: Option<&Spanned<String>>) {
    let Some(k) = key else { return };
    let one = k.value.len() == 1
        && k.value
            .chars()
            .all(|ch| ch.is_ascii_digit() || ch == '*' || ch == '#');
    if !one {
        c.at(
            k,
            format!("`key` must be one of 0-9, * and #, not `{}`", k.value),
        );
    }
}

fn check_offer_timeout(c: &mut Checker<'_>, timeout: &Spanned<u32>, step: &Spanned<Step>) {
    if !(1..=60).contains(&timeout.value) {
        c.at_or(timeout, step, "`timeout` must be between 1 and 60 seconds");
    }
}

fn check_queue_name(c: &mut Checker<'_>, queue: Option<&Spanned<String>>) {
    if let Some(q) = queue
        && q.value.trim().is_empty()
    {
        c.at(q, "`queue` must name a queue");
    }
}

fn check_number(c: &mut Checker<'_>, number: Option<&Spanned<String>>) {
    if let Some(n) = number
        && n.value.trim().is_empty()
    {
        c.at(n, "`number` must not be empty (the default is `{caller}`)");
    }
}

/// A prompt the step plays without naming it must exist in every language.
fn check_prompt_at(
    c: &mut Checker<'_>,
    step: &Spanned<Step>,
    name: &str,
    languages: &BTreeSet<String>,
) {
    for lang in languages {
        let file = c.sounds.join(lang).join(format!("{name}.wav"));
        if !file.is_file() {
            c.at(
                step,
                format!("prompt `{name}` is missing: {}", file.display()),
            );
        }
    }
}

fn check_lookup(c: &mut Checker<'_>, s: &Step) {
    let Some(l) = &s.lookup else { return };
    let url = &l.url.value;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        c.at(&l.url, "`url` must start with http:// or https://");
    }
    if !(100..=30_000).contains(&l.timeout_ms) {
        c.at(&l.url, "`timeout_ms` must be between 100 and 30000");
    }
    if l.into.is_empty()
        || !l
            .into
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
    {
        c.at(&l.url, "`into` must be a name of letters, digits and `_`");
    }
}

fn check_listen(c: &mut Checker<'_>, s: &Step) {
    let Some(l) = &s.listen else { return };
    if l.intents.is_empty() {
        c.at(&l.on_fail, "`listen` needs at least one intent");
    }
    for intent in &l.intents {
        if intent.keywords.is_empty() {
            c.at(
                &intent.goto,
                format!("intent `{}` has no keywords", intent.name),
            );
        }
        for k in &intent.keywords {
            if super::intent::normalise(&k.value).is_empty() {
                c.at(k, "a keyword needs at least one letter or digit");
            }
        }
    }
    if !(1..=30).contains(&l.max_seconds) {
        c.at(
            &l.on_fail,
            "`max_seconds` must be between 1 and 30 (whisper hears 30 s at most)",
        );
    }
}

fn check_reachability(c: &mut Checker<'_>, plan: &DialplanFile) {
    let mut seen = BTreeSet::new();
    let mut todo = vec![plan.start.value.as_str()];
    while let Some(n) = todo.pop() {
        if !seen.insert(n) {
            continue;
        }
        if let Some(s) = plan.steps.get(n) {
            todo.extend(targets(&s.value).into_iter().map(|t| t.value.as_str()));
        }
    }
    for (name, step) in &plan.steps {
        if !seen.contains(name.as_str()) {
            c.push(
                step.referenced.line(),
                step.referenced.column(),
                format!("step `{name}` is never reached"),
                true,
            );
        }
    }
}

/// A cycle through steps that never wait for the caller would spin forever.
fn check_input_loops(c: &mut Checker<'_>, plan: &DialplanFile) {
    let waits = |s: &Step| {
        s.menu.is_some()
            || s.collect.is_some()
            || s.listen.is_some()
            || s.lookup.is_some()
            || s.queue.is_some()
            || s.survey.is_some()
            || s.voicemail.is_some()
            || s.callback.is_some()
            || s.transfer.is_some()
            || s.hangup.is_some()
            || s.play.is_some()
            || s.say.is_some()
    };
    let edges: BTreeMap<&str, Vec<&str>> = plan
        .steps
        .iter()
        .filter(|(_, s)| !waits(&s.value))
        .map(|(n, s)| {
            (
                n.as_str(),
                targets(&s.value)
                    .into_iter()
                    .map(|t| t.value.as_str())
                    .collect(),
            )
        })
        .collect();
    for start in edges.keys() {
        let mut path = vec![*start];
        let mut at = *start;
        while let Some(next) = edges.get(at).and_then(|v| v.first()) {
            if path.contains(next) {
                if let Some(s) = plan.steps.get(*start)
                    && *next == *start
                {
                    c.at(
                        s,
                        format!(
                            "steps {} loop without waiting for the caller",
                            path.join(" → ")
                        ),
                    );
                }
                break;
            }
            path.push(next);
            at = next;
        }
    }
}

/// Loads every `*.yaml` in `dir`; returns the valid plans and all diagnostics. Two
/// plans answering the same DID, or two defaults, are errors.
pub fn load_dir(dir: &Path, sounds: &Path) -> (Vec<Dialplan>, Vec<Diagnostic>) {
    load_dir_with(dir, sounds, None)
}

/// `load_dir`, with one file's text replaced by a candidate: `Some((path, text))`
/// stands for `path` (in `dir`, existing or not) holding `text`. A save is checked
/// with this exactly as the reload after it will check the folder.
pub fn load_dir_with(
    dir: &Path,
    sounds: &Path,
    candidate: Option<(&Path, &str)>,
) -> (Vec<Dialplan>, Vec<Diagnostic>) {
    let mut plans = Vec::new();
    let mut diags = Vec::new();
    let files = plan_files(dir, candidate.map(|(p, _)| p));
    if files.is_empty() {
        diags.push(Diagnostic {
            file: dir.display().to_string(),
            line: 1,
            col: 1,
            message: "no dialplan files (*.yaml)".into(),
            warning: true,
        });
    }
    for path in files {
        let text = match candidate {
            Some((p, text)) if p == path => text.to_string(),
            _ => match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) => {
                    diags.push(Diagnostic {
                        file: path.display().to_string(),
                        line: 1,
                        col: 1,
                        message: format!("cannot read: {e}"),
                        warning: false,
                    });
                    continue;
                }
            },
        };
        match parse(&path, &text, sounds) {
            Ok((plan, warnings)) => {
                diags.extend(warnings);
                plans.push(plan);
            }
            Err(errors) => diags.extend(errors),
        }
    }
    check_dids(&plans, &mut diags);
    (plans, diags)
}

/// True for the files a folder load reads: `*.yaml` and `*.yml`.
pub fn is_plan_file(path: &Path) -> bool {
    path.extension().is_some_and(|x| x == "yaml" || x == "yml")
}

/// The dialplan files of `dir`, sorted, plus `extra` when it is not there yet.
fn plan_files(dir: &Path, extra: Option<&Path>) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| is_plan_file(p))
                .collect()
        })
        .unwrap_or_default();
    if let Some(extra) = extra
        && !files.iter().any(|f| f == extra)
    {
        files.push(extra.to_path_buf());
    }
    files.sort();
    files
}

fn check_dids(plans: &[Dialplan], diags: &mut Vec<Diagnostic>) {
    let mut owner: BTreeMap<&str, &str> = BTreeMap::new();
    let mut default: Option<&str> = None;
    for p in plans {
        for did in &p.file.matching.dids {
            if let Some(other) = owner.insert(did.value.as_str(), p.name()) {
                diags.push(Diagnostic {
                    file: p.path.display().to_string(),
                    line: did.referenced.line().max(1),
                    col: did.referenced.column().max(1),
                    message: format!(
                        "DID {} is already answered by dialplan `{other}`",
                        did.value
                    ),
                    warning: false,
                });
            }
        }
        if p.file.matching.default
            && let Some(other) = default.replace(p.name())
        {
            diags.push(Diagnostic {
                file: p.path.display().to_string(),
                line: 1,
                col: 1,
                message: format!("dialplan `{other}` is already the default"),
                warning: false,
            });
        }
    }
}

#[path = "load_transfer.rs"]
mod transfer;
