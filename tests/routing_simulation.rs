//! A day of routing in virtual time: 10,000 mixed voice and chat items, 500
//! agents with varied skills, languages and capacities, arrivals and handle
//! times drawn from distributions (seeded, so every run is the same), agents
//! who answer after a while, sometimes reject or miss an offer, and callers
//! who hang up when they wait too long. The engine is driven exactly as the
//! server's actor drives it (`handle`, `handle_timeout` at `poll_timeout`,
//! `poll_output`). The test checks that every item ends answered or abandoned
//! or overflowed on, that the engine's invariants hold throughout, and that
//! equivalent agents get a fair share; it reports service level, occupancy and
//! fairness on stdout and in `artifacts/routing_simulation.txt`.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use switchboard::routing::engine::{Input, Output, Router, RoutingError};
use switchboard::routing::model::{
    AgentProfile, Capacity, Channel, Overflow, Presence, QueueConfig, Strategy, WorkItem,
};
use uuid::Uuid;

const ITEMS: usize = 10_000;
const AGENTS: usize = 500;
/// Agent profiles: agents with the same class number are equivalent.
const CLASSES: usize = 10;
/// Items per second arriving: enough to keep agents busy about 90% of the time.
const ARRIVALS_PER_SECOND: f64 = 3.5;
const SL_SECONDS: u64 = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Arrive(usize),
    /// The customer gives up if still waiting.
    Abandon(usize),
    Answer {
        offer: Uuid,
        agent: usize,
        accept: bool,
    },
    Finish(usize),
    /// An agent set away for missed offers comes back.
    Return(usize),
}

struct Sim {
    t0: Instant,
    rng: StdRng,
    router: Router,
    events: BinaryHeap<Reverse<(Duration, u64, Event)>>,
    seq: u64,
    items: Vec<Item>,
    agents: Vec<AgentLog>,
    by_item: HashMap<Uuid, usize>,
    by_agent: HashMap<Uuid, usize>,
    counts: BTreeMap<&'static str, u64>,
    /// When the last item arrived.
    window: Duration,
}

#[derive(Default, Clone)]
struct Item {
    channel: Option<Channel>,
    arrived: Duration,
    answered: Option<Duration>,
    agent: Option<usize>,
    finished: bool,
    abandoned: bool,
    overflowed: bool,
}

#[derive(Default, Clone)]
struct AgentLog {
    class: usize,
    handled: u64,
    in_hand: u32,
    busy_since: Option<Duration>,
    busy: Duration,
    /// `busy` when the last item arrived: occupancy is over the arrival window.
    busy_in_window: Option<Duration>,
}

fn exp(rng: &mut StdRng, mean: f64) -> f64 {
    -mean * (1.0 - rng.random::<f64>()).ln()
}

fn agent_profile(i: usize) -> AgentProfile {
    let class = i % CLASSES;
    let mut queues = vec!["support".to_string()];
    if class.is_multiple_of(2) {
        queues.push("sales".into());
    }
    AgentProfile {
        id: Uuid::from_u128(i as u128 + 1),
        name: format!("agent{i}"),
        skills: BTreeMap::from([
            ("billing".to_string(), (class % 5 + 1) as u8),
            ("tech".to_string(), (5 - class % 5) as u8),
        ]),
        languages: if class < 5 {
            vec!["zh".into(), "en".into()]
        } else {
            vec!["en".into()]
        },
        queues,
        capacity: Capacity {
            voice: 1,
            chat: (1 + class % 4) as u8,
            email: 0,
            social: 0,
            voice_blocks_text: !class.is_multiple_of(3),
        },
    }
}

fn queues() -> Vec<QueueConfig> {
    let mut support = QueueConfig::named("support");
    support.wrap_up_seconds = 10;
    support.sl_seconds = SL_SECONDS as u32;
    let mut sales = QueueConfig::named("sales");
    sales.strategy = Strategy::LongestIdle;
    sales.wrap_up_seconds = 5;
    sales.max_wait_seconds = Some(120);
    sales.overflow = Some(Overflow::Queue {
        queue: "support".into(),
    });
    vec![support, sales]
}

