//! Routing engine tests in virtual time, plus property tests over random inputs.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::strategy::Strategy;
use uuid::Uuid;

use super::*;
use crate::routing::model::{Overflow, Strategy as Pick};
use crate::routing::test_support::{agent, drain, item, offers, setup};

#[test]
fn a_call_and_a_chat_go_to_the_same_agent_respecting_capacity() {
    let t0 = Instant::now();
    let mut r = setup(t0, &[agent(1, &[], 1, 2)]);
    r.handle(t0, Input::Enqueue(item(1, Channel::Voice, t0, &[])))
        .unwrap();
    r.handle(
        t0,
        Input::Enqueue(item(2, Channel::Chat, t0 + Duration::from_secs(1), &[])),
    )
    .unwrap();
    let o = offers(&drain(&mut r));
    assert_eq!(o.len(), 1, "the call blocks text while offered");
    assert_eq!(o[0].1, Uuid::from_u128(1001));
    r.handle(
        t0,
        Input::Accept {
            offer: o[0].0,
            agent: o[0].2,
        },
    )
    .unwrap();
    assert!(
        offers(&drain(&mut r)).is_empty(),
        "busy on a call: no chat yet"
    );
    r.handle(
        t0,
        Input::Finish {
            item: Uuid::from_u128(1001),
        },
    )
    .unwrap();
    assert!(offers(&drain(&mut r)).is_empty(), "wrap-up first");
    r.handle_timeout(t0 + Duration::from_secs(10));
    let o = offers(&drain(&mut r));
    assert_eq!(
        o.iter().map(|x| x.1).collect::<Vec<_>>(),
        vec![Uuid::from_u128(1002)]
    );
}

#[test]
fn offer_timeout_requeues_in_place_and_two_misses_set_away() {
    let t0 = Instant::now();
    let mut r = setup(t0, &[agent(1, &[], 1, 1), agent(2, &[], 1, 1)]);
    r.handle(t0, Input::Enqueue(item(1, Channel::Voice, t0, &[])))
        .unwrap();
    let first = offers(&drain(&mut r))[0];
    r.handle_timeout(t0 + Duration::from_secs(20));
    let out = drain(&mut r);
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Withdrawn {
            reason: WithdrawReason::Timeout,
            ..
        }
    )));
    let second = offers(&out)[0];
    assert_eq!(second.1, first.1);
    assert_ne!(second.2, first.2, "offered to the other agent next");
    r.handle_timeout(t0 + Duration::from_secs(40));
    let third = offers(&drain(&mut r))[0];
    r.handle_timeout(t0 + Duration::from_secs(60));
    let out = drain(&mut r);
    assert!(out.iter().any(|o| matches!(o, Output::AgentChanged { agent, status: AgentStatus::Away { reason } } if *agent == third.2 && reason == "missed")), "{out:?}");
    assert_eq!(r.waiting_in("support")[0].enqueued_at, t0, "kept its place");
}

#[test]
fn skills_relax_with_waiting_time() {
    let t0 = Instant::now();
    let mut r = setup(t0, &[agent(1, &[("billing", 2)], 1, 1)]);
    r.handle(
        t0,
        Input::Enqueue(item(1, Channel::Voice, t0, &[("billing", 4)])),
    )
    .unwrap();
    assert!(offers(&drain(&mut r)).is_empty());
    assert_eq!(r.poll_timeout(), Some(t0 + Duration::from_secs(30)));
    r.handle_timeout(t0 + Duration::from_secs(30));
    assert_eq!(
        offers(&drain(&mut r)).len(),
        1,
        "any proficiency after 30 s"
    );
}

