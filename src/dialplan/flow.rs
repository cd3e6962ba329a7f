//! The shape of a dialplan, for drawing it: each step with its action and line,
//! and its ways out labelled (menu keys, intents, branch conditions, failure
//! paths, what follows a queue or a transfer). Works on any text that parses as a dialplan,
//! valid or not, so the editor can draw while the admin types.

use serde::Serialize;
use utoipa::ToSchema;

use super::schema::{Condition, DialplanFile, Step, Transfer};

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Flow {
    pub start: String,
    /// In file order (by line).
    pub steps: Vec<FlowStep>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FlowStep {
    pub name: String,
    /// The step's action key (`menu`, `queue`, …); `?` when it has none.
    pub action: String,
    /// A short summary: prompts played, queue name, variable collected.
    pub detail: String,
    pub line: u64,
    pub edges: Vec<FlowEdge>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FlowEdge {
    pub to: String,
    /// Empty for the plain next step.
    pub label: String,
}

/// The flow of `text` if it parses as a dialplan.
pub fn of_text(text: &str) -> Option<Flow> {
    serde_saphyr::from_str::<DialplanFile>(text)
        .ok()
        .map(|p| of(&p))
}

pub fn of(plan: &DialplanFile) -> Flow {
    let mut steps: Vec<FlowStep> = plan
        .steps
        .iter()
        .map(|(name, step)| FlowStep {
            name: name.clone(),
            action: action(&step.value).to_string(),
            detail: detail(&step.value),
            line: step.referenced.line(),
            edges: edges(&step.value),
        })
        .collect();
    steps.sort_by_key(|s| s.line);
    Flow {
        start: plan.start.value.clone(),
        steps,
    }
}

fn action(s: &Step) -> &'static str {
    let actions = [
        (s.answer.is_some(), "answer"),
        (s.play.is_some(), "play"),
        (s.say.is_some(), "say"),
        (s.menu.is_some(), "menu"),
        (s.collect.is_some(), "collect"),
        (s.listen.is_some(), "listen"),
        (s.lookup.is_some(), "lookup"),
        (s.set.is_some(), "set"),
        (s.branch.is_some(), "branch"),
        (s.language.is_some(), "language"),
        (s.queue.is_some(), "queue"),
        (s.survey.is_some(), "survey"),
        (s.voicemail.is_some(), "voicemail"),
        (s.callback.is_some(), "callback"),
        (s.transfer.is_some(), "transfer"),
        (s.hangup.is_some(), "hangup"),
        (s.goto.is_some(), "goto"),
    ];
    actions
        .iter()
        .find(|(on, _)| *on)
        .map_or("?", |(_, name)| name)
}

fn detail(s: &Step) -> String {
    let names = |p: &[serde_saphyr::Spanned<String>]| {
        p.iter()
            .map(|x| x.value.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if let Some(p) = &s.play {
        return names(&p.prompts);
    }
    if let Some(m) = &s.menu {
        return names(&m.prompts);
    }
    if let Some(c) = &s.collect {
        return format!("→ {}", c.into);
    }
    if let Some(q) = &s.queue {
        return match &q.callback {
            Some(b) => format!("{}, callback after {} s", q.name.value, b.after.value),
            None => q.name.value.clone(),
        };
    }
    if let Some(v) = &s.voicemail {
        return match &v.queue {
            Some(q) => format!("≤ {} s → {}", v.max_seconds.value, q.value),
            None => format!("≤ {} s", v.max_seconds.value),
        };
    }
    if let Some(b) = &s.callback {
        let key = super::schema::callback_key(b.key.as_ref());
        let queue = b.queue.as_ref().map_or("?", |q| q.value.as_str());
        return format!("{key} → {queue}");
    }
    if let Some(t) = &s.transfer {
        return transfer_detail(t);
    }
    if let Some(l) = &s.language {
        return l.clone();
    }
    if let Some(l) = &s.lookup {
        return l.url.value.clone();
    }
    if let Some(v) = &s.survey {
        return format!("1–{}", v.scale);
    }
    String::new()
}

fn edges(s: &Step) -> Vec<FlowEdge> {
    let mut out = Vec::new();
    let mut add = |to: &str, label: &str| {
        out.push(FlowEdge {
            to: to.to_string(),
            label: label.to_string(),
        })
    };
    if let Some(m) = &s.menu {
        for (key, to) in &m.options {
            add(&to.value, key);
        }
        add(&m.on_fail.value, "fail");
    }
    if let Some(c) = &s.collect {
        add(&c.on_fail.value, "fail");
    }
    if let Some(l) = &s.listen {
        for i in &l.intents {
            add(&i.goto.value, &i.name);
        }
        add(&l.on_fail.value, "fail");
        if let Some(u) = &l.unavailable {
            add(&u.value, "unavailable");
        }
    }
    if let Some(l) = &s.lookup {
        add(&l.on_fail.value, "fail");
    }
    if let Some(f) = s.transfer.as_ref().and_then(|t| t.on_fail.as_ref()) {
        add(&f.value, "fail");
    }
    for rule in s.branch.iter().flatten() {
        add(&rule.goto.value, &condition(rule.when.as_ref()));
    }
    if let Some(g) = &s.goto {
        add(&g.value, "");
    }
    if let Some(n) = &s.next {
        let label = if s.queue.is_some() {
            "after agent"
        } else if s.callback.is_some() {
            "declined"
        } else if s.transfer.is_some() {
            "after transfer"
        } else {
            ""
        };
        add(&n.value, label);
    }
    out
}

/// Where a transfer goes and how long it rings: `extension 1001, ring 30 s`.
fn transfer_detail(t: &Transfer) -> String {
    let to = match (&t.extension, &t.number) {
        (Some(e), _) => format!("extension {}", e.value),
        (None, Some(n)) => format!("number {}", n.value),
        (None, None) => "?".to_string(),
    };
    format!("{to}, ring {} s", t.ring_seconds.value)
}

fn condition(c: Option<&Condition>) -> String {
    let Some(c) = c else {
        return "else".into();
    };
    let mut parts = Vec::new();
    if c.hours.is_some() {
        parts.push("open hours".to_string());
    }
    for (k, v) in c.equals.iter().flatten() {
        parts.push(format!("{k} = {v}"));
    }
    if let Some(p) = &c.caller {
        parts.push(format!("caller ~ {}", p.value));
    }
    if parts.is_empty() {
        "else".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hotline_is_drawn_with_labelled_ways_out() {
        let text = include_str!("../../dialplans/hotline.yaml");
        let flow = of_text(text).expect("the hotline parses");
        assert_eq!(flow.start, "welcome");
        let step = |n: &str| flow.steps.iter().find(|s| s.name == n).unwrap();
        let main = step("main");
        assert_eq!(main.action, "menu");
        assert!(main.edges.contains(&FlowEdge {
            to: "support".into(),
            label: "2".into()
        }));
        assert!(
            main.edges
                .iter()
                .any(|e| e.label == "fail" && e.to == "operator")
        );
        let support = step("support");
        assert_eq!(support.detail, "support, callback after 60 s");
        assert_eq!(support.edges[0].label, "after agent");
        assert!(step("hours").edges.iter().any(|e| e.label == "else"));
        assert!(step("speak").edges.iter().any(|e| e.label == "order"));
        let closed = step("closed");
        assert_eq!(
            (closed.action.as_str(), closed.detail.as_str()),
            ("callback", "1 → support")
        );
        assert_eq!(
            closed.edges,
            [FlowEdge {
                to: "voicemail".into(),
                label: "declined".into()
            }]
        );
        let voicemail = step("voicemail");
        assert_eq!(voicemail.detail, "≤ 120 s → support");
        assert_eq!(voicemail.edges[0].to, "bye");
        let lines: Vec<u64> = flow.steps.iter().map(|s| s.line).collect();
        assert!(
            lines.windows(2).all(|w| w[0] < w[1]),
            "file order: {lines:?}"
        );
    }

    #[test]
    fn a_transfer_is_drawn_with_its_failure_and_what_follows() {
        let text = "name: t\nstart: desk\nsteps:\n  desk:\n    transfer: { number: \"+8610{x}\", on_fail: vm }\n    next: rate\n  vm:\n    voicemail: {}\n  rate:\n    hangup: {}\n";
        let flow = of_text(text).expect("parses");
        let desk = &flow.steps[0];
        assert_eq!(
            (desk.action.as_str(), desk.detail.as_str()),
            ("transfer", "number +8610{x}, ring 30 s")
        );
        let edge = |to: &str, label: &str| FlowEdge {
            to: to.into(),
            label: label.into(),
        };
        assert_eq!(
            desk.edges,
            [edge("vm", "fail"), edge("rate", "after transfer")]
        );
    }

    #[test]
    fn text_that_is_not_a_dialplan_has_no_flow() {
        assert!(of_text("name: [").is_none());
        assert!(of_text("just text").is_none());
        let broken = of_text("name: t\nstart: a\nsteps:\n  a:\n    goto: nowhere\n").unwrap();
        assert_eq!(
            broken.steps[0].edges[0].to, "nowhere",
            "drawn even when invalid"
        );
    }
}
