//! Overflow in virtual time: the enqueue time is kept, an outstanding offer is
//! withdrawn, cycles end, calls leave the line, bad settings are refused.

use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::routing::engine::{Input, Output, Router, RoutingError, WithdrawReason};
use crate::routing::model::{Channel, Overflow, Presence, QueueConfig, QueueConfigError};
use crate::routing::test_support::{agent, drain, item, offers, setup};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// `support` overflows to `sales` after 10 s; agent 1 serves support, agent 2
/// (away) sales.
fn spill(t0: Instant, to: Overflow) -> Router {
    let mut r = setup(t0, &[agent(1, &[], 1, 3)]);
    r.handle(t0, Input::UpsertQueue(QueueConfig::named("sales")))
        .unwrap();
    let mut q = QueueConfig::named("support");
    q.max_wait_seconds = Some(10);
    q.overflow = Some(to);
    r.handle(t0, Input::UpsertQueue(q)).unwrap();
    let mut a2 = agent(2, &[], 1, 3);
    a2.queues = vec!["sales".into()];
    r.handle(t0, Input::UpsertAgent(a2)).unwrap();
    set(&mut r, t0, 1, false);
    drain(&mut r);
    r
}

fn set(r: &mut Router, at: Instant, n: u128, available: bool) {
    let presence = if available {
        Presence::Available
    } else {
        Presence::Away { reason: "x".into() }
    };
    r.handle(
        at,
        Input::SetPresence {
            agent: Uuid::from_u128(n),
            presence,
        },
    )
    .unwrap();
}

fn to_sales() -> Overflow {
    Overflow::Queue {
        queue: "sales".into(),
    }
}

#[test]
fn overflow_keeps_the_enqueue_time_and_the_place() {
    let t0 = Instant::now();
    let mut r = spill(t0, to_sales());
    r.handle(t0, Input::Enqueue(item(1, Channel::Chat, t0, &[])))
        .unwrap();
    let mut later = item(2, Channel::Chat, t0 + secs(5), &[]);
    later.queue = "sales".into();
    r.handle(t0 + secs(5), Input::Enqueue(later)).unwrap();
    assert_eq!(
        r.poll_timeout(),
        Some(t0 + secs(10)),
        "the overflow deadline"
    );
    r.handle_timeout(t0 + secs(10));
    let out = drain(&mut r);
    assert!(out.contains(&Output::Overflowed {
        item: Uuid::from_u128(1001),
        from: "support".into(),
        action: to_sales(),
        waited: secs(10),
    }));
    let moved = r.waiting_item(Uuid::from_u128(1001)).unwrap();
    assert_eq!((moved.queue.as_str(), moved.enqueued_at), ("sales", t0));
    let now = t0 + secs(11);
    assert_eq!(
        r.place(Uuid::from_u128(1001)).unwrap().position,
        1,
        "ahead of the item that came to sales later"
    );
    let support = r.queue_stats("support", now).unwrap();
    let sales = r.queue_stats("sales", now).unwrap();
    assert_eq!((support.overflowed_today, support.waiting), (1, 0));
    assert_eq!((sales.offered_today, sales.waiting), (2, 2));
    assert_eq!(r.poll_timeout(), None, "sales has no overflow");
    set(&mut r, now, 2, true);
    let o = offers(&drain(&mut r));
    assert_eq!(o[0].1, Uuid::from_u128(1001), "offered first in sales");
    assert_eq!(o[0].2, Uuid::from_u128(2));
    r.handle(
        now,
        Input::Accept {
            offer: o[0].0,
            agent: o[0].2,
        },
    )
    .unwrap();
    assert_eq!(
        r.is_assigned(Uuid::from_u128(1001)),
        Some(Uuid::from_u128(2))
    );
}

#[test]
fn overflow_withdraws_an_outstanding_offer() {
    let t0 = Instant::now();
    let mut r = spill(t0, to_sales());
    set(&mut r, t0, 1, true);
    drain(&mut r);
    r.handle(t0, Input::Enqueue(item(1, Channel::Chat, t0, &[])))
        .unwrap();
    let (offer, _, agent) = offers(&drain(&mut r))[0];
    assert_eq!(
        r.poll_timeout(),
        Some(t0 + secs(10)),
        "before the offer's 20 s"
    );
    r.handle_timeout(t0 + secs(10));
    let out = drain(&mut r);
    let withdrawn = out.iter().position(|o| {
        matches!(o, Output::Withdrawn { offer: x, reason: WithdrawReason::Overflowed, .. } if *x == offer)
    });
    let overflowed = out
        .iter()
        .position(|o| matches!(o, Output::Overflowed { .. }));
    assert!(withdrawn.unwrap() < overflowed.unwrap(), "{out:?}");
    assert!(offers(&out).is_empty(), "agent 1 does not serve sales");
    assert_eq!(
        r.handle(t0 + secs(11), Input::Accept { offer, agent }),
        Err(RoutingError::OfferGone)
    );
    assert_eq!(
        r.agent(agent).unwrap().1,
        crate::routing::agent::AgentStatus::Available
    );
    r.check_invariants().unwrap();
}