impl Sim {
    fn new(seed: u64) -> Sim {
        let t0 = Instant::now();
        let mut router = Router::new();
        for q in queues() {
            router.handle(t0, Input::UpsertQueue(q)).unwrap();
        }
        let mut by_agent = HashMap::new();
        let mut agents = vec![];
        for i in 0..AGENTS {
            let p = agent_profile(i);
            by_agent.insert(p.id, i);
            agents.push(AgentLog {
                class: i % CLASSES,
                ..AgentLog::default()
            });
            let id = p.id;
            router.handle(t0, Input::UpsertAgent(p)).unwrap();
            router
                .handle(
                    t0,
                    Input::SetPresence {
                        agent: id,
                        presence: Presence::Available,
                    },
                )
                .unwrap();
        }
        while router.poll_output().is_some() {}
        let mut sim = Sim {
            t0,
            rng: StdRng::seed_from_u64(seed),
            router,
            events: BinaryHeap::new(),
            seq: 0,
            items: vec![Item::default(); ITEMS],
            agents,
            by_item: HashMap::new(),
            by_agent,
            counts: BTreeMap::new(),
            window: Duration::ZERO,
        };
        let mut at = 0.0;
        for n in 0..ITEMS {
            at += exp(&mut sim.rng, 1.0 / ARRIVALS_PER_SECOND);
            sim.at(Duration::from_secs_f64(at), Event::Arrive(n));
        }
        sim
    }

    fn at(&mut self, when: Duration, e: Event) {
        self.seq += 1;
        self.events.push(Reverse((when, self.seq, e)));
    }

    fn count(&mut self, what: &'static str) {
        *self.counts.entry(what).or_default() += 1;
    }

    fn work_item(&mut self, n: usize, now: Duration) -> WorkItem {
        let voice = self.rng.random_bool(0.5);
        let sales = self.rng.random_bool(0.3);
        let mut skills = BTreeMap::new();
        if !sales {
            let skill = if self.rng.random_bool(0.5) {
                "billing"
            } else {
                "tech"
            };
            skills.insert(skill.to_string(), self.rng.random_range(2..=4));
        }
        WorkItem {
            id: Uuid::from_u128(1_000_000 + n as u128),
            channel: if voice { Channel::Voice } else { Channel::Chat },
            customer_id: Uuid::from_u128(2_000_000 + n as u128),
            queue: if sales { "sales" } else { "support" }.into(),
            priority: i32::from(self.rng.random_bool(0.1)),
            skills,
            language: self.rng.random_bool(0.3).then(|| "zh".to_string()),
            enqueued_at: self.t0 + now,
            preferred_agent: None,
            sticky_until: None,
            reserved: false,
            caller_on_line: voice,
        }
    }

    /// Runs the day to its end; returns the virtual time it took.
    fn run(&mut self) -> Duration {
        let mut now = Duration::ZERO;
        let mut steps = 0u64;
        while let Some(Reverse((when, _, event))) = self.events.pop() {
            // The engine's own changes (offer timeouts, wrap-ups ending, skills
            // relaxing, overflows) due before this event happen first.
            while let Some(due) = self.router.poll_timeout() {
                let due = due.saturating_duration_since(self.t0);
                if due > when {
                    break;
                }
                now = now.max(due);
                self.router.handle_timeout(self.t0 + now);
                self.outputs(now);
            }
            now = now.max(when);
            self.event(now, event);
            self.outputs(now);
            steps += 1;
            if steps.is_multiple_of(1000) {
                self.router.check_invariants().expect("invariants");
            }
        }
        self.router
            .check_invariants()
            .expect("invariants at the end");
        now
    }

