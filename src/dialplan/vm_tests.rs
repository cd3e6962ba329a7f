//! VM tests in virtual time against the shipped demo hotline and small plans.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeZone;

use super::*;
use crate::dialplan::load::{Dialplan, parse};

pub(super) fn hotline() -> Arc<Dialplan> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("dialplans/hotline.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let (plan, warnings) =
        parse(&path, &text, &root.join("sounds")).unwrap_or_else(|e| panic!("{e:?}"));
    assert!(warnings.is_empty(), "{warnings:?}");
    Arc::new(plan)
}

pub(super) fn plan(yaml: &str) -> Arc<Dialplan> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Arc::new(
        parse(Path::new("t.yaml"), yaml, &root.join("sounds"))
            .unwrap_or_else(|e| panic!("{e:?}"))
            .0,
    )
}

/// Tuesday 10:00 in Shanghai: open.
pub(super) fn open_hours() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc.with_ymd_and_hms(2026, 11, 24, 2, 0, 0).unwrap()
}

pub(super) fn drain(vm: &mut Vm) -> Vec<Command> {
    std::iter::from_fn(|| vm.poll_command()).collect()
}

pub(super) fn plays(cmds: &[Command]) -> Vec<String> {
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
            .filter(|p| p.as_str() == "zh/invalid.wav+zh/main_menu.wav")
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
        Some(
            "zh/order_entered.wav+zh/say/digit_1.wav+zh/say/digit_2.wav+zh/say/digit_3.wav+zh/say/digit_4.wav+zh/say/digit_5.wav"
        ),
        "the number is read back"
    );
    vm.handle(t0, Event::PlaybackDone);
    assert_eq!(plays(&drain(&mut vm)), ["zh/order_received.wav"]);
}

/// Tuesday 00:00 in Shanghai: closed.
pub(super) fn night() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc
        .with_ymd_and_hms(2026, 11, 24, 16, 0, 0)
        .unwrap()
}

#[test]
fn closed_hours_offer_a_callback() {
    let t0 = Instant::now();
    let mut vm = Vm::new(hotline(), "x", "4000", t0, night());
    vm.handle(t0, Event::Digit('2'));
    let out = drain(&mut vm);
    assert_eq!(steps(&out).last().map(String::as_str), Some("closed"));
    assert_eq!(
        plays(&out).last().map(String::as_str),
        Some("en/callback_offer_closed.wav")
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

/// The hotline in English at its main menu, the caller choosing `4` (speak).
fn at_speak_step(t0: Instant) -> Vm {
    let mut vm = Vm::new(hotline(), "x", "4000", t0, open_hours());
    vm.handle(t0, Event::Digit('2'));
    vm.handle(t0, Event::Digit('4'));
    let out = drain(&mut vm);
    assert_eq!(plays(&out).last().unwrap(), "en/ask_reason.wav", "{out:?}");
    vm
}

fn listens(cmds: &[Command]) -> Vec<(Duration, Duration, String)> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Listen {
                timeout,
                max,
                language,
            } => Some((*timeout, *max, language.clone())),
            _ => None,
        })
        .collect()
}