#[test]
fn an_overflow_cycle_ends() {
    let t0 = Instant::now();
    let mut r = spill(t0, to_sales());
    let mut sales = QueueConfig::named("sales");
    sales.max_wait_seconds = Some(10);
    sales.overflow = Some(Overflow::Queue {
        queue: "support".into(),
    });
    r.handle(t0, Input::UpsertQueue(sales)).unwrap();
    r.handle(t0, Input::Enqueue(item(1, Channel::Chat, t0, &[])))
        .unwrap();
    r.handle_timeout(t0 + secs(10));
    assert_eq!(drain(&mut r).len(), 1, "one overflow, to sales");
    assert_eq!(
        r.poll_timeout(),
        None,
        "never back into support, where it waited"
    );
    r.handle_timeout(t0 + secs(100));
    assert!(drain(&mut r).is_empty());
    assert_eq!(
        r.waiting_item(Uuid::from_u128(1001)).unwrap().queue,
        "sales"
    );
    assert_eq!(r.queue_stats("sales", t0).unwrap().overflowed_today, 0);
}

#[test]
fn a_call_on_the_line_leaves_for_voicemail_and_other_items_wait_on() {
    let t0 = Instant::now();
    for action in [Overflow::Voicemail, Overflow::Callback] {
        let mut r = spill(t0, action.clone());
        let mut call = item(1, Channel::Voice, t0, &[]);
        call.caller_on_line = true;
        r.handle(t0, Input::Enqueue(call)).unwrap();
        // A chat and a callback (no caller on the line) cannot take it.
        r.handle(t0, Input::Enqueue(item(2, Channel::Chat, t0, &[])))
            .unwrap();
        r.handle(t0, Input::Enqueue(item(3, Channel::Voice, t0, &[])))
            .unwrap();
        r.handle_timeout(t0 + secs(10));
        let out = drain(&mut r);
        assert_eq!(
            out,
            vec![Output::Overflowed {
                item: Uuid::from_u128(1001),
                from: "support".into(),
                action: action.clone(),
                waited: secs(10),
            }]
        );
        assert!(
            r.waiting_item(Uuid::from_u128(1001)).is_none(),
            "routing is done with it"
        );
        assert_eq!(r.waiting_in("support").len(), 2);
        assert_eq!(r.poll_timeout(), None);
        let stats = r.queue_stats("support", t0 + secs(10)).unwrap();
        assert_eq!((stats.overflowed_today, stats.abandoned_today), (1, 0));
    }
}

#[test]
fn bad_overflow_settings_are_refused() {
    let t0 = Instant::now();
    let mut r = setup(t0, &[]);
    let bad = |max: Option<u32>, to: Option<Overflow>| {
        let mut q = QueueConfig::named("support");
        q.max_wait_seconds = max;
        q.overflow = to;
        q
    };
    let queue = |n: &str| Overflow::Queue { queue: n.into() };
    for (q, why) in [
        (
            bad(Some(5), Some(queue("support"))),
            QueueConfigError::OverflowToSelf,
        ),
        (
            bad(Some(5), Some(queue("nope"))),
            QueueConfigError::OverflowUnknown("nope".into()),
        ),
        (bad(Some(5), None), QueueConfigError::OverflowPair),
        (
            bad(None, Some(Overflow::Voicemail)),
            QueueConfigError::OverflowPair,
        ),
        (
            bad(Some(0), Some(Overflow::Voicemail)),
            QueueConfigError::MaxWait,
        ),
    ] {
        assert_eq!(
            r.handle(t0, Input::UpsertQueue(q)),
            Err(RoutingError::BadQueue("support".into(), why))
        );
    }
    let json = r#"{"name":"a","max_wait_seconds":5,"overflow":{"action":"queue","queue":"b"}}"#;
    let q: QueueConfig = serde_json::from_str(json).unwrap();
    assert_eq!(q.overflow, Some(queue("b")));
    let q: QueueConfig = serde_json::from_str(
        r#"{"name":"a","max_wait_seconds":5,"overflow":{"action":"voicemail"}}"#,
    )
    .unwrap();
    assert_eq!(q.overflow, Some(Overflow::Voicemail));
    assert!(
        serde_json::from_str::<QueueConfig>(r#"{"name":"a","overflow":{"action":"nowhere"}}"#)
            .is_err()
    );
}
