//! Voicemail, the callback step and a queue's callback offer, in virtual time;
//! and their validation.

use std::path::Path;
use std::time::{Duration, Instant};

use super::tests::{details, drain, hotline, night, open_hours, plan, plays};
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

fn dtmf(d: char) -> Command {
    Command::Timeline(EventPayload::Dtmf {
        digits: d.to_string(),
    })
}

fn play(files: &[&str], barge_in: bool) -> Command {
    Command::Play {
        files: files.iter().map(PathBuf::from).collect(),
        barge_in,
    }
}

fn hangup(cause: &str) -> Command {
    Command::Hangup {
        cause: cause.into(),
    }
}

const VOICEMAIL: &str = r#"
name: t
language: en
start: vm
steps:
  vm:
    voicemail:
      prompts: [voicemail_greeting]
      queue: support
      thanks: voicemail_saved
    next: bye
  bye:
    hangup: {}
"#;

#[test]
fn voicemail_records_until_the_pound_key_then_thanks_and_goes_on() {
    let t0 = Instant::now();
    let mut vm = Vm::new(plan(VOICEMAIL), CALLER, "1", t0, open_hours());
    assert_eq!(
        drain(&mut vm),
        [
            ivr("vm", json!({})),
            play(&["en/voicemail_greeting.wav"], true)
        ]
    );
    vm.handle(t0 + secs(1), Event::Digit('5'));
    assert_eq!(
        drain(&mut vm),
        [
            dtmf('5'),
            Command::StopPlayback,
            play(&["en/beep.wav"], false)
        ],
        "a key skips the greeting"
    );
    vm.handle(t0 + secs(2), Event::Digit('#'));
    assert_eq!(drain(&mut vm), [dtmf('#')], "not recording yet");
    vm.handle(t0 + secs(2), Event::PlaybackDone);
    assert_eq!(
        drain(&mut vm),
        [
            ivr(
                "vm",
                json!({ "record": { "max_seconds": 120, "number": CALLER, "queue": "support" } })
            ),
            Command::Record {
                max: secs(120),
                number: CALLER.into(),
                queue: Some("support".into()),
                priority: 0
            }
        ]
    );
    assert_eq!(vm.poll_timeout(), Some(t0 + secs(122)));
    vm.handle(t0 + secs(10), Event::Digit('3'));
    assert_eq!(drain(&mut vm), [dtmf('3')], "other keys are ignored");
    vm.handle(t0 + secs(22), Event::Digit('#'));
    assert_eq!(
        drain(&mut vm),
        [
            dtmf('#'),
            Command::StopRecording,
            ivr(
                "vm",
                json!({ "recorded": { "seconds": 20, "ended_by": "key" } })
            ),
            play(&["en/voicemail_saved.wav"], false)
        ]
    );
    assert_eq!(vm.poll_timeout(), None);
    vm.handle(t0 + secs(25), Event::PlaybackDone);
    assert_eq!(
        drain(&mut vm),
        [ivr("bye", json!({})), hangup("dialplan_hangup")]
    );
}

#[test]
fn voicemail_stops_at_its_longest_and_hangs_up_without_next() {
    let t0 = Instant::now();
    let p = plan(
        "name: t\nlanguage: en\nstart: vm\nsteps:\n  vm:\n    voicemail: { max_seconds: 30, number: \"0{ext}\", priority: 3 }\n",
    );
    let vars = BTreeMap::from([("ext".to_string(), "2100".to_string())]);
    let mut vm = Vm::with_variables(p, CALLER, "1", &vars, t0, open_hours());
    assert_eq!(
        drain(&mut vm),
        [ivr("vm", json!({})), play(&["en/beep.wav"], false)],
        "no greeting: the beep at once"
    );
    vm.handle(t0 + secs(1), Event::PlaybackDone);
    let out = drain(&mut vm);
    assert_eq!(
        out.last(),
        Some(&Command::Record {
            max: secs(30),
            number: "02100".into(),
            queue: None,
            priority: 3
        })
    );
    vm.handle_timeout(t0 + secs(30));
    assert!(drain(&mut vm).is_empty(), "not yet");
    vm.handle_timeout(t0 + secs(31));
    assert_eq!(
        drain(&mut vm),
        [
            Command::StopRecording,
            ivr(
                "vm",
                json!({ "recorded": { "seconds": 30, "ended_by": "max" } })
            ),
            hangup("voicemail")
        ]
    );
    assert!(vm.is_done());
}