pub(super) fn details(cmds: &[Command], step: &str) -> Vec<serde_json::Value> {
    cmds.iter()
        .filter_map(|c| match c {
            Command::Timeline(EventPayload::IvrStep { step: s, detail }) if s == step => {
                Some(detail.clone())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn listen_hears_after_the_prompt_and_branches_on_the_intent() {
    let t0 = Instant::now();
    let mut vm = at_speak_step(t0);
    vm.handle(t0, Event::Heard("too early".into()));
    assert!(
        drain(&mut vm).is_empty(),
        "words before the prompt ends are ignored"
    );
    vm.handle(t0 + Duration::from_secs(3), Event::PlaybackDone);
    let out = drain(&mut vm);
    assert_eq!(
        listens(&out),
        [(Duration::from_secs(5), Duration::from_secs(10), "en".into())]
    );
    assert_eq!(
        vm.poll_timeout(),
        Some(t0 + Duration::from_secs(3 + 5 + 10) + RECOGNITION_GRACE)
    );
    vm.handle(
        t0 + Duration::from_secs(6),
        Event::Heard(" I want to check my order. ".into()),
    );
    let out = drain(&mut vm);
    assert_eq!(
        details(&out, "speak"),
        [json!({ "heard": "I want to check my order.", "intent": "order", "goto": "order" })]
    );
    assert_eq!(plays(&out), ["en/order_number.wav"], "the order step runs");
    assert_eq!(vm.vars.get("intent").map(String::as_str), Some("order"));
}

#[test]
fn listen_retries_after_silence_and_unknown_words_then_fails_over() {
    let t0 = Instant::now();
    let mut vm = at_speak_step(t0);
    vm.handle(t0, Event::PlaybackDone);
    drain(&mut vm);
    vm.handle(t0 + Duration::from_secs(5), Event::Heard(String::new()));
    let out = drain(&mut vm);
    assert_eq!(
        details(&out, "speak"),
        [json!({ "heard": "", "intent": null })]
    );
    assert_eq!(
        plays(&out),
        ["en/not_understood.wav+en/ask_reason.wav"],
        "one playback: the retry prompt does not cut the question"
    );
    assert!(listens(&out).is_empty(), "hearing waits for the prompt");
    vm.handle(t0 + Duration::from_secs(8), Event::PlaybackDone);
    assert_eq!(listens(&drain(&mut vm)).len(), 1);
    vm.handle(
        t0 + Duration::from_secs(12),
        Event::Heard("the weather is nice".into()),
    );
    let out = drain(&mut vm);
    assert_eq!(plays(&out), ["en/main_menu.wav"], "on_fail: main");
}

#[test]
fn listen_goes_on_when_recognition_is_off_or_never_answers() {
    let t0 = Instant::now();
    let mut vm = at_speak_step(t0);
    vm.handle(t0, Event::PlaybackDone);
    drain(&mut vm);
    vm.handle(t0, Event::SpeechUnavailable);
    let out = drain(&mut vm);
    assert_eq!(
        details(&out, "speak"),
        [json!({ "speech": "unavailable", "goto": "main" })]
    );
    assert_eq!(plays(&out), ["en/main_menu.wav"]);

    let mut vm = at_speak_step(t0);
    vm.handle(t0, Event::PlaybackDone);
    drain(&mut vm);
    let deadline = vm.poll_timeout().unwrap();
    vm.handle_timeout(deadline);
    let out = drain(&mut vm);
    assert_eq!(details(&out, "speak"), [json!({ "timeout": 1 })]);
    assert_eq!(plays(&out), ["en/not_understood.wav+en/ask_reason.wav"]);
}

#[test]
fn listen_steps_are_validated() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bad = r#"
name: t
start: ask
steps:
  ask:
    listen:
      prompts: [ask_reason]
      intents:
        - name: order
          keywords: ["!!"]
          goto: nowhere
        - name: empty
          keywords: []
          goto: bye
      max_seconds: 60
      on_fail: bye
  bye:
    hangup: {}
"#;
    let errors = parse(Path::new("t.yaml"), bad, &root.join("sounds")).unwrap_err();
    let text: Vec<String> = errors.iter().map(|d| d.message.clone()).collect();
    for want in [
        "no step named `nowhere`",
        "a keyword needs at least one letter or digit",
        "intent `empty` has no keywords",
        "`max_seconds` must be between 1 and 30",
    ] {
        assert!(text.iter().any(|t| t.contains(want)), "{want}: {text:?}");
    }
}

const LOOKUP_PLAN: &str = r#"
name: t
start: status
steps:
  status:
    lookup: { url: "http://orders.test/orders/{order}?from={caller}", into: order, timeout_ms: 2000, on_fail: sorry }
    next: check
  check:
    branch:
      - if: { equals: { order.status: shipped } }
        goto: shipped
      - goto: sorry
  shipped:
    play: { prompts: [order_received] }
    next: bye
  sorry:
    play: { prompts: [invalid] }
    next: bye
  bye:
    hangup: {}
"#;

fn lookup_vm(t0: Instant) -> (Vm, Vec<Command>) {
    let vars = BTreeMap::from([("order".to_string(), "12 34/5".to_string())]);
    let mut vm = Vm::with_variables(
        plan(LOOKUP_PLAN),
        "+8613800138000",
        "4000",
        &vars,
        t0,
        open_hours(),
    );
    let out = drain(&mut vm);
    (vm, out)
}

#[test]
fn lookup_posts_the_variables_and_branches_on_the_answer() {
    let t0 = Instant::now();
    let (mut vm, out) = lookup_vm(t0);
    let Some(Command::Lookup { url, body, timeout }) =
        out.iter().find(|c| matches!(c, Command::Lookup { .. }))
    else {
        panic!("{out:?}")
    };
    assert_eq!(
        url,
        "http://orders.test/orders/12%2034%2F5?from=%2B8613800138000"
    );
    assert_eq!(body["order"], "12 34/5");
    assert_eq!(*timeout, Duration::from_millis(2000));
    assert_eq!(
        vm.poll_timeout(),
        Some(t0 + Duration::from_millis(2000) + LOOKUP_GRACE)
    );
    let fields = BTreeMap::from([("status".to_string(), "shipped".to_string())]);
    vm.handle(
        t0 + Duration::from_millis(300),
        Event::LookupDone(Ok(fields)),
    );
    let out = drain(&mut vm);
    assert_eq!(plays(&out), ["en/order_received.wav"], "{out:?}");
    assert_eq!(
        details(&out, "status"),
        [json!({ "ok": true, "fields": { "status": "shipped" } })]
    );
    assert_eq!(details(&out, "check"), [json!({ "branch": "shipped" })]);
}

#[test]
fn a_failed_or_silent_lookup_takes_on_fail() {
    let t0 = Instant::now();
    let (mut vm, _) = lookup_vm(t0);
    vm.handle(t0, Event::LookupDone(Err("HTTP 500".into())));
    let out = drain(&mut vm);
    assert_eq!(
        details(&out, "status"),
        [json!({ "ok": false, "error": "HTTP 500" })]
    );
    assert_eq!(plays(&out), ["en/invalid.wav"]);

    let (mut vm, _) = lookup_vm(t0);
    let deadline = vm.poll_timeout().unwrap();
    vm.handle_timeout(deadline);
    let out = drain(&mut vm);
    assert_eq!(
        details(&out, "status"),
        [json!({ "ok": false, "error": "timeout" })]
    );
    vm.handle(deadline, Event::LookupDone(Ok(BTreeMap::new())));
    assert!(drain(&mut vm).is_empty(), "a late answer is ignored");
}

fn say_plan(parts: &str) -> Arc<Dialplan> {
    plan(&format!(
        "name: t\nlanguage: en\nstart: s\nsteps:\n  s:\n    say:\n{parts}\n    next: z\n  z:\n    language: zh\n    next: s2\n  s2:\n    say:\n{parts}\n    next: bye\n  bye:\n    hangup: {{}}\n"
    ))
}

#[test]
fn say_speaks_values_in_the_current_language() {
    let t0 = Instant::now();
    let p =
        say_plan("      - number: \"{n}\"\n      - amount: \"12.5\"\n      - date: \"2026-11-30\"");
    let vars = BTreeMap::from([("n".to_string(), "115".to_string())]);
    let mut vm = Vm::with_variables(p, "x", "1", &vars, t0, open_hours());
    let out = drain(&mut vm);
    assert_eq!(
        plays(&out),
        [
            "en/say/1.wav+en/say/hundred.wav+en/say/15.wav+en/say/12.wav+en/say/cny.wav+en/say/and.wav+en/say/50.wav+en/say/cny_minor.wav+en/say/month_11.wav+en/say/ordinal_30.wav"
        ]
    );
    assert_eq!(
        details(&out, "s")[0]["say"],
        json!(["115", "12.5", "2026-11-30"])
    );
    vm.handle(t0, Event::PlaybackDone);
    assert_eq!(
        plays(&drain(&mut vm)),
        [
            "zh/say/1.wav+zh/say/hundred.wav+zh/say/1.wav+zh/say/10.wav+zh/say/5.wav+zh/say/10.wav+zh/say/2.wav+zh/say/yuan.wav+zh/say/5.wav+zh/say/jiao.wav+zh/say/10.wav+zh/say/1.wav+zh/say/month.wav+zh/say/3.wav+zh/say/10.wav+zh/say/day.wav"
        ]
    );
}

#[test]
fn a_value_that_cannot_be_said_is_left_out_and_noted() {
    let t0 = Instant::now();
    let p = say_plan("      - prompt: \"{p}\"\n      - number: \"{n}\"\n      - digits: \"42\"");
    let vars = BTreeMap::from([
        ("n".to_string(), "shipped".to_string()),
        ("p".to_string(), "../../etc/passwd".to_string()),
    ]);
    let mut vm = Vm::with_variables(p, "x", "1", &vars, t0, open_hours());
    let out = drain(&mut vm);
    assert_eq!(plays(&out), ["en/say/digit_4.wav+en/say/digit_2.wav"]);
    let errors = &details(&out, "s")[0]["errors"];
    assert_eq!(errors.as_array().map(Vec::len), Some(2), "{errors}");
    vm.handle(t0, Event::PlaybackDone);
    vm.handle(t0, Event::PlaybackDone);
    assert!(vm.is_done(), "the call goes on to its end");
}

#[test]
fn say_steps_are_validated() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bad = "name: t\nstart: s\nsteps:\n  s:\n    say:\n      - number: \"12x\"\n      - amount: \"3\"\n        currency: eur\n      - prompt: nope\n      - {}\n      - digits: \"1\"\n        date: \"2026-01-01\"\n    next: b\n  b:\n    hangup: {}\n";
    let errs = parse(Path::new("t.yaml"), bad, &root.join("sounds")).unwrap_err();
    let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    let all = text.join("\n");
    assert!(all.contains("t.yaml:6:"), "{all}");
    assert!(all.contains("cannot be said as number"), "{all}");
    assert!(all.contains("unknown currency `eur`"), "{all}");
    assert!(all.contains("prompt `nope` is missing"), "{all}");
    assert_eq!(all.matches("exactly one of prompt").count(), 2, "{all}");
    let no_snippets = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(no_snippets.path().join("en")).unwrap();
    let q = "name: t\nstart: q\nsteps:\n  q:\n    queue: { name: support, announce_every: 20 }\n";
    let all: Vec<String> = parse(Path::new("t.yaml"), q, no_snippets.path())
        .unwrap_err()
        .iter()
        .map(|e| e.to_string())
        .collect();
    assert!(
        all.iter().any(|e| e.contains("snippet `digit_0`")),
        "{all:?}"
    );
    assert!(
        all.iter().any(|e| e.contains("`queue_place` is missing")),
        "{all:?}"
    );
}

fn queued(t0: Instant) -> Vm {
    let mut vm = Vm::new(hotline(), "x", "4000", t0, open_hours());
    vm.handle(t0, Event::Digit('2'));
    vm.handle(t0, Event::Digit('2'));
    let out = drain(&mut vm);
    assert!(
        out.iter()
            .any(|c| matches!(c, Command::Enqueue { queue, .. } if queue == "support"))
    );
    vm
}

#[test]
fn a_queued_caller_hears_place_and_wait_between_music() {
    let t0 = Instant::now();
    // The hotline's queues also offer a callback (vm_voicemail_tests); this one
    // only announces.
    let p = plan(
        "name: t\nlanguage: en\nstart: support\nsteps:\n  support:\n    queue: { name: support, announce_every: 30 }\n",
    );
    let mut vm = Vm::new(p, "x", "1", t0, open_hours());
    drain(&mut vm);
    assert_eq!(vm.poll_timeout(), Some(t0 + Duration::from_secs(30)));
    vm.handle_timeout(t0 + Duration::from_secs(30));
    assert_eq!(drain(&mut vm), [Command::AskPlace]);
    assert_eq!(vm.poll_timeout(), None, "no timer while routing answers");
    vm.handle(
        t0 + Duration::from_secs(30),
        Event::QueuePlace {
            position: 3,
            wait_seconds: Some(130),
        },
    );
    let out = drain(&mut vm);
    assert_eq!(
        plays(&out),
        [
            "en/queue_place.wav+en/say/3.wav+en/queue_place_end.wav+en/queue_wait.wav+en/say/3.wav+en/minutes.wav"
        ]
    );
    assert_eq!(
        details(&out, "support")[0]["announce"],
        json!({ "position": 3, "wait_minutes": 3 })
    );
    vm.handle(t0 + Duration::from_secs(34), Event::PlaybackDone);
    assert_eq!(drain(&mut vm), [Command::Music("moh.wav".into())]);
    assert_eq!(vm.poll_timeout(), Some(t0 + Duration::from_secs(64)));
    vm.handle_timeout(t0 + Duration::from_secs(64));
    drain(&mut vm);
    vm.handle(
        t0 + Duration::from_secs(64),
        Event::QueuePlace {
            position: 1,
            wait_seconds: Some(20),
        },
    );
    assert_eq!(
        plays(&drain(&mut vm)),
        ["en/queue_place.wav+en/say/1.wav+en/queue_place_end.wav+en/queue_wait_short.wav"]
    );
    vm.handle(t0 + Duration::from_secs(66), Event::PlaybackDone);
    drain(&mut vm);
    vm.handle_timeout(t0 + Duration::from_secs(96));
    drain(&mut vm);
    vm.handle(
        t0 + Duration::from_secs(96),
        Event::QueuePlace {
            position: 2,
            wait_seconds: None,
        },
    );
    assert_eq!(
        plays(&drain(&mut vm)),
        ["en/queue_place.wav+en/say/2.wav+en/queue_place_end.wav"],
        "no estimate when nobody staffs the queue"
    );
}

#[test]
fn a_place_that_comes_late_or_twice_is_ignored() {
    let t0 = Instant::now();
    let mut vm = queued(t0);
    let place = Event::QueuePlace {
        position: 1,
        wait_seconds: None,
    };
    vm.handle_timeout(t0 + Duration::from_secs(30));
    drain(&mut vm);
    vm.handle(t0 + Duration::from_secs(30), place.clone());
    assert_eq!(plays(&drain(&mut vm)).len(), 1);
    vm.handle(t0 + Duration::from_secs(31), place);
    assert!(
        plays(&drain(&mut vm)).is_empty(),
        "one announcement at a time"
    );
}

#[test]
fn an_unknown_place_waits_for_the_next_turn() {
    let t0 = Instant::now();
    let mut vm = queued(t0);
    vm.handle_timeout(t0 + Duration::from_secs(30));
    drain(&mut vm);
    vm.handle(t0 + Duration::from_secs(30), Event::PlaceUnknown);
    assert!(drain(&mut vm).is_empty());
    assert_eq!(vm.poll_timeout(), Some(t0 + Duration::from_secs(60)));
}

#[test]
fn after_the_agent_the_caller_rates_the_call() {
    let t0 = Instant::now();
    let mut vm = queued(t0);
    assert!(vm.agent_left(t0 + Duration::from_secs(90)));
    let out = drain(&mut vm);
    assert_eq!(plays(&out), ["en/survey.wav"]);
    assert_eq!(details(&out, "support")[0]["agent_left"], true);
    vm.handle(t0 + Duration::from_secs(91), Event::Digit('7'));
    let out = drain(&mut vm);
    assert_eq!(
        plays(&out),
        ["en/invalid.wav+en/survey.wav"],
        "out of range: asked again"
    );
    vm.handle(t0 + Duration::from_secs(92), Event::Digit('4'));
    let out = drain(&mut vm);
    assert!(out.contains(&Command::Timeline(EventPayload::Csat { score: 4 })));
    assert_eq!(plays(&out), ["en/survey_thanks.wav"]);
    vm.handle(t0 + Duration::from_secs(95), Event::PlaybackDone);
    assert!(
        matches!(drain(&mut vm).last(), Some(Command::Hangup { cause }) if cause == "dialplan_hangup")
    );
}

#[test]
fn an_unanswered_survey_goes_on_unrated() {
    let t0 = Instant::now();
    let mut vm = queued(t0);
    vm.agent_left(t0);
    drain(&mut vm);
    let mut at = t0;
    for _ in 0..2 {
        vm.handle(at, Event::PlaybackDone);
        at += Duration::from_secs(6);
        vm.handle_timeout(at);
    }
    let out = drain(&mut vm);
    assert!(
        !out.iter()
            .any(|c| matches!(c, Command::Timeline(EventPayload::Csat { .. })))
    );
    assert!(
        details(&out, "survey").iter().any(|d| d["unrated"] == true),
        "{out:?}"
    );
    assert!(vm.is_done());
}

#[test]
fn without_next_the_call_ends_with_the_agent() {
    let t0 = Instant::now();
    let p = plan("name: t\nstart: q\nsteps:\n  q:\n    queue: { name: support }\n");
    let mut vm = Vm::new(p, "x", "1", t0, open_hours());
    drain(&mut vm);
    assert!(!vm.agent_left(t0));
    let mut vm = Vm::new(hotline(), "x", "4000", t0, open_hours());
    assert!(!vm.agent_left(t0), "not queued yet");
}