    fn event(&mut self, now: Duration, event: Event) {
        let t = self.t0 + now;
        match event {
            Event::Arrive(n) => {
                let item = self.work_item(n, now);
                self.by_item.insert(item.id, n);
                self.items[n].channel = Some(item.channel);
                self.items[n].arrived = now;
                let patience = if item.channel == Channel::Voice {
                    150.0
                } else {
                    900.0
                };
                let give_up = Duration::from_secs_f64(exp(&mut self.rng, patience));
                self.at(now + give_up, Event::Abandon(n));
                self.router.handle(t, Input::Enqueue(item)).unwrap();
                if n + 1 == ITEMS {
                    self.window_closes(now);
                }
            }
            Event::Abandon(n) => {
                let id = Uuid::from_u128(1_000_000 + n as u128);
                if self.router.waiting_item(id).is_some() {
                    self.router.handle(t, Input::Cancel { item: id }).unwrap();
                }
            }
            Event::Answer {
                offer,
                agent,
                accept,
            } => {
                let agent = Uuid::from_u128(agent as u128 + 1);
                let input = if accept {
                    Input::Accept { offer, agent }
                } else {
                    Input::Reject { offer, agent }
                };
                match self.router.handle(t, input) {
                    Ok(()) => {}
                    // Withdrawn meanwhile (the caller hung up, it overflowed).
                    Err(RoutingError::OfferGone) => self.count("answers to a withdrawn offer"),
                    Err(e) => panic!("answer refused: {e}"),
                }
            }
            Event::Finish(n) => {
                let id = Uuid::from_u128(1_000_000 + n as u128);
                self.router.handle(t, Input::Finish { item: id }).unwrap();
                self.items[n].finished = true;
                if let Some(a) = self.items[n].agent {
                    let log = &mut self.agents[a];
                    log.in_hand -= 1;
                    if log.in_hand == 0
                        && let Some(since) = log.busy_since.take()
                    {
                        log.busy += now - since;
                    }
                }
            }
            Event::Return(a) => {
                let agent = Uuid::from_u128(a as u128 + 1);
                let presence = Presence::Available;
                self.router
                    .handle(t, Input::SetPresence { agent, presence })
                    .unwrap();
            }
        }
    }

    fn outputs(&mut self, now: Duration) {
        while let Some(out) = self.router.poll_output() {
            match out {
                Output::Offer { offer, agent, .. } => self.offered(now, offer, agent),
                Output::Assigned { item, agent, .. } => self.assigned(now, item, agent),
                Output::Abandoned { item } => {
                    self.items[self.by_item[&item]].abandoned = true;
                    self.count("abandoned");
                }
                Output::Overflowed { item, .. } => {
                    self.items[self.by_item[&item]].overflowed = true;
                    self.count("overflowed");
                }
                Output::Withdrawn { .. } => self.count("offers withdrawn"),
                Output::AgentChanged { agent, status } => {
                    let a = self.by_agent[&agent];
                    if matches!(
                        status,
                        switchboard::routing::engine::AgentStatus::Away { .. }
                    ) {
                        self.count("agents set away for missed offers");
                        self.at(now + Duration::from_secs(60), Event::Return(a));
                    }
                }
                Output::Requeued { .. } => self.count("requeued"),
            }
        }
    }

    /// The agent answers after a few seconds: mostly accepts, sometimes
    /// rejects, and now and then does not answer at all (the offer times out).
    fn offered(&mut self, now: Duration, offer: Uuid, agent: Uuid) {
        self.count("offers");
        let a = self.by_agent[&agent];
        let roll: f64 = self.rng.random();
        if roll < 0.01 {
            self.count("offers left unanswered");
            return;
        }
        let accept = roll >= 0.03;
        let delay = Duration::from_secs_f64(self.rng.random_range(1.0..6.0));
        self.at(
            now + delay,
            Event::Answer {
                offer,
                agent: a,
                accept,
            },
        );
    }

    fn assigned(&mut self, now: Duration, item: Uuid, agent: Uuid) {
        let n = self.by_item[&item];
        let a = self.by_agent[&agent];
        self.items[n].answered = Some(now);
        self.items[n].agent = Some(a);
        let log = &mut self.agents[a];
        log.handled += 1;
        if log.in_hand == 0 {
            log.busy_since = Some(now);
        }
        log.in_hand += 1;
        let voice = self.items[n].channel == Some(Channel::Voice);
        let mean = if voice { 240.0 } else { 420.0 };
        let handle = 20.0 + exp(&mut self.rng, mean);
        self.at(now + Duration::from_secs_f64(handle), Event::Finish(n));
    }

    fn window_closes(&mut self, now: Duration) {
        self.window = now;
        for log in &mut self.agents {
            let open = log.busy_since.map_or(Duration::ZERO, |since| now - since);
            log.busy_in_window = Some(log.busy + open);
        }
    }

    fn nothing_left_in_hand(&self) {
        for log in &self.agents {
            assert_eq!(log.in_hand, 0, "an item left in an agent's hands");
        }
    }
}

