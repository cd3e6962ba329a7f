//! Routing engine benchmark: the latency of one routing decision with 1,000 items
//! waiting and 500 agents, and sustained assignments per second.
//! `cargo bench --bench routing`

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use switchboard::routing::engine::{Input, Output, Router};
use switchboard::routing::model::{
    AgentProfile, Capacity, Channel, Presence, QueueConfig, WorkItem,
};
use uuid::Uuid;

fn agent(i: u128) -> AgentProfile {
    AgentProfile {
        id: Uuid::from_u128(i),
        name: format!("agent{i}"),
        skills: BTreeMap::from([
            ("billing".to_string(), (i % 5 + 1) as u8),
            ("zh".to_string(), 3),
        ]),
        languages: vec!["zh".into(), "en".into()],
        queues: vec!["support".into()],
        capacity: Capacity {
            voice: 1,
            chat: 2,
            email: 1,
            social: 1,
            voice_blocks_text: true,
        },
    }
}

fn item(n: u128, at: Instant, skill: u8) -> WorkItem {
    WorkItem {
        id: Uuid::from_u128(1_000_000 + n),
        channel: if n.is_multiple_of(3) {
            Channel::Voice
        } else {
            Channel::Chat
        },
        customer_id: Uuid::from_u128(n),
        queue: "support".into(),
        priority: (n % 3) as i32,
        skills: BTreeMap::from([("billing".to_string(), skill)]),
        language: None,
        enqueued_at: at,
        preferred_agent: None,
        sticky_until: None,
        reserved: false,
        caller_on_line: false,
    }
}

fn router(t0: Instant, agents: u128) -> Router {
    let mut r = Router::new();
    r.handle(t0, Input::UpsertQueue(QueueConfig::named("support")))
        .unwrap();
    for i in 0..agents {
        r.handle(t0, Input::UpsertAgent(agent(i))).unwrap();
        r.handle(
            t0,
            Input::SetPresence {
                agent: Uuid::from_u128(i),
                presence: Presence::Available,
            },
        )
        .unwrap();
    }
    while r.poll_output().is_some() {}
    r
}

fn main() {
    let t0 = Instant::now();
    // Decision latency: every agent is busy up to capacity, 1,000 items wait; then
    // one agent frees a slot and the engine picks the best item for it.
    let mut r = router(t0, 500);
    let mut n = 0u128;
    let mut offers = Vec::new();
    while n < 3000 {
        n += 1;
        r.handle(t0, Input::Enqueue(item(n, t0, 2))).unwrap();
        while let Some(o) = r.poll_output() {
            if let Output::Offer { offer, agent, .. } = o {
                offers.push((offer, agent));
            }
        }
    }
    for (offer, agent) in offers.drain(..) {
        let _ = r.handle(t0, Input::Accept { offer, agent });
    }
    while r.poll_output().is_some() {}
    let waiting = r.waiting_in("support").len();
    let mut times = Vec::new();
    let mut now = t0 + Duration::from_secs(1);
    for k in 0..500u128 {
        now += Duration::from_millis(1);
        let busy = (0..3000u128)
            .map(|i| Uuid::from_u128(1_000_001 + i))
            .find(|id| r.is_assigned(*id) == Some(Uuid::from_u128(k)));
        let Some(busy) = busy else { continue };
        let start = Instant::now();
        r.handle(now, Input::Finish { item: busy }).unwrap();
        r.handle(
            now,
            Input::EndWrapUp {
                agent: Uuid::from_u128(k),
            },
        )
        .unwrap();
        times.push(start.elapsed());
        while r.poll_output().is_some() {}
    }
    times.sort();
    let p = |q: f64| times[((times.len() as f64 - 1.0) * q) as usize];
    println!(
        "decision with {waiting} waiting and 500 agents: p50 {:?}, p99 {:?} ({} samples)",
        p(0.5),
        p(0.99),
        times.len()
    );

    // Throughput: enqueue → offer → accept → finish, one item at a time.
    let mut r = router(t0, 500);
    let total = 50_000u128;
    let start = Instant::now();
    let mut now = t0;
    for i in 0..total {
        now += Duration::from_micros(50);
        r.handle(now, Input::Enqueue(item(10_000_000 + i, now, 1)))
            .unwrap();
        let mut offered = None;
        while let Some(o) = r.poll_output() {
            if let Output::Offer {
                offer, agent, item, ..
            } = o
            {
                offered = Some((offer, agent, item.id));
            }
        }
        let (offer, agent, id) = offered.expect("an agent is free");
        r.handle(now, Input::Accept { offer, agent }).unwrap();
        r.handle(now, Input::Finish { item: id }).unwrap();
        r.handle(now, Input::EndWrapUp { agent }).unwrap();
        while r.poll_output().is_some() {}
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "sustained: {total} assignments in {secs:.2} s = {:.0} assignments/s",
        total as f64 / secs
    );
}
