//! The transfer step in virtual time: prompts then `Transfer`, the shell's
//! answers (failed, ended) and where they lead, a bad number; and its validation.

use std::path::Path;
use std::time::{Duration, Instant};

use super::tests::{drain, open_hours, plan, plays};
use super::*;
use crate::dialplan::load::parse;

const CALLER: &str = "+8613800138000";

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn ivr(step: &str, detail: serde_json::Value) -> Command {
    Command::Timeline(EventPayload::IvrStep {
        step: step.into(),
        detail,
    })
}

fn hangup(cause: &str) -> Command {
    Command::Hangup {
        cause: cause.into(),
    }
}

fn transfer(to: TransferTarget, ring: u64) -> Command {
    Command::Transfer {
        to,
        ring: secs(ring),
    }
}

fn ext(e: &str) -> TransferTarget {
    TransferTarget::Extension(e.into())
}

/// A desk transfer with `fields` (YAML flow mapping entries) and `next: rate`
/// when `next` is set; `vm` and `rate` are steps to go to.
fn desk(fields: &str, next: bool) -> Arc<Dialplan> {
    let next = if next { "    next: rate\n" } else { "" };
    plan(&format!(
        "name: t\nlanguage: en\nstart: desk\nsteps:\n  desk:\n    transfer: {{ {fields} }}\n{next}  vm:\n    voicemail: {{}}\n  rate:\n    survey: {{ prompts: [survey] }}\n    next: bye\n  bye:\n    hangup: {{}}\n"
    ))
}

/// The desk transfer to extension 1001 after its prompt, put through.
fn put_through(t0: Instant, fields: &str, next: bool) -> Vm {
    let fields = format!("extension: \"1001\", prompts: [transferring]{fields}");
    let mut vm = Vm::new(desk(&fields, next), CALLER, "1", t0, open_hours());
    vm.handle(t0 + secs(3), Event::PlaybackDone);
    assert_eq!(drain(&mut vm).last(), Some(&transfer(ext("1001"), 30)));
    vm
}

#[test]
fn an_extension_is_put_through_after_the_prompts_and_waits_without_deadline() {
    let t0 = Instant::now();
    let p = desk(
        "extension: \"1001\", prompts: [transferring], ring_seconds: 20, on_fail: vm",
        true,
    );
    let mut vm = Vm::new(p, CALLER, "1", t0, open_hours());
    assert_eq!(
        drain(&mut vm),
        [
            ivr("desk", json!({ "extension": "1001", "ring_seconds": 20 })),
            Command::Play {
                files: vec![PathBuf::from("en/transferring.wav")],
                barge_in: false
            }
        ]
    );
    vm.handle(t0 + secs(1), Event::Digit('5'));
    assert_eq!(
        drain(&mut vm),
        [Command::Timeline(EventPayload::Dtmf { digits: "5".into() })],
        "no barge-in: the key is only recorded"
    );
    vm.handle(t0 + secs(1), Event::TransferEnded);
    assert_eq!(drain(&mut vm), [], "no answer before the transfer is asked");
    vm.handle(t0 + secs(3), Event::PlaybackDone);
    assert_eq!(drain(&mut vm), [transfer(ext("1001"), 20)]);
    assert_eq!(vm.poll_timeout(), None, "a bridged call may last hours");
    vm.handle_timeout(t0 + secs(4 * 3600));
    vm.handle(t0 + secs(4 * 3600), Event::Digit('1'));
    vm.handle(t0 + secs(4 * 3600), Event::PlaybackDone);
    assert_eq!(
        drain(&mut vm),
        [Command::Timeline(EventPayload::Dtmf { digits: "1".into() })],
        "keys while transferred are recorded and do nothing"
    );
    assert!(!vm.is_done());
}

#[test]
fn a_number_is_expanded_and_put_through_at_once_without_prompts() {
    let t0 = Instant::now();
    let vars = BTreeMap::from([("x".to_string(), "12345678".to_string())]);
    let p = desk("number: \"+8610{x}\"", false);
    let mut vm = Vm::with_variables(p, CALLER, "1", &vars, t0, open_hours());
    assert_eq!(
        drain(&mut vm),
        [
            ivr(
                "desk",
                json!({ "number": "+861012345678", "ring_seconds": 30 })
            ),
            transfer(TransferTarget::Number("+861012345678".into()), 30)
        ]
    );
}

#[test]
fn a_failed_transfer_goes_to_on_fail_with_the_reason() {
    let t0 = Instant::now();
    let mut vm = put_through(t0, ", on_fail: vm", true);
    vm.handle(t0 + secs(33), Event::TransferFailed("busy".into()));
    assert_eq!(
        drain(&mut vm),
        [
            ivr("desk", json!({ "failed": "busy", "goto": "vm" })),
            ivr("vm", json!({})),
            Command::Play {
                files: vec![PathBuf::from("en/beep.wav")],
                barge_in: false
            }
        ]
    );
}

#[test]
fn a_failed_transfer_without_on_fail_hangs_up() {
    let t0 = Instant::now();
    let mut vm = put_through(t0, "", true);
    vm.handle(t0 + secs(33), Event::TransferFailed("no_answer".into()));
    assert_eq!(
        drain(&mut vm),
        [
            ivr("desk", json!({ "failed": "no_answer", "goto": null })),
            hangup("transfer_failed")
        ]
    );
    assert!(vm.is_done());
}