#[test]
fn voicemail_thanks_without_next_then_hangs_up() {
    let t0 = Instant::now();
    let p = plan(
        "name: t\nlanguage: en\nstart: vm\nsteps:\n  vm:\n    voicemail: { beep: beep, thanks: voicemail_saved }\n",
    );
    let mut vm = Vm::new(p, CALLER, "1", t0, open_hours());
    drain(&mut vm);
    vm.handle(t0, Event::PlaybackDone);
    drain(&mut vm);
    vm.handle(t0 + secs(4), Event::Digit('#'));
    assert_eq!(
        plays(&drain(&mut vm)),
        ["en/voicemail_saved.wav"],
        "thanks first"
    );
    vm.handle(t0 + secs(5), Event::Digit('1'));
    assert_eq!(
        drain(&mut vm),
        [dtmf('1')],
        "the thanks is not cut by a key"
    );
    vm.handle(t0 + secs(7), Event::PlaybackDone);
    assert_eq!(drain(&mut vm), [hangup("voicemail")]);
    assert!(vm.is_done());
}

const CALLBACK: &str = r#"
name: t
language: en
start: closed
steps:
  closed:
    callback:
      prompts: [callback_offer_closed]
      confirm: callback_confirmed
      queue: support
      timeout: 6
    next: voicemail
  voicemail:
    voicemail: { prompts: [voicemail_greeting] }
"#;

/// A callback step's offer is playing.
fn closed(t0: Instant) -> Vm {
    let mut vm = Vm::new(plan(CALLBACK), CALLER, "1", t0, open_hours());
    assert_eq!(
        drain(&mut vm),
        [
            ivr("closed", json!({})),
            play(&["en/callback_offer_closed.wav"], true)
        ]
    );
    vm
}

#[test]
fn the_callback_step_accepted_opens_a_callback_and_hangs_up() {
    let t0 = Instant::now();
    let mut vm = closed(t0);
    vm.handle(t0 + secs(3), Event::Digit('1'));
    assert_eq!(
        drain(&mut vm),
        [
            dtmf('1'),
            Command::StopPlayback,
            ivr(
                "closed",
                json!({ "callback": "accepted", "number": CALLER, "queue": "support" })
            ),
            Command::Callback {
                number: CALLER.into(),
                queue: Some("support".into()),
                priority: 0
            },
            play(&["en/callback_confirmed.wav"], false)
        ]
    );
    vm.handle(t0 + secs(8), Event::PlaybackDone);
    assert_eq!(drain(&mut vm), [hangup("callback")]);
    assert!(vm.is_done());
}

#[test]
fn the_callback_step_declined_or_unanswered_goes_to_next() {
    let t0 = Instant::now();
    let mut vm = closed(t0);
    vm.handle(t0 + secs(9), Event::PlaybackDone);
    assert_eq!(vm.poll_timeout(), Some(t0 + secs(15)), "timeout: 6");
    vm.handle(t0 + secs(10), Event::Digit('2'));
    assert_eq!(
        drain(&mut vm),
        [
            dtmf('2'),
            ivr("closed", json!({ "callback": "declined", "key": "2" })),
            ivr("voicemail", json!({})),
            play(&["en/voicemail_greeting.wav"], true)
        ]
    );

    let mut vm = closed(t0);
    vm.handle(t0 + secs(9), Event::PlaybackDone);
    vm.handle_timeout(t0 + secs(14));
    assert!(drain(&mut vm).is_empty());
    vm.handle_timeout(t0 + secs(15));
    let out = drain(&mut vm);
    assert_eq!(details(&out, "closed"), [json!({ "callback": "timeout" })]);
    assert_eq!(plays(&out), ["en/voicemail_greeting.wav"]);
    assert!(
        !out.iter().any(|c| matches!(c, Command::Callback { .. })),
        "{out:?}"
    );
}

#[test]
fn a_declined_callback_step_without_next_hangs_up() {
    let t0 = Instant::now();
    let p = plan(
        "name: t\nlanguage: en\nstart: c\nsteps:\n  c:\n    callback: { prompts: [callback_offer], key: \"#\", queue: sales, priority: 2, number: \"{caller}\" }\n",
    );
    let mut vm = Vm::new(p.clone(), CALLER, "1", t0, open_hours());
    drain(&mut vm);
    vm.handle(t0, Event::Digit('1'));
    assert_eq!(drain(&mut vm).last(), Some(&hangup("callback_declined")));
    let mut vm = Vm::new(p, CALLER, "1", t0, open_hours());
    drain(&mut vm);
    vm.handle(t0, Event::Digit('#'));
    let out = drain(&mut vm);
    assert!(out.contains(&Command::Callback {
        number: CALLER.into(),
        queue: Some("sales".into()),
        priority: 2
    }));
    assert_eq!(out.last(), Some(&hangup("callback")), "no confirm: at once");
}