#[test]
fn best_fit_then_longest_idle_and_fifo() {
    let t0 = Instant::now();
    let mut r = setup(
        t0,
        &[agent(1, &[("zh", 3)], 1, 1), agent(2, &[("zh", 5)], 1, 1)],
    );
    r.handle(
        t0,
        Input::Enqueue(item(1, Channel::Voice, t0, &[("zh", 1)])),
    )
    .unwrap();
    assert_eq!(
        offers(&drain(&mut r))[0].2,
        Uuid::from_u128(2),
        "higher proficiency wins"
    );
    let mut r = setup(t0, &[agent(1, &[], 1, 1)]);
    r.handle(
        t0,
        Input::Enqueue(item(2, Channel::Voice, t0 + Duration::from_secs(2), &[])),
    )
    .unwrap();
    r.handle(
        t0,
        Input::SetPresence {
            agent: Uuid::from_u128(1),
            presence: Presence::Away { reason: "x".into() },
        },
    )
    .unwrap();
    drain(&mut r);
    r.handle(
        t0 + Duration::from_secs(3),
        Input::Enqueue(item(1, Channel::Voice, t0 + Duration::from_secs(1), &[])),
    )
    .unwrap();
    r.handle(
        t0 + Duration::from_secs(3),
        Input::SetPresence {
            agent: Uuid::from_u128(1),
            presence: Presence::Available,
        },
    )
    .unwrap();
    assert_eq!(
        offers(&drain(&mut r))[0].1,
        Uuid::from_u128(1001),
        "older item first"
    );
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let t0 = Instant::now();
    let mut r = setup(t0, &[agent(1, &[], 1, 1)]);
    let mut x = item(1, Channel::Voice, t0, &[]);
    x.queue = "nope".into();
    assert_eq!(
        r.handle(t0, Input::Enqueue(x)),
        Err(RoutingError::UnknownQueue("nope".into()))
    );
    assert_eq!(
        r.handle(
            t0,
            Input::Accept {
                offer: Uuid::nil(),
                agent: Uuid::from_u128(1)
            }
        ),
        Err(RoutingError::OfferGone)
    );
    r.handle(t0, Input::Enqueue(item(2, Channel::Voice, t0, &[])))
        .unwrap();
    let o = offers(&drain(&mut r))[0];
    assert_eq!(
        r.handle(
            t0,
            Input::Accept {
                offer: o.0,
                agent: Uuid::from_u128(9)
            }
        ),
        Err(RoutingError::NotYourOffer)
    );
    r.handle(
        t0,
        Input::Accept {
            offer: o.0,
            agent: o.2,
        },
    )
    .unwrap();
    assert_eq!(
        r.handle(
            t0,
            Input::Accept {
                offer: o.0,
                agent: o.2
            }
        ),
        Err(RoutingError::OfferGone),
        "double accept"
    );
    assert_eq!(
        r.handle(t0, Input::Enqueue(item(2, Channel::Voice, t0, &[]))),
        Err(RoutingError::Duplicate(Uuid::from_u128(1002)))
    );
    let mut bad = agent(3, &[("x", 9)], 1, 1);
    bad.skills.insert("x".into(), 9);
    assert_eq!(
        r.handle(t0, Input::UpsertAgent(bad)),
        Err(RoutingError::BadSkill("x".into()))
    );
}

#[test]
fn disconnect_requeues_active_and_offered_items() {
    let t0 = Instant::now();
    let mut r = setup(t0, &[agent(1, &[], 1, 2)]);
    r.handle(t0, Input::Enqueue(item(1, Channel::Chat, t0, &[])))
        .unwrap();
    let o = offers(&drain(&mut r))[0];
    r.handle(
        t0,
        Input::Accept {
            offer: o.0,
            agent: o.2,
        },
    )
    .unwrap();
    r.handle(t0, Input::Enqueue(item(2, Channel::Chat, t0, &[])))
        .unwrap();
    drain(&mut r);
    r.handle(
        t0,
        Input::AgentDisconnected {
            agent: Uuid::from_u128(1),
        },
    )
    .unwrap();
    let out = drain(&mut r);
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Requeued { item } if *item == Uuid::from_u128(1001)))
    );
    assert_eq!(r.waiting_in("support").len(), 2, "nothing lost");
}

