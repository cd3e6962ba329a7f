//! A queued call taken out of the line by its queue's overflow, in virtual
//! time: voicemail records a message and ends the call, callback keeps the
//! place and ends it, and a call no longer queued is left alone.

use std::time::{Duration, Instant};

use super::tests::{drain, open_hours, plan};
use super::*;

const CALLER: &str = "+8613800138000";

const QUEUED: &str = r#"
name: t
language: en
start: wait
steps:
  wait:
    queue: { name: support, priority: 3, announce_every: 30 }
"#;

fn queued(t0: Instant) -> Vm {
    let mut vm = Vm::new(plan(QUEUED), CALLER, "1", t0, open_hours());
    let first = drain(&mut vm);
    assert!(
        first.iter().any(|c| matches!(c, Command::Enqueue { .. })),
        "{first:?}"
    );
    vm
}

fn play(file: &str, barge_in: bool) -> Command {
    Command::Play {
        files: vec![PathBuf::from(file)],
        barge_in,
    }
}

fn step(detail: serde_json::Value) -> Command {
    Command::Timeline(EventPayload::IvrStep {
        step: "wait".into(),
        detail,
    })
}

#[test]
fn a_voicemail_overflow_records_a_message_and_ends_the_call() {
    let t0 = Instant::now();
    let mut vm = queued(t0);
    let t = t0 + Duration::from_secs(5);
    assert!(vm.queue_overflowed(t, QueueOverflow::Voicemail));
    assert_eq!(
        drain(&mut vm),
        [
            Command::StopPlayback,
            step(json!({ "overflow": "voicemail" })),
            play("en/voicemail_greeting.wav", true),
        ]
    );
    assert_eq!(vm.poll_timeout(), None, "no more place announcements");
    vm.handle(t, Event::PlaybackDone);
    assert_eq!(drain(&mut vm), [play("en/beep.wav", false)]);
    vm.handle(t, Event::PlaybackDone);
    let out = drain(&mut vm);
    assert_eq!(
        out.last(),
        Some(&Command::Record {
            max: Duration::from_secs(120),
            number: CALLER.into(),
            queue: None,
            priority: 0,
        })
    );
    assert_eq!(vm.poll_timeout(), Some(t + Duration::from_secs(120)));
    vm.handle(t + Duration::from_secs(9), Event::Digit('#'));
    let out = drain(&mut vm);
    assert!(out.contains(&Command::StopRecording), "{out:?}");
    assert_eq!(out.last(), Some(&play("en/voicemail_saved.wav", false)));
    vm.handle(t + Duration::from_secs(10), Event::PlaybackDone);
    assert_eq!(
        drain(&mut vm),
        [Command::Hangup {
            cause: "voicemail".into()
        }]
    );
    assert!(vm.is_done());
}

#[test]
fn a_callback_overflow_keeps_the_place_and_ends_the_call() {
    let t0 = Instant::now();
    let mut vm = queued(t0);
    let t = t0 + Duration::from_secs(5);
    assert!(vm.queue_overflowed(t, QueueOverflow::Callback));
    assert_eq!(
        drain(&mut vm),
        [
            Command::StopPlayback,
            step(json!({ "overflow": "callback", "number": CALLER })),
            Command::Callback {
                number: CALLER.into(),
                queue: None,
                priority: 3,
            },
            play("en/callback_confirmed.wav", false),
        ]
    );
    vm.handle(t, Event::PlaybackDone);
    assert_eq!(
        drain(&mut vm),
        [Command::Hangup {
            cause: "callback".into()
        }]
    );
}

#[test]
fn an_overflow_after_the_queue_step_is_ignored() {
    let t0 = Instant::now();
    let mut vm = queued(t0);
    assert!(vm.queue_overflowed(t0, QueueOverflow::Callback));
    drain(&mut vm);
    assert!(!vm.queue_overflowed(t0, QueueOverflow::Voicemail));
    assert!(drain(&mut vm).is_empty());
}
