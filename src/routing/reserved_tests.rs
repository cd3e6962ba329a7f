//! Items reserved for one agent (a call transferred to them by name): offered to
//! that agent alone, whatever their queues, until the reservation ends or they
//! pass it by; then to the queue's agents as usual.

use std::time::{Duration, Instant};

use uuid::Uuid;

use super::engine::{Input, Router};
use super::model::{Channel, WorkItem};
use super::test_support::{agent, drain, item, offers, setup};

/// Agent 3 is in no queue of ours; agents 1 and 2 serve `support`.
fn three_agents(t0: Instant) -> Router {
    let mut outsider = agent(3, &[], 1, 1);
    outsider.queues = vec!["sales".into()];
    setup(t0, &[agent(1, &[], 1, 1), agent(2, &[], 1, 1), outsider])
}

fn reserved_for(n: u128, agent: u128, at: Instant, until: Instant) -> WorkItem {
    let mut it = item(n, Channel::Voice, at, &[]);
    it.preferred_agent = Some(Uuid::from_u128(agent));
    it.sticky_until = Some(until);
    it.reserved = true;
    it
}

#[test]
fn a_reserved_item_goes_to_its_agent_even_outside_their_queues() {
    let t0 = Instant::now();
    let mut r = three_agents(t0);
    let it = reserved_for(1, 3, t0, t0 + Duration::from_secs(30));
    r.handle(t0, Input::Enqueue(it)).unwrap();
    let o = offers(&drain(&mut r));
    assert_eq!(o.len(), 1);
    assert_eq!(o[0].2, Uuid::from_u128(3));
    r.check_invariants().unwrap();
}

#[test]
fn a_reserved_item_waits_for_its_busy_agent_then_goes_to_anyone() {
    let t0 = Instant::now();
    let mut r = three_agents(t0);
    // Agent 1 takes a call, so is busy.
    r.handle(t0, Input::Enqueue(item(9, Channel::Voice, t0, &[])))
        .unwrap();
    let first = offers(&drain(&mut r))[0];
    let busy = first.2;
    r.handle(
        t0,
        Input::Accept {
            offer: first.0,
            agent: busy,
        },
    )
    .unwrap();
    drain(&mut r);
    let until = t0 + Duration::from_secs(30);
    r.handle(
        t0,
        Input::Enqueue(reserved_for(1, busy.as_u128(), t0, until)),
    )
    .unwrap();
    assert!(offers(&drain(&mut r)).is_empty(), "held for the busy agent");
    assert_eq!(
        r.poll_timeout(),
        Some(until),
        "wakes when the reservation ends"
    );
    r.handle_timeout(until);
    let o = offers(&drain(&mut r));
    assert_eq!(o.len(), 1, "then offered in its queue");
    assert_ne!(o[0].2, busy);
    assert_ne!(
        o[0].2,
        Uuid::from_u128(3),
        "not to an agent outside the queue"
    );
    r.check_invariants().unwrap();
}

#[test]
fn a_reserved_item_its_agent_rejects_goes_to_the_queue_at_once() {
    let t0 = Instant::now();
    let mut r = three_agents(t0);
    let it = reserved_for(1, 3, t0, t0 + Duration::from_secs(30));
    r.handle(t0, Input::Enqueue(it)).unwrap();
    let o = offers(&drain(&mut r))[0];
    let t1 = t0 + Duration::from_secs(2);
    r.handle(
        t1,
        Input::Reject {
            offer: o.0,
            agent: o.2,
        },
    )
    .unwrap();
    let next = offers(&drain(&mut r));
    assert_eq!(
        next.len(),
        1,
        "offered again without waiting out the reservation"
    );
    assert!([1, 2].map(Uuid::from_u128).contains(&next[0].2));
    r.check_invariants().unwrap();
}