/// A queue announcing every 30 s and offering a callback after 60 s; after the
/// agent, a last prompt.
fn queue_plan(priority: i32) -> Arc<Dialplan> {
    plan(&format!(
        r#"
name: t
language: en
start: support
steps:
  support:
    queue:
      name: support
      priority: {priority}
      announce_every: 30
      callback: {{ after: 60, prompts: [callback_offer], confirm: callback_confirmed, timeout: 6 }}
    next: survey
  survey:
    play: {{ prompts: [survey] }}
    next: bye
  bye:
    hangup: {{}}
"#
    ))
}

/// Queued at `t0`, nobody has answered yet.
fn queued(t0: Instant) -> Vm {
    let mut vm = Vm::new(queue_plan(0), "x", "1", t0, open_hours());
    let out = drain(&mut vm);
    assert!(
        out.iter()
            .any(|c| matches!(c, Command::Enqueue { queue, .. } if queue == "support"))
    );
    assert_eq!(vm.poll_timeout(), Some(t0 + secs(30)));
    vm
}

/// Queued at `t0`, its first announcement over at 34 s (next one due at 64 s),
/// the callback offer due at 60 s.
fn queued_past_first_announcement(t0: Instant) -> Vm {
    let mut vm = queued(t0);
    vm.handle_timeout(t0 + secs(30));
    vm.handle(
        t0 + secs(30),
        Event::QueuePlace {
            position: 2,
            wait_seconds: Some(90),
        },
    );
    vm.handle(t0 + secs(34), Event::PlaybackDone);
    assert_eq!(
        drain(&mut vm).last(),
        Some(&Command::Music("moh.wav".into()))
    );
    assert_eq!(vm.poll_timeout(), Some(t0 + secs(60)), "the offer first");
    vm
}

fn offer_made(vm: &mut Vm, at: Instant) {
    vm.handle_timeout(at);
    assert_eq!(
        drain(vm),
        [
            ivr("support", json!({ "callback": "offered" })),
            play(&["en/callback_offer.wav"], true)
        ]
    );
}

#[test]
fn a_queued_caller_accepts_the_callback_and_keeps_the_place() {
    let t0 = Instant::now();
    let mut vm = queued_past_first_announcement(t0);
    vm.handle_timeout(t0 + secs(59));
    assert!(drain(&mut vm).is_empty());
    offer_made(&mut vm, t0 + secs(60));
    assert_eq!(vm.poll_timeout(), None, "no timer while the offer plays");
    vm.handle(t0 + secs(63), Event::Digit('1'));
    assert_eq!(
        drain(&mut vm),
        [
            dtmf('1'),
            Command::StopPlayback,
            ivr(
                "support",
                json!({ "callback": "accepted", "number": "x", "queue": null })
            ),
            Command::Callback {
                number: "x".into(),
                queue: None,
                priority: 0
            },
            play(&["en/callback_confirmed.wav"], false)
        ]
    );
    vm.handle_timeout(t0 + secs(64));
    assert!(
        drain(&mut vm).is_empty(),
        "no announcement over the confirm"
    );
    vm.handle(t0 + secs(68), Event::PlaybackDone);
    assert_eq!(drain(&mut vm), [hangup("callback")]);
}

#[test]
fn a_declined_offer_resumes_music_and_announcements_and_is_not_repeated() {
    let t0 = Instant::now();
    let mut vm = queued_past_first_announcement(t0);
    offer_made(&mut vm, t0 + secs(60));
    vm.handle(t0 + secs(62), Event::PlaybackDone);
    assert_eq!(vm.poll_timeout(), Some(t0 + secs(68)), "6 s for the key");
    vm.handle(t0 + secs(65), Event::Digit('7'));
    assert_eq!(
        drain(&mut vm),
        [
            dtmf('7'),
            ivr("support", json!({ "callback": "declined", "key": "7" })),
            Command::Music("moh.wav".into())
        ]
    );
    assert_eq!(
        vm.poll_timeout(),
        Some(t0 + secs(64)),
        "the announcement that fell due meanwhile comes now"
    );
    vm.handle_timeout(t0 + secs(65));
    assert_eq!(drain(&mut vm), [Command::AskPlace]);
    vm.handle(
        t0 + secs(65),
        Event::QueuePlace {
            position: 1,
            wait_seconds: Some(20),
        },
    );
    assert_eq!(plays(&drain(&mut vm)).len(), 1);
    vm.handle(t0 + secs(68), Event::PlaybackDone);
    assert_eq!(drain(&mut vm), [Command::Music("moh.wav".into())]);
    assert_eq!(vm.poll_timeout(), Some(t0 + secs(98)));
    vm.handle_timeout(t0 + secs(98));
    assert_eq!(drain(&mut vm), [Command::AskPlace], "no second offer");
    vm.handle(t0 + secs(200), Event::Digit('1'));
    assert!(
        !drain(&mut vm)
            .iter()
            .any(|c| matches!(c, Command::Callback { .. })),
        "the key means nothing once declined"
    );
}

