//! Helpers for the routing engine's tests: agents, items and a router with the
//! `support` queue in virtual time.

use std::collections::BTreeMap;
use std::time::Instant;

use uuid::Uuid;

use super::engine::{Input, Output, Router};
use super::model::{AgentProfile, Capacity, Channel, Presence, QueueConfig, WorkItem};

pub fn agent(n: u128, skills: &[(&str, u8)], voice: u8, chat: u8) -> AgentProfile {
    AgentProfile {
        id: Uuid::from_u128(n),
        name: format!("agent{n}"),
        skills: skills.iter().map(|(s, p)| (s.to_string(), *p)).collect(),
        languages: vec![],
        queues: vec!["support".into()],
        capacity: Capacity {
            voice,
            chat,
            email: 1,
            social: 1,
            voice_blocks_text: true,
        },
    }
}

pub fn item(n: u128, channel: Channel, at: Instant, skills: &[(&str, u8)]) -> WorkItem {
    WorkItem {
        id: Uuid::from_u128(1000 + n),
        channel,
        customer_id: Uuid::from_u128(5000 + n),
        queue: "support".into(),
        priority: 0,
        skills: skills
            .iter()
            .map(|(s, p)| (s.to_string(), *p))
            .collect::<BTreeMap<_, _>>(),
        language: None,
        enqueued_at: at,
        preferred_agent: None,
        sticky_until: None,
        reserved: false,
        caller_on_line: false,
    }
}

pub fn setup(t0: Instant, agents: &[AgentProfile]) -> Router {
    let mut r = Router::new();
    let mut q = QueueConfig::named("support");
    q.wrap_up_seconds = 10;
    r.handle(t0, Input::UpsertQueue(q)).unwrap();
    for a in agents {
        r.handle(t0, Input::UpsertAgent(a.clone())).unwrap();
        r.handle(
            t0,
            Input::SetPresence {
                agent: a.id,
                presence: Presence::Available,
            },
        )
        .unwrap();
    }
    drain(&mut r);
    r
}

pub fn drain(r: &mut Router) -> Vec<Output> {
    std::iter::from_fn(|| r.poll_output()).collect()
}

pub fn offers(out: &[Output]) -> Vec<(Uuid, Uuid, Uuid)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Offer {
                offer, item, agent, ..
            } => Some((*offer, item.id, *agent)),
            _ => None,
        })
        .collect()
}