#[derive(Debug, Clone)]
enum Op {
    /// Skills and priority seed, a call (else a chat), to `spill` (else `support`).
    Arrive(u8, bool, bool),
    Accept(usize),
    Reject(usize),
    Finish(usize),
    Presence(u8, bool),
    Disconnect(u8),
    Cancel(u8),
    Wait(u16),
    /// A queue (`spill` or `support`) gets a strategy, an overflow and a longest wait.
    Reconfigure(bool, u8, u8, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<u8>(), any::<bool>(), any::<bool>()).prop_map(|(s, v, q)| Op::Arrive(s, v, q)),
        (0usize..8).prop_map(Op::Accept),
        (0usize..8).prop_map(Op::Reject),
        (0usize..8).prop_map(Op::Finish),
        (0u8..4, any::<bool>()).prop_map(|(a, on)| Op::Presence(a, on)),
        (0u8..4).prop_map(Op::Disconnect),
        any::<u8>().prop_map(Op::Cancel),
        (0u16..40).prop_map(Op::Wait),
        (any::<bool>(), 0u8..5, 0u8..4, any::<u8>())
            .prop_map(|(q, s, o, m)| Op::Reconfigure(q, s, o, m)),
    ]
}

/// `support` (best fit) overflows into `spill` (ring-all) after 30 s, `spill`
/// back into `support` after 20 s: a cycle.
fn two_queues(t0: Instant, agents: &[AgentProfile]) -> Router {
    let mut r = setup(t0, agents);
    r.handle(
        t0,
        Input::UpsertQueue(queue(
            "spill",
            Pick::RingAll,
            20,
            Some(Overflow::Queue {
                queue: "support".into(),
            }),
        )),
    )
    .unwrap();
    r.handle(
        t0,
        Input::UpsertQueue(queue(
            "support",
            Pick::BestFit,
            30,
            Some(Overflow::Queue {
                queue: "spill".into(),
            }),
        )),
    )
    .unwrap();
    drain(&mut r);
    r
}

fn queue(name: &str, strategy: Pick, max_wait: u32, overflow: Option<Overflow>) -> QueueConfig {
    let mut q = QueueConfig::named(name);
    q.wrap_up_seconds = 10;
    q.strategy = strategy;
    q.max_wait_seconds = overflow.as_ref().map(|_| max_wait);
    q.overflow = overflow;
    q
}