#[test]
fn an_unanswered_offer_goes_back_to_the_music() {
    let t0 = Instant::now();
    let mut vm = queued_past_first_announcement(t0);
    offer_made(&mut vm, t0 + secs(60));
    vm.handle(t0 + secs(61), Event::PlaybackDone);
    vm.handle_timeout(t0 + secs(67));
    assert_eq!(
        drain(&mut vm),
        [
            ivr("support", json!({ "callback": "timeout" })),
            Command::Music("moh.wav".into())
        ]
    );
}

#[test]
fn an_offer_due_during_an_announcement_waits_for_its_end() {
    let t0 = Instant::now();
    let mut vm = queued(t0);
    vm.handle_timeout(t0 + secs(30));
    drain(&mut vm);
    assert_eq!(vm.poll_timeout(), None, "asking for the place");
    vm.handle_timeout(t0 + secs(60));
    assert!(drain(&mut vm).is_empty(), "not while routing answers");
    vm.handle(
        t0 + secs(60),
        Event::QueuePlace {
            position: 4,
            wait_seconds: None,
        },
    );
    drain(&mut vm);
    assert_eq!(vm.poll_timeout(), None, "not over the announcement");
    vm.handle(t0 + secs(63), Event::PlaybackDone);
    assert_eq!(
        drain(&mut vm),
        [
            ivr("support", json!({ "callback": "offered" })),
            play(&["en/callback_offer.wav"], true)
        ],
        "the offer instead of the music"
    );
    vm.handle(t0 + secs(70), Event::PlaybackDone);
    vm.handle_timeout(t0 + secs(76));
    assert_eq!(
        drain(&mut vm).last(),
        Some(&Command::Music("moh.wav".into()))
    );
    assert_eq!(
        vm.poll_timeout(),
        Some(t0 + secs(93)),
        "the next announcement as it was"
    );
}

#[test]
fn offer_and_announcement_due_together_come_one_after_the_other() {
    let t0 = Instant::now();
    let mut vm = queued(t0);
    vm.handle_timeout(t0 + secs(30));
    vm.handle(t0 + secs(30), Event::PlaceUnknown);
    drain(&mut vm);
    assert_eq!(vm.poll_timeout(), Some(t0 + secs(60)));
    offer_made(&mut vm, t0 + secs(60));
    vm.handle(t0 + secs(61), Event::Digit('0'));
    drain(&mut vm);
    assert_eq!(vm.poll_timeout(), Some(t0 + secs(60)));
    vm.handle_timeout(t0 + secs(61));
    assert_eq!(drain(&mut vm), [Command::AskPlace]);
}

#[test]
fn an_agent_during_the_offer_takes_the_call_as_before() {
    let t0 = Instant::now();
    let mut vm = queued_past_first_announcement(t0);
    offer_made(&mut vm, t0 + secs(60));
    // The shell ends the IVR part when an agent is assigned; after the agent:
    assert!(vm.agent_left(t0 + secs(300)));
    assert_eq!(plays(&drain(&mut vm)), ["en/survey.wav"]);
    assert_eq!(vm.poll_timeout(), None, "no offer left over");
}

#[test]
fn the_callback_keeps_the_queue_priority() {
    let t0 = Instant::now();
    let mut vm = Vm::new(queue_plan(1), CALLER, "1", t0, open_hours());
    drain(&mut vm);
    vm.handle_timeout(t0 + secs(30));
    vm.handle(t0 + secs(30), Event::PlaceUnknown);
    vm.handle_timeout(t0 + secs(60));
    drain(&mut vm);
    vm.handle(t0 + secs(61), Event::Digit('1'));
    assert!(drain(&mut vm).contains(&Command::Callback {
        number: CALLER.into(),
        queue: None,
        priority: 1
    }));
}

