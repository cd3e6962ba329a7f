//! Ring-all in virtual time: every free agent rings, the first accept wins and
//! the others are withdrawn, rejects and misses end one offer only, capacity
//! holds, and chats of a ring-all queue go to one agent.

use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::routing::engine::{Input, Output, Router, RoutingError, WithdrawReason};
use crate::routing::model::{Channel, QueueConfig, Strategy};
use crate::routing::test_support::{agent, drain, item, offers, setup};

fn ring_all(t0: Instant, agents: u128) -> Router {
    let all: Vec<_> = (1..=agents).map(|n| agent(n, &[], 1, 2)).collect();
    let mut r = setup(t0, &all);
    let mut q = QueueConfig::named("support");
    q.strategy = Strategy::RingAll;
    q.wrap_up_seconds = 0;
    r.handle(t0, Input::UpsertQueue(q)).unwrap();
    drain(&mut r);
    r
}

fn withdrawn(out: &[Output], why: WithdrawReason) -> Vec<Uuid> {
    let mut agents: Vec<Uuid> = out
        .iter()
        .filter_map(|o| match o {
            Output::Withdrawn { agent, reason, .. } if *reason == why => Some(*agent),
            _ => None,
        })
        .collect();
    agents.sort();
    agents
}

#[test]
fn the_first_accept_wins_and_the_others_stop_ringing() {
    let t0 = Instant::now();
    let mut r = ring_all(t0, 3);
    r.handle(t0, Input::Enqueue(item(1, Channel::Voice, t0, &[])))
        .unwrap();
    let rung = offers(&drain(&mut r));
    let agents: Vec<u128> = rung.iter().map(|o| o.2.as_u128()).collect();
    assert_eq!(agents, [1, 2, 3], "every free agent rings at once");
    r.check_invariants().unwrap();
    let (offer, _, winner) = rung[1];
    r.handle(
        t0,
        Input::Accept {
            offer,
            agent: winner,
        },
    )
    .unwrap();
    let out = drain(&mut r);
    assert_eq!(
        withdrawn(&out, WithdrawReason::TakenByOther),
        [Uuid::from_u128(1), Uuid::from_u128(3)]
    );
    assert!(out.contains(&Output::Assigned {
        item: Uuid::from_u128(1001),
        agent: winner,
        channel: Channel::Voice,
    }));
    let (late, _, loser) = rung[0];
    assert_eq!(
        r.handle(
            t0,
            Input::Accept {
                offer: late,
                agent: loser
            }
        ),
        Err(RoutingError::OfferGone),
        "a late accept is refused, not a second assignment"
    );
    assert_eq!(r.is_assigned(Uuid::from_u128(1001)), Some(winner));
    assert!(r.offers_for(loser).is_empty());
    r.check_invariants().unwrap();
}

#[test]
fn a_reject_ends_one_offer_and_a_ring_nobody_answers_comes_back() {
    let t0 = Instant::now();
    let mut r = ring_all(t0, 2);
    r.handle(t0, Input::Enqueue(item(1, Channel::Voice, t0, &[])))
        .unwrap();
    let rung = offers(&drain(&mut r));
    let (offer, _, agent) = rung[0];
    r.handle(t0 + Duration::from_secs(1), Input::Reject { offer, agent })
        .unwrap();
    let out = drain(&mut r);
    assert_eq!(withdrawn(&out, WithdrawReason::Rejected), [agent]);
    assert!(offers(&out).is_empty());
    assert_eq!(r.offers_for(rung[1].2).len(), 1, "the other still rings");
    r.handle_timeout(t0 + Duration::from_secs(20));
    let out = drain(&mut r);
    assert_eq!(withdrawn(&out, WithdrawReason::Timeout), [rung[1].2]);
    // As with any offer: who rejected is passed by until the offer would have
    // run out, who missed it for one more offer time.
    let again = offers(&out);
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!((again[0].1, again[0].2), (Uuid::from_u128(1001), agent));
    assert_eq!(r.waiting_in("support").len(), 1, "still waiting");
    r.handle(
        t0 + Duration::from_secs(21),
        Input::Reject {
            offer: again[0].0,
            agent,
        },
    )
    .unwrap();
    drain(&mut r);
    r.handle_timeout(t0 + Duration::from_secs(40));
    let last = offers(&drain(&mut r));
    let agents: Vec<Uuid> = last.iter().map(|o| o.2).collect();
    assert_eq!(agents, [rung[0].2, rung[1].2], "both ring again later");
    r.check_invariants().unwrap();
}

#[test]
fn a_ringing_offer_counts_against_capacity() {
    let t0 = Instant::now();
    let mut r = ring_all(t0, 2);
    r.handle(t0, Input::Enqueue(item(1, Channel::Voice, t0, &[])))
        .unwrap();
    r.handle(t0, Input::Enqueue(item(2, Channel::Voice, t0, &[])))
        .unwrap();
    r.handle(t0, Input::Enqueue(item(3, Channel::Chat, t0, &[])))
        .unwrap();
    let rung = offers(&drain(&mut r));
    assert_eq!(rung.len(), 2, "{rung:?}");
    assert!(
        rung.iter().all(|o| o.1 == Uuid::from_u128(1001)),
        "the second call and the chat wait while both ring"
    );
    r.check_invariants().unwrap();
    let (offer, _, agent) = rung[0];
    r.handle(t0, Input::Accept { offer, agent }).unwrap();
    let next = offers(&drain(&mut r));
    assert_eq!(next.len(), 1, "the other agent rings for the second call");
    assert_eq!((next[0].1, next[0].2), (Uuid::from_u128(1002), rung[1].2));
}

#[test]
fn chats_of_a_ring_all_queue_go_to_the_longest_idle_agent() {
    let t0 = Instant::now();
    let mut r = ring_all(t0, 3);
    r.handle(t0, Input::Enqueue(item(1, Channel::Chat, t0, &[])))
        .unwrap();
    let o = offers(&drain(&mut r));
    assert_eq!(o.len(), 1);
    r.check_invariants().unwrap();
}

#[test]
fn a_sticky_agent_rings_alone_and_everyone_when_they_cannot_take_it() {
    let t0 = Instant::now();
    let mut r = ring_all(t0, 3);
    let mut call = item(1, Channel::Voice, t0, &[]);
    call.preferred_agent = Some(Uuid::from_u128(2));
    call.sticky_until = Some(t0 + Duration::from_secs(30));
    r.handle(t0, Input::Enqueue(call.clone())).unwrap();
    let rung = offers(&drain(&mut r));
    let agents: Vec<u128> = rung.iter().map(|o| o.2.as_u128()).collect();
    assert_eq!(agents, [2], "the customer's last agent first");

    let mut r = ring_all(t0, 3);
    r.handle(
        t0,
        Input::SetPresence {
            agent: Uuid::from_u128(2),
            presence: crate::routing::model::Presence::Away { reason: "x".into() },
        },
    )
    .unwrap();
    r.handle(t0, Input::Enqueue(call)).unwrap();
    let rung = offers(&drain(&mut r));
    let agents: Vec<u128> = rung.iter().map(|o| o.2.as_u128()).collect();
    assert_eq!(
        agents,
        [1, 3],
        "the sticky agent is away: everyone else rings"
    );
}