/// Spread of handled counts among equivalent agents: (mean, coefficient of
/// variation, min, max) per class.
fn fairness(agents: &[AgentLog]) -> Vec<(usize, f64, f64, u64, u64)> {
    (0..CLASSES)
        .map(|c| {
            let counts: Vec<u64> = agents
                .iter()
                .filter(|a| a.class == c)
                .map(|a| a.handled)
                .collect();
            let mean = counts.iter().sum::<u64>() as f64 / counts.len() as f64;
            let var = counts
                .iter()
                .map(|x| (*x as f64 - mean).powi(2))
                .sum::<f64>()
                / counts.len() as f64;
            let cv = if mean > 0.0 { var.sqrt() / mean } else { 0.0 };
            let min = *counts.iter().min().unwrap();
            let max = *counts.iter().max().unwrap();
            (c, mean, cv, min, max)
        })
        .collect()
}

#[test]
fn a_day_of_ten_thousand_items_and_five_hundred_agents() {
    let mut sim = Sim::new(20261201);
    let end = sim.run();
    sim.nothing_left_in_hand();

    // Every item ended: answered and finished, or abandoned.
    for (n, it) in sim.items.iter().enumerate() {
        assert!(
            (it.answered.is_some() && it.finished) || (it.abandoned && it.answered.is_none()),
            "item {n} never ended: answered {:?}, finished {}, abandoned {}",
            it.answered,
            it.finished,
            it.abandoned
        );
    }
    for a in 0..AGENTS {
        let id = Uuid::from_u128(a as u128 + 1);
        assert!(
            sim.router.offers_for(id).is_empty(),
            "agent {a} left with an offer"
        );
    }

    let answered: Vec<Duration> = sim
        .items
        .iter()
        .filter_map(|i| i.answered.map(|at| at - i.arrived))
        .collect();
    let abandoned = sim.items.iter().filter(|i| i.abandoned).count();
    let in_sl = answered
        .iter()
        .filter(|w| w.as_secs() <= SL_SECONDS)
        .count();
    let sl = 100.0 * in_sl as f64 / ITEMS as f64;
    let sl_answered = 100.0 * in_sl as f64 / answered.len() as f64;
    let mut waits: Vec<f64> = answered.iter().map(|d| d.as_secs_f64()).collect();
    waits.sort_by(f64::total_cmp);
    let pct = |q: f64| waits[((waits.len() - 1) as f64 * q) as usize];
    let occupancy: Vec<f64> = sim
        .agents
        .iter()
        .map(|a| a.busy_in_window.unwrap_or_default().as_secs_f64() / sim.window.as_secs_f64())
        .collect();
    let mean_occupancy = 100.0 * occupancy.iter().sum::<f64>() / occupancy.len() as f64;
    let fair = fairness(&sim.agents);

    let mut report = String::new();
    let _ = writeln!(
        report,
        "routing simulation: {ITEMS} items (voice and chat), {AGENTS} agents in {CLASSES} classes, arriving over {:.0} min of virtual time (all done after {:.0} min)",
        sim.window.as_secs_f64() / 60.0,
        end.as_secs_f64() / 60.0
    );
    let _ = writeln!(
        report,
        "answered {} · abandoned {abandoned} · service level {sl:.1}% of all items ({sl_answered:.1}% of answered) within {SL_SECONDS} s",
        answered.len()
    );
    let _ = writeln!(
        report,
        "wait to answer: p50 {:.1} s, p90 {:.1} s, p99 {:.1} s, max {:.1} s",
        pct(0.5),
        pct(0.9),
        pct(0.99),
        pct(1.0)
    );
    let _ = writeln!(
        report,
        "agent occupancy (time with work in hand while items arrive): mean {mean_occupancy:.1}%"
    );
    for (what, n) in &sim.counts {
        let _ = writeln!(report, "{what}: {n}");
    }
    let _ = writeln!(
        report,
        "fairness, handled per agent among equivalent agents:"
    );
    for (c, mean, cv, min, max) in &fair {
        let _ = writeln!(
            report,
            "  class {c}: mean {mean:.1}, coefficient of variation {cv:.3} (chance alone, as Poisson: {:.3}), min {min}, max {max}",
            1.0 / mean.sqrt()
        );
    }
    println!("{report}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join("routing_simulation.txt"), &report);

    assert!(answered.len() + abandoned == ITEMS);
    assert!(sl > 50.0, "service level {sl:.1}%");
    assert!(mean_occupancy > 40.0, "occupancy {mean_occupancy:.1}%");
    for (c, mean, cv, _, _) in &fair {
        assert!(*mean > 1.0, "class {c} got no work");
        assert!(
            *cv < 0.35,
            "class {c}: handled counts spread too far (cv {cv:.3})"
        );
    }
}