proptest! {
    #[test]
    fn invariants_hold_under_random_inputs(ops in proptest::collection::vec(op(), 1..120)) {
        let t0 = Instant::now();
        let names = ["support", "spill"];
        let agents: Vec<AgentProfile> = (0..4u128).map(|i| {
            let mut a = agent(i, &[("billing", (i % 5 + 1) as u8)], 1, (i % 3 + 1) as u8);
            // Agents 0 and 1 serve both queues, 2 only support, 3 only spill.
            a.queues = match i { 2 => vec!["support".into()], 3 => vec!["spill".into()], _ => names.map(String::from).to_vec() };
            a
        }).collect();
        let mut r = two_queues(t0, &agents);
        let mut now = t0;
        let mut pending: Vec<(Uuid, Uuid, Uuid)> = vec![];
        let mut assigned: Vec<Uuid> = vec![];
        let mut enqueued: BTreeMap<Uuid, Instant> = BTreeMap::new();
        let mut overflowed: BTreeMap<Uuid, Overflow> = BTreeMap::new();
        let mut next_item = 0u128;
        for op in ops {
            match op {
                Op::Arrive(s, voice, spill) => {
                    next_item += 1;
                    let skills: &[(&str, u8)] = if s % 2 == 0 { &[("billing", 3)] } else { &[] };
                    let mut it = item(next_item, if voice { Channel::Voice } else { Channel::Chat }, now, skills);
                    it.priority = i32::from(s % 3);
                    it.caller_on_line = voice && s % 5 != 0;
                    it.queue = names[usize::from(spill)].into();
                    if s % 7 == 0 {
                        it.preferred_agent = Some(Uuid::from_u128(u128::from(s % 4)));
                        it.sticky_until = Some(now + Duration::from_secs(30));
                    }
                    enqueued.insert(it.id, now);
                    r.handle(now, Input::Enqueue(it)).unwrap();
                }
                Op::Accept(i) => if let Some((offer, agent, _)) = pending.get(i).cloned() {
                    let _ = r.handle(now, Input::Accept { offer, agent });
                },
                Op::Reject(i) => if let Some((offer, agent, _)) = pending.get(i).cloned() {
                    let _ = r.handle(now, Input::Reject { offer, agent });
                },
                Op::Finish(i) => if let Some(item) = assigned.get(i).cloned() {
                    let _ = r.handle(now, Input::Finish { item });
                },
                Op::Presence(a, on) => {
                    let presence = if on { Presence::Available } else { Presence::Away { reason: "break".into() } };
                    r.handle(now, Input::SetPresence { agent: Uuid::from_u128(u128::from(a)), presence }).unwrap();
                }
                Op::Disconnect(a) => r.handle(now, Input::AgentDisconnected { agent: Uuid::from_u128(u128::from(a)) }).unwrap(),
                Op::Cancel(n) => { let _ = r.handle(now, Input::Cancel { item: Uuid::from_u128(1000 + u128::from(n)) }); },
                Op::Wait(s) => { now += Duration::from_secs(u64::from(s)); r.handle_timeout(now); }
                Op::Reconfigure(spill, strategy, overflow, max) => {
                    let (name, other) = if spill { ("spill", "support") } else { ("support", "spill") };
                    let strategy = [Pick::BestFit, Pick::LongestIdle, Pick::LeastOccupied, Pick::RoundRobin, Pick::RingAll][usize::from(strategy)];
                    let overflow = match overflow {
                        0 => None,
                        1 => Some(Overflow::Queue { queue: other.into() }),
                        2 => Some(Overflow::Voicemail),
                        _ => Some(Overflow::Callback),
                    };
                    r.handle(now, Input::UpsertQueue(queue(name, strategy, 1 + u32::from(max % 60), overflow))).unwrap();
                }
            }
            for o in drain(&mut r) {
                match o {
                    Output::Offer { offer, agent, item, .. } => pending.push((offer, agent, item.id)),
                    Output::Withdrawn { offer, .. } => pending.retain(|(p, _, _)| *p != offer),
                    Output::Assigned { item, .. } => {
                        prop_assert!(!assigned.contains(&item), "assigned twice at once");
                        pending.retain(|(_, _, i)| *i != item);
                        assigned.push(item);
                    }
                    Output::Requeued { item } => assigned.retain(|i| *i != item),
                    Output::Overflowed { item, action, .. } => {
                        prop_assert!(!pending.iter().any(|(_, _, i)| *i == item), "an offer outlived its item's overflow");
                        overflowed.insert(item, action);
                    }
                    _ => {}
                }
            }
            for (item, last) in std::mem::take(&mut overflowed) {
                let gone = r.waiting_item(item).is_none() && r.is_assigned(item).is_none();
                prop_assert_eq!(gone, !matches!(last, Overflow::Queue { .. }), "only voicemail and callback take an item out");
            }
            prop_assert!(r.check_invariants().is_ok(), "{:?}", r.check_invariants());
            prop_assert!(r.poll_timeout().is_none_or(|t| t > now), "a timer already due was left pending");
            for (offer, _, _) in &pending {
                prop_assert!(r.offers.get(offer).is_some_and(|o| o.expires_at >= now), "offer past its timeout or lost");
            }
            for name in names {
                for w in r.waiting_in(name) {
                    prop_assert_eq!(Some(&w.enqueued_at), enqueued.get(&w.id), "overflow keeps the enqueue time");
                }
            }
        }
        // With every agent available and time passing, everything waiting gets
        // routed, unless everyone serving its queue is busy.
        for a in 0..4u128 {
            r.handle(now, Input::SetPresence { agent: Uuid::from_u128(a), presence: Presence::Available }).unwrap();
        }
        now += Duration::from_secs(120);
        r.handle_timeout(now);
        for name in names {
            let waiting = r.waiting_in(name);
            let offered = waiting.iter().any(|w| r.offers.values().any(|o| o.item == w.id));
            let occupied = r.agents.values().filter(|a| a.profile.queues.iter().any(|q| q == name)).all(|a| !a.active.is_empty() || a.wrap_until.is_some() || a.presence != Presence::Available || !a.offered.is_empty());
            prop_assert!(waiting.is_empty() || offered || occupied, "{name}: items wait while an agent is free");
        }
    }
}

fn setup_with(t0: Instant, strategy: Pick, agents: &[AgentProfile]) -> Router {
    let mut r = setup(t0, agents);
    let mut q = QueueConfig::named("support");
    q.wrap_up_seconds = 0;
    q.strategy = strategy;
    r.handle(t0, Input::UpsertQueue(q)).unwrap();
    drain(&mut r);
    r
}