fn problems(yaml: &str, sounds: &Path) -> Vec<String> {
    parse(Path::new("t.yaml"), yaml, sounds)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn voicemail_and_callbacks_are_validated() {
    let sounds = Path::new(env!("CARGO_MANIFEST_DIR")).join("sounds");
    let bad = r#"name: t
start: c
steps:
  c:
    callback:
      prompts: [callback_offer]
      key: "12"
      timeout: 0
    next: v
  v:
    voicemail:
      prompts: [nope]
      max_seconds: 900
      queue: " "
      number: ""
    next: q
  q:
    queue:
      name: support
      callback: { after: 0, prompts: [callback_offer], key: x, confirm: gone }
    next: nowhere
"#;
    let all = problems(bad, &sounds).join("\n");
    for want in [
        "t.yaml:5:5: the `callback` step needs `queue`",
        "t.yaml:7:12: `key` must be one of 0-9, * and #, not `12`",
        "t.yaml:8:16: `timeout` must be between 1 and 60 seconds",
        "t.yaml:12:17: prompt `nope` is missing",
        "t.yaml:13:20: `max_seconds` must be between 1 and 600",
        "t.yaml:14:14: `queue` must name a queue",
        "t.yaml:15:15: `number` must not be empty",
        "t.yaml:20:26: `after` must be more than 0 seconds",
        "`key` must be one of 0-9, * and #, not `x`",
        "prompt `gone` is missing",
        "no step named `nowhere`",
    ] {
        assert!(all.contains(want), "{want}\n got:\n{all}");
    }
    let both = "name: t\nstart: a\nsteps:\n  a:\n    voicemail: {}\n    callback: { prompts: [callback_offer], queue: support }\n";
    assert!(
        problems(both, &sounds)
            .iter()
            .any(|p| p.contains("must have exactly one action")),
    );
}

#[test]
fn the_default_beep_must_exist_in_every_language() {
    let sounds = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(sounds.path().join("en")).unwrap();
    let yaml = "name: t\nlanguage: en\nstart: v\nsteps:\n  v:\n    voicemail: {}\n";
    let all = problems(yaml, sounds.path());
    assert!(
        all.iter()
            .any(|p| p.starts_with("t.yaml:6:5: prompt `beep` is missing")),
        "{all:?}"
    );
}

#[test]
fn the_hotline_closed_offers_a_callback_then_takes_a_message() {
    let t0 = Instant::now();
    let mut vm = Vm::new(hotline(), CALLER, "4000", t0, night());
    vm.handle(t0, Event::Digit('2'));
    assert_eq!(
        drain(&mut vm).last(),
        Some(&play(&["en/callback_offer_closed.wav"], true))
    );
    vm.handle(t0 + secs(9), Event::PlaybackDone);
    vm.handle_timeout(t0 + secs(15));
    let out = drain(&mut vm);
    assert_eq!(details(&out, "closed"), [json!({ "callback": "timeout" })]);
    assert_eq!(plays(&out), ["en/voicemail_greeting.wav"]);
    vm.handle(t0 + secs(21), Event::PlaybackDone);
    assert_eq!(plays(&drain(&mut vm)), ["en/beep.wav"]);
    vm.handle(t0 + secs(22), Event::PlaybackDone);
    assert_eq!(
        drain(&mut vm).last(),
        Some(&Command::Record {
            max: secs(120),
            number: CALLER.into(),
            queue: Some("support".into()),
            priority: 0
        })
    );
    vm.handle(t0 + secs(40), Event::Digit('#'));
    assert_eq!(plays(&drain(&mut vm)), ["en/voicemail_saved.wav"]);
    vm.handle(t0 + secs(45), Event::PlaybackDone);
    assert_eq!(drain(&mut vm).last(), Some(&hangup("dialplan_hangup")));
}

#[test]
fn the_hotline_queues_offer_a_callback_after_a_minute() {
    let t0 = Instant::now();
    for (key, queue, priority) in [('2', "support", 0), ('3', "sales", 0), ('0', "operator", 1)] {
        let mut vm = Vm::new(hotline(), CALLER, "4000", t0, open_hours());
        vm.handle(t0, Event::Digit('2'));
        vm.handle(t0, Event::Digit(key));
        drain(&mut vm);
        vm.handle_timeout(t0 + secs(30));
        vm.handle(t0 + secs(30), Event::PlaceUnknown);
        vm.handle_timeout(t0 + secs(60));
        let out = drain(&mut vm);
        assert_eq!(details(&out, queue), [json!({ "callback": "offered" })]);
        assert_eq!(plays(&out), ["en/callback_offer.wav"]);
        vm.handle(t0 + secs(61), Event::Digit('1'));
        let out = drain(&mut vm);
        assert!(
            out.contains(&Command::Callback {
                number: CALLER.into(),
                queue: None,
                priority
            }),
            "{queue}: {out:?}"
        );
        assert_eq!(plays(&out), ["en/callback_confirmed.wav"]);
    }
}
