//! VM tests in virtual time against the shipped demo hotline and small plans.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeZone;

use super::*;
use crate::dialplan::load::{Dialplan, parse};

fn hotline() -> Arc<Dialplan> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("dialplans/hotline.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let (plan, warnings) =
        parse(&path, &text, &root.join("sounds")).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(warnings.is_empty(), "{warnings:?}");
    Arc::new(plan)
}

fn plan(yaml: &str) -> Arc<Dialplan> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Arc::new(
        parse(Path::new("t.yaml"), yaml, &root.join("sounds"))
            .unwrap_or_else(|e| panic!("{e:?}"))
            .0,
    )
}

/// Tuesday 10:00 in Shanghai: open.
fn open_hours() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc.with_ymd_and_hms(2026, 11, 24, 2, 0, 0).unwrap()
}

fn drain(vm: &mut Vm) -> Vec<Command> {
    std::iter::from_fn(|| vm.poll_command()).collect()
}

fn plays(cmds: &[Command]) -> Vec<String> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Play { files, .. } => Some(
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join("+"),
            ),
            _ => None,
        })
        .collect()
}

fn steps(cmds: &[Command]) -> Vec<String> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Timeline(EventPayload::IvrStep { step, .. }) => Some(step.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn english_caller_reaches_the_support_queue() {
    let t0 = Instant::now();
    let mut vm = Vm::new(hotline(), "+8613800138000", "4000", t0, open_hours());
    assert_eq!(plays(&drain(&mut vm)), ["zh/welcome.wav"]);
    vm.handle(t0 + Duration::from_secs(1), Event::Digit('2'));
    let out = drain(&mut vm);
    assert!(
        out.contains(&Command::StopPlayback),
        "barge-in stops the welcome"
    );
    assert_eq!(plays(&out), ["en/main_menu.wav"]);
    assert_eq!(steps(&out), ["welcome", "english", "hours", "main"]);
    vm.handle(t0 + Duration::from_secs(2), Event::PlaybackDone);
    vm.handle(t0 + Duration::from_secs(3), Event::Digit('2'));
    let out = drain(&mut vm);
    assert!(
        out.iter()
            .any(|c| matches!(c, Command::Enqueue { queue, .. } if queue == "support")),
        "{out:?}"
    );
    assert_eq!(vm.language(), "en");
}

#[test]
fn menu_timeouts_retry_then_fail_over() {
    let t0 = Instant::now();
    let mut vm = Vm::new(hotline(), "x", "4000", t0, open_hours());
    drain(&mut vm);
    vm.handle(t0, Event::PlaybackDone);
    assert_eq!(vm.poll_timeout(), Some(t0 + Duration::from_secs(5)));
    vm.handle_timeout(t0 + Duration::from_secs(5));
    assert_eq!(plays(&drain(&mut vm)), ["zh/welcome.wav"], "one retry");
    vm.handle(t0 + Duration::from_secs(6), Event::PlaybackDone);
    vm.handle_timeout(t0 + Duration::from_secs(11));
    let out = drain(&mut vm);
    assert_eq!(plays(&out), ["zh/main_menu.wav"], "on_fail: chinese");
    // Three wrong keys at the main menu end at the operator queue.
    for i in 0..3 {
        vm.handle(t0 + Duration::from_secs(20 + i), Event::Digit('7'));
    }
    let out = drain(&mut vm);
    assert_eq!(
        plays(&out)
            .iter()
            .filter(|p| p.as_str() == "zh/invalid.wav")
            .count(),
        2
    );
    assert!(
        out.iter().any(
            |c| matches!(c, Command::Enqueue { queue, priority: 1, .. } if queue == "operator")
        ),
        "{out:?}"
    );
}

#[test]
fn collect_validates_and_stores_the_order_number() {
    let t0 = Instant::now();
    let mut vm = Vm::new(hotline(), "x", "4000", t0, open_hours());
    for d in ['1', '1'] {
        vm.handle(t0, Event::Digit(d));
    }
    drain(&mut vm);
    for d in "12#".chars() {
        vm.handle(t0, Event::Digit(d));
    }
    let out = drain(&mut vm);
    assert!(out.iter().any(|c| matches!(c, Command::Timeline(EventPayload::IvrStep { detail, .. }) if detail["rejected"] == "12")), "too short");
    for d in "12345#".chars() {
        vm.handle(t0, Event::Digit(d));
    }
    let out = drain(&mut vm);
    assert!(out.iter().any(|c| matches!(c, Command::Timeline(EventPayload::IvrStep { detail, .. }) if detail["collected"] == "12345")), "{out:?}");
    assert_eq!(
        plays(&out).last().map(String::as_str),
        Some("zh/order_received.wav")
    );
}

#[test]
fn closed_hours_play_closed_and_hang_up() {
    let t0 = Instant::now();
    let night = chrono::Utc
        .with_ymd_and_hms(2026, 11, 24, 16, 0, 0)
        .unwrap();
    let mut vm = Vm::new(hotline(), "x", "4000", t0, night);
    vm.handle(t0, Event::Digit('2'));
    let out = drain(&mut vm);
    assert_eq!(
        plays(&out).last().map(String::as_str),
        Some("en/closed.wav")
    );
    vm.handle(t0 + Duration::from_secs(5), Event::PlaybackDone);
    assert_eq!(
        drain(&mut vm).last(),
        Some(&Command::Hangup {
            cause: "dialplan_hangup".into()
        })
    );
}

#[test]
fn a_loop_without_input_is_refused_or_ends_the_call() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sounds");
    let simple =
        "name: l\nstart: a\nsteps:\n  a:\n    set: { x: '1' }\n    next: b\n  b:\n    goto: a\n";
    let errors = parse(Path::new("l.yaml"), simple, &root).unwrap_err();
    assert_eq!(
        errors[0].to_string(),
        "l.yaml:5:5: steps a → b loop without waiting for the caller"
    );
    // A loop the checker cannot see statically is stopped at run time.
    let hidden = "name: l\nstart: a\nsteps:\n  a:\n    set: { x: '1' }\n    next: b\n  b:\n    branch:\n      - if: { equals: { x: '2' } }\n        goto: c\n      - goto: a\n  c:\n    hangup: {}\n";
    let mut vm = Vm::new(plan(hidden), "x", "1", Instant::now(), open_hours());
    assert_eq!(
        drain(&mut vm).last(),
        Some(&Command::Hangup {
            cause: "dialplan_loop".into()
        })
    );
}

#[test]
fn validation_reports_file_line_col() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sounds");
    let cases = [
        (
            "name: x\nstart: nowhere\nsteps:\n  a:\n    hangup: {}\n",
            "x.yaml:2:8: no step named `nowhere`",
        ),
        (
            "name: x\nstart: a\nsteps:\n  a:\n    dance: {}\n",
            "x.yaml:5:5: unknown field `dance`",
        ),
        (
            "name: x\nstart: a\ntimezone: Mars/Base\nsteps:\n  a:\n    hangup: {}\n",
            "x.yaml:3:11: unknown time zone `Mars/Base`",
        ),
        (
            "name: x\nstart: a\nsteps:\n  a:\n    play: { prompts: [nope] }\n    next: a\n",
            "x.yaml:5:23: prompt `nope` is missing",
        ),
        (
            "name: x\nstart: a\nsteps:\n  a:\n    hangup: {}\n    goto: a\n",
            "must have exactly one action",
        ),
    ];
    for (yaml, expected) in cases {
        let errors = parse(Path::new("x.yaml"), yaml, &root).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(
            text.iter().any(|t| t.contains(expected)),
            "{expected}\n got {text:?}"
        );
    }
}