#[test]
fn when_the_other_side_hangs_up_first_the_caller_goes_on_at_next() {
    let t0 = Instant::now();
    let mut vm = put_through(t0, ", on_fail: vm", true);
    vm.handle(t0 + secs(600), Event::TransferFailed("failed".into()));
    vm.handle(t0 + secs(600), Event::TransferEnded);
    let out = drain(&mut vm);
    assert_eq!(
        out[..2],
        [
            ivr("desk", json!({ "failed": "failed", "goto": "vm" })),
            ivr("vm", json!({}))
        ],
        "the first answer counts; the step is left"
    );
    let mut vm = put_through(t0, ", on_fail: vm", true);
    vm.handle(t0 + secs(600), Event::TransferEnded);
    assert_eq!(
        drain(&mut vm),
        [
            ivr("desk", json!({ "ended": true, "goto": "rate" })),
            ivr("rate", json!({})),
            Command::Play {
                files: vec![PathBuf::from("en/survey.wav")],
                barge_in: true
            }
        ]
    );
}

#[test]
fn when_the_other_side_hangs_up_first_without_next_the_call_ends() {
    let t0 = Instant::now();
    let mut vm = put_through(t0, ", on_fail: vm", false);
    vm.handle(t0 + secs(600), Event::TransferEnded);
    assert_eq!(
        drain(&mut vm),
        [
            ivr("desk", json!({ "ended": true, "goto": null })),
            hangup("transfer_ended")
        ]
    );
}

#[test]
fn a_number_that_is_not_digits_after_expansion_fails_at_once() {
    let t0 = Instant::now();
    for (value, with_fail) in [("12 34", true), ("abc", false), ("", true), ("++1", false)] {
        let vars = BTreeMap::from([("x".to_string(), value.to_string())]);
        let on_fail = if with_fail { ", on_fail: vm" } else { "" };
        let fields = format!("number: \"{{x}}\", prompts: [transferring]{on_fail}");
        let mut vm = Vm::with_variables(desk(&fields, true), CALLER, "1", &vars, t0, open_hours());
        let out = drain(&mut vm);
        let goto = with_fail.then_some("vm");
        assert_eq!(
            out[..2],
            [
                ivr("desk", json!({ "number": value, "ring_seconds": 30 })),
                ivr("desk", json!({ "failed": "bad_number", "goto": goto }))
            ],
            "{value:?}"
        );
        assert!(
            !out.iter().any(|c| matches!(c, Command::Transfer { .. }))
                && !plays(&out).contains(&"en/transferring.wav".to_string()),
            "never announced nor dialled: {out:?}"
        );
        let last = out.last().unwrap();
        if with_fail {
            assert_eq!(out[2], ivr("vm", json!({})), "{value:?}");
        } else {
            assert_eq!(last, &hangup("transfer_failed"), "{value:?}");
        }
    }
}

#[test]
fn a_bad_number_whose_on_fail_comes_back_is_stopped_as_a_loop() {
    let vars = BTreeMap::from([("x".to_string(), "none".to_string())]);
    let p = plan(
        "name: t\nstart: desk\nsteps:\n  desk:\n    transfer: { number: \"{x}\", on_fail: again }\n  again:\n    goto: desk\n",
    );
    let mut vm = Vm::with_variables(p, CALLER, "1", &vars, Instant::now(), open_hours());
    assert_eq!(drain(&mut vm).last(), Some(&hangup("dialplan_loop")));
}

fn problems(yaml: &str) -> String {
    let sounds = Path::new(env!("CARGO_MANIFEST_DIR")).join("sounds");
    parse(Path::new("t.yaml"), yaml, &sounds)
        .map(|_| Vec::new())
        .unwrap_or_else(|e| e)
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn transfers_are_validated() {
    let bad = r#"name: t
start: a
steps:
  a:
    transfer: { extension: "1001", number: "+861012345678" }
    next: b
  b:
    transfer: { prompts: [transferring] }
    next: c
  c:
    transfer: { number: "+86-10-1234", ring_seconds: 4 }
    next: d
  d:
    transfer: { extension: "10 01", ring_seconds: 121, on_fail: nowhere }
    next: e
  e:
    transfer: { extension: "", prompts: [gone] }
"#;
    let all = problems(bad);
    for want in [
        "t.yaml:5:5: the `transfer` step needs exactly one of `extension` and `number`",
        "t.yaml:8:5: the `transfer` step needs exactly one of `extension` and `number`",
        "t.yaml:11:25: `number` must be digits with an optional leading +, not `+86-10-1234`",
        "t.yaml:11:54: `ring_seconds` must be between 5 and 120",
        "t.yaml:14:28: `extension` must be a registered user name without spaces, not `10 01`",
        "t.yaml:14:51: `ring_seconds` must be between 5 and 120",
        "t.yaml:14:65: no step named `nowhere`",
        "t.yaml:17:28: `extension` must be a registered user name without spaces, not ``",
        "t.yaml:17:42: prompt `gone` is missing",
    ] {
        assert!(all.contains(want), "{want}\n got:\n{all}");
    }
    assert!(!all.contains("never reached"), "next leads on: {all}");
}

#[test]
fn numbers_with_variables_and_on_fail_targets_pass_the_check() {
    let good = "name: t\nstart: a\nsteps:\n  a:\n    transfer: { number: \"+8610{x}\", ring_seconds: 5, on_fail: b }\n  b:\n    transfer: { extension: \"1001\", ring_seconds: 120 }\n";
    assert_eq!(problems(good), "", "b is reached through on_fail");
    let both =
        "name: t\nstart: a\nsteps:\n  a:\n    transfer: { extension: \"1001\" }\n    hangup: {}\n";
    assert!(problems(both).contains("must have exactly one action"));
}