/// Enqueues chat `n` at `at`, has its offer accepted, returns the agent.
fn chat_taken(r: &mut Router, n: u128, at: Instant) -> Uuid {
    r.handle(at, Input::Enqueue(item(n, Channel::Chat, at, &[])))
        .unwrap();
    let (offer, _, agent) = offers(&drain(r))[0];
    r.handle(at, Input::Accept { offer, agent }).unwrap();
    drain(r);
    agent
}

#[test]
fn round_robin_offers_each_agent_in_turn() {
    let t0 = Instant::now();
    let agents = [
        agent(1, &[], 1, 4),
        agent(2, &[], 1, 4),
        agent(3, &[], 1, 4),
    ];
    let mut r = setup_with(t0, Pick::RoundRobin, &agents);
    let order: Vec<u128> = (1..=6)
        .map(|n| chat_taken(&mut r, n, t0 + Duration::from_secs(n as u64)).as_u128())
        .collect();
    assert_eq!(order, [1, 2, 3, 1, 2, 3]);
}

#[test]
fn least_occupied_beats_longest_idle_for_chats() {
    let t0 = Instant::now();
    let at = |s: u64| t0 + Duration::from_secs(s);
    let agents = [agent(1, &[], 1, 4), agent(2, &[], 1, 4)];
    for (strategy, expected) in [(Pick::LeastOccupied, 1), (Pick::LongestIdle, 2)] {
        let mut r = setup_with(t0, strategy, &agents);
        // Agent 1 takes two chats, agent 2 one; then agent 1 finishes both:
        // agent 1 has none in hand but was busy last, agent 2 has one.
        let mut by = BTreeMap::new();
        for n in 1..=3 {
            let a = chat_taken(&mut r, n, at(n as u64));
            by.entry(a.as_u128()).or_insert_with(Vec::new).push(n);
        }
        let (busy, other) = if by.get(&1).map(Vec::len) == Some(2) {
            (1, 2)
        } else {
            (2, 1)
        };
        for n in by[&busy].clone() {
            r.handle(
                at(10 + n as u64),
                Input::Finish {
                    item: Uuid::from_u128(1000 + n),
                },
            )
            .unwrap();
        }
        drain(&mut r);
        let next = chat_taken(&mut r, 9, at(20)).as_u128();
        let want = if expected == 1 { busy } else { other };
        assert_eq!(next, want, "{strategy:?}");
    }
}

#[test]
fn place_counts_items_ahead_and_estimates_the_wait() {
    let t0 = Instant::now();
    let mut r = setup(t0, &[agent(1, &[], 1, 1), agent(2, &[], 1, 1)]);
    for n in 1..=2 {
        r.handle(
            t0,
            Input::SetPresence {
                agent: Uuid::from_u128(n),
                presence: Presence::Away { reason: "x".into() },
            },
        )
        .unwrap();
    }
    for n in 1..=3 {
        let at = t0 + Duration::from_secs(n as u64);
        r.handle(at, Input::Enqueue(item(n, Channel::Voice, at, &[])))
            .unwrap();
    }
    let mut urgent = item(4, Channel::Voice, t0 + Duration::from_secs(4), &[]);
    urgent.priority = 5;
    r.handle(t0 + Duration::from_secs(4), Input::Enqueue(urgent))
        .unwrap();
    drain(&mut r);
    let now = t0 + Duration::from_secs(5);
    let place = |r: &Router, n: u128| r.place(Uuid::from_u128(1000 + n)).unwrap();
    assert_eq!(place(&r, 4).position, 1, "higher priority goes first");
    assert_eq!(place(&r, 1).position, 2);
    assert_eq!(place(&r, 3).position, 4);
    assert_eq!(
        place(&r, 3).estimated_wait_seconds,
        None,
        "nobody staffs the queue"
    );
    r.handle(
        now,
        Input::SetPresence {
            agent: Uuid::from_u128(1),
            presence: Presence::Available,
        },
    )
    .unwrap();
    drain(&mut r);
    // Agent 1 staffs the queue (the first item is offered to them), agent 2 is
    // away; before any answer each item counts 30 s.
    let p = place(&r, 3);
    assert_eq!(p.estimated_wait_seconds, Some(p.position as u64 * 30));
    assert!(r.place(Uuid::from_u128(999)).is_none());
}
