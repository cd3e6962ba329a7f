//! The routing core: a deterministic state machine over queues, agents and work
//! items. It never reads a clock or touches IO.
//!
//! How to drive it: apply commands with `handle(now, Input)`, call
//! `handle_timeout(now)` when `poll_timeout()` is due, and after each call drain
//! `poll_output()` (offers, withdrawals, assignments, overflows, agent state
//! changes). Every change re-runs routing, so an item is offered as soon as an
//! agent can take it. Overflow past a queue's longest wait is in `overflow.rs`,
//! ringing every agent at once for a ring-all call in `ring_all.rs`, the
//! invariants the property tests check in `invariants.rs`, choosing the agent
//! by the queue's strategy in `pick.rs`, the serving order in `order.rs`.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::agent::AgentState;
pub use super::agent::AgentStatus;
use super::agent::channel_bit;
use super::model::{AgentProfile, Channel, Overflow, Presence, QueueConfig, WorkItem};
use super::order::WaitingSet;
use super::pick::Unable;
use super::stats::QueueCounters;

/// Offers an agent may miss in a row before being set away.
pub const MAX_MISSED: u32 = 2;

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    UpsertQueue(QueueConfig),
    UpsertAgent(AgentProfile),
    SetPresence {
        agent: Uuid,
        presence: Presence,
    },
    /// The agent's connection is gone: offers are withdrawn, active items re-queued.
    AgentDisconnected {
        agent: Uuid,
    },
    Enqueue(WorkItem),
    /// The customer left (hung up, closed the chat) before being served.
    Cancel {
        item: Uuid,
    },
    Accept {
        offer: Uuid,
        agent: Uuid,
    },
    Reject {
        offer: Uuid,
        agent: Uuid,
    },
    /// The agent is done with an item; wrap-up starts.
    Finish {
        item: Uuid,
    },
    EndWrapUp {
        agent: Uuid,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    Offer {
        offer: Uuid,
        item: WorkItem,
        agent: Uuid,
        expires_at: Instant,
    },
    Withdrawn {
        offer: Uuid,
        item: Uuid,
        agent: Uuid,
        reason: WithdrawReason,
    },
    Assigned {
        item: Uuid,
        agent: Uuid,
        channel: Channel,
    },
    /// An item went back to its queue (its agent disconnected), keeping its place.
    Requeued {
        item: Uuid,
    },
    /// An item waited its queue's longest wait: it moved to another queue
    /// (keeping its enqueue time), or, for a call, left the line for voicemail
    /// or a callback (routing is done with it then).
    Overflowed {
        item: Uuid,
        from: String,
        action: Overflow,
        /// Since its enqueue time, when it overflowed.
        waited: Duration,
    },
    Abandoned {
        item: Uuid,
    },
    AgentChanged {
        agent: Uuid,
        status: AgentStatus,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithdrawReason {
    Timeout,
    Rejected,
    Cancelled,
    AgentGone,
    /// Another agent accepted the ring-all call first.
    TakenByOther,
    /// The item overflowed out of the queue.
    Overflowed,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RoutingError {
    #[error("unknown queue `{0}`")]
    UnknownQueue(String),
    #[error("unknown agent {0}")]
    UnknownAgent(Uuid),
    #[error("the offer is gone (taken, withdrawn or expired)")]
    OfferGone,
    #[error("that offer belongs to another agent")]
    NotYourOffer,
    #[error("unknown work item {0}")]
    UnknownItem(Uuid),
    #[error("work item {0} is already queued or assigned")]
    Duplicate(Uuid),
    #[error("skill `{0}` must be 1 to 5")]
    BadSkill(String),
    #[error("queue `{0}`: {1}")]
    BadQueue(String, super::model::QueueConfigError),
}

#[derive(Debug, Clone)]
pub(super) struct Offer {
    pub(super) item: Uuid,
    pub(super) agent: Uuid,
    pub(super) expires_at: Instant,
}

#[derive(Debug, Clone)]
pub(super) struct Waiting {
    pub(super) item: WorkItem,
    /// Offers out for the item: at most one, except for a ring-all call, which
    /// has one per agent it rings.
    pub(super) offers: Vec<Uuid>,
    /// Agents who rejected or missed this item, not offered it again until then.
    pub(super) passed_by: BTreeMap<Uuid, Instant>,
    /// When the item joined its current queue; its longest wait counts from here.
    pub(super) since: Instant,
    /// The queues it has waited in, the current one too: it never overflows
    /// into one of them again, so overflow cycles end.
    pub(super) visited: Vec<String>,
    /// Its offers went out by ring-all (they stay out if the queue changes
    /// strategy meanwhile).
    pub(super) rang_all: bool,
    /// Its kind, numbered by the `WaitingSet` (`order.rs`).
    pub(super) kind: u32,
}

impl Waiting {
    pub(super) fn new(item: WorkItem, since: Instant) -> Waiting {
        Waiting {
            visited: vec![item.queue.clone()],
            item,
            offers: vec![],
            passed_by: BTreeMap::new(),
            since,
            rang_all: false,
            kind: 0,
        }
    }
}

#[derive(Default)]
pub struct Router {
    pub(super) queues: BTreeMap<String, QueueConfig>,
    pub(super) counters: HashMap<String, QueueCounters>,
    pub(super) agents: HashMap<Uuid, AgentState>,
    pub(super) waiting: WaitingSet,
    pub(super) assigned: HashMap<Uuid, (Uuid, WorkItem)>,
    pub(super) offers: HashMap<Uuid, Offer>,
    pub(super) out: VecDeque<Output>,
    /// The latest `now` seen, so self-timed changes already passed are not reported.
    last_now: Option<Instant>,
    /// Per queue, the agent last offered an item (round robin).
    pub(super) last_offered: HashMap<String, Uuid>,
}

impl Router {
    pub fn new() -> Router {
        Router::default()
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The next instant something changes by itself: an offer expires, a wrap-up
    /// ends, a waiting item overflows, its skill requirement relaxes, or its
    /// reservation for one agent ends.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let offers = self.offers.values().map(|o| o.expires_at);
        let overflows = self.waiting.values().filter_map(|w| self.overflow_at(w));
        let wraps = self.agents.values().filter_map(|a| a.wrap_until);
        let after = |t: &Instant| self.last_now.is_none_or(|n| *t > n);
        let relax = self
            .waiting
            .values()
            .filter_map(|w| self.next_relax(&w.item));
        let passes = self
            .waiting
            .values()
            .flat_map(|w| w.passed_by.values().copied());
        // A reservation's end lets everyone else have the item.
        let reservations = self
            .waiting
            .values()
            .filter(|w| w.item.reserved)
            .filter_map(|w| w.item.sticky_until);
        offers
            .chain(wraps)
            .chain(overflows)
            .chain(relax.chain(passes).chain(reservations).filter(after))
            .min()
    }

    pub fn handle(&mut self, now: Instant, input: Input) -> Result<(), RoutingError> {
        self.last_now = Some(self.last_now.map_or(now, |n| n.max(now)));
        self.apply(now, input)?;
        self.overflow_due(now);
        self.route(now);
        Ok(())
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        self.last_now = Some(self.last_now.map_or(now, |n| n.max(now)));
        let expired: Vec<Uuid> = self
            .offers
            .iter()
            .filter(|(_, o)| o.expires_at <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            self.missed(id);
        }
        let ending: Vec<Uuid> = self
            .agents
            .values()
            .filter(|a| a.wrap_until.is_some_and(|t| t <= now))
            .map(|a| a.profile.id)
            .collect();
        for id in ending {
            self.end_wrap_up(id);
        }
        self.overflow_due(now);
        self.route(now);
    }

    fn apply(&mut self, now: Instant, input: Input) -> Result<(), RoutingError> {
        match input {
            Input::UpsertQueue(q) => {
                let known: Vec<String> = self.queues.keys().cloned().collect();
                q.validate(&known)
                    .map_err(|e| RoutingError::BadQueue(q.name.clone(), e))?;
                self.counters.entry(q.name.clone()).or_default();
                self.queues.insert(q.name.clone(), q);
            }
            Input::UpsertAgent(p) => self.upsert_agent(p)?,
            Input::SetPresence { agent, presence } => self.set_presence(agent, presence)?,
            Input::AgentDisconnected { agent } => self.disconnected(now, agent)?,
            Input::Enqueue(item) => self.enqueue(item)?,
            Input::Cancel { item } => self.cancel(item)?,
            Input::Accept { offer, agent } => self.accept(now, offer, agent)?,
            Input::Reject { offer, agent } => self.reject(offer, agent)?,
            Input::Finish { item } => self.finish(now, item)?,
            Input::EndWrapUp { agent } => {
                self.agents
                    .get(&agent)
                    .ok_or(RoutingError::UnknownAgent(agent))?;
                self.end_wrap_up(agent);
            }
        }
        Ok(())
    }

    fn upsert_agent(&mut self, p: AgentProfile) -> Result<(), RoutingError> {
        if let Some((name, _)) = p.skills.iter().find(|(_, v)| !(1..=5).contains(*v)) {
            return Err(RoutingError::BadSkill(name.clone()));
        }
        match self.agents.get_mut(&p.id) {
            Some(a) => a.profile = p,
            None => {
                self.agents.insert(p.id, AgentState::new(p));
            }
        }
        Ok(())
    }

    fn set_presence(&mut self, agent: Uuid, presence: Presence) -> Result<(), RoutingError> {
        let a = self
            .agents
            .get_mut(&agent)
            .ok_or(RoutingError::UnknownAgent(agent))?;
        if presence == Presence::Available {
            a.missed = 0;
        }
        a.presence = presence;
        let leaving = a.presence != Presence::Available;
        if leaving {
            for offer in self.offers_of(agent) {
                self.withdraw(offer, WithdrawReason::AgentGone);
            }
        }
        self.announce(agent);
        Ok(())
    }

    fn disconnected(&mut self, now: Instant, agent: Uuid) -> Result<(), RoutingError> {
        self.agents
            .get(&agent)
            .ok_or(RoutingError::UnknownAgent(agent))?;
        for offer in self.offers_of(agent) {
            self.withdraw(offer, WithdrawReason::AgentGone);
        }
        let active: Vec<Uuid> = self
            .assigned
            .iter()
            .filter(|(_, (a, _))| *a == agent)
            .map(|(i, _)| *i)
            .collect();
        for id in active {
            if let Some((_, item)) = self.assigned.remove(&id) {
                // Its place is kept (enqueue time); its longest wait starts anew.
                self.waiting.insert(id, Waiting::new(item, now));
                self.out.push_back(Output::Requeued { item: id });
            }
        }
        if let Some(a) = self.agents.get_mut(&agent) {
            a.active.clear();
            a.presence = Presence::Offline;
            a.wrap_until = None;
        }
        self.announce(agent);
        Ok(())
    }

    fn enqueue(&mut self, item: WorkItem) -> Result<(), RoutingError> {
        if !self.queues.contains_key(&item.queue) {
            return Err(RoutingError::UnknownQueue(item.queue.clone()));
        }
        if self.waiting.contains_key(&item.id) || self.assigned.contains_key(&item.id) {
            return Err(RoutingError::Duplicate(item.id));
        }
        self.counters.entry(item.queue.clone()).or_default().offered += 1;
        let since = item.enqueued_at;
        self.waiting.insert(item.id, Waiting::new(item, since));
        Ok(())
    }

    fn cancel(&mut self, id: Uuid) -> Result<(), RoutingError> {
        if let Some(offers) = self.waiting.get(&id).map(|w| w.offers.clone()) {
            for offer in offers {
                self.withdraw(offer, WithdrawReason::Cancelled);
            }
        }
        if let Some(w) = self.waiting.remove(&id) {
            self.counters
                .entry(w.item.queue.clone())
                .or_default()
                .abandoned += 1;
            self.out.push_back(Output::Abandoned { item: id });
            return Ok(());
        }
        if let Some((agent, _)) = self.assigned.remove(&id) {
            if let Some(a) = self.agents.get_mut(&agent) {
                a.active.retain(|(i, _)| *i != id);
            }
            self.announce(agent);
            return Ok(());
        }
        Err(RoutingError::UnknownItem(id))
    }

    fn accept(&mut self, now: Instant, offer_id: Uuid, agent: Uuid) -> Result<(), RoutingError> {
        let offer = self.offers.get(&offer_id).ok_or(RoutingError::OfferGone)?;
        if offer.agent != agent {
            return Err(RoutingError::NotYourOffer);
        }
        let offer = self
            .offers
            .remove(&offer_id)
            .ok_or(RoutingError::OfferGone)?;
        let w = self
            .waiting
            .remove(&offer.item)
            .ok_or(RoutingError::OfferGone)?;
        let wait = now.saturating_duration_since(w.item.enqueued_at);
        let counters = self.counters.entry(w.item.queue.clone()).or_default();
        let sl = self
            .queues
            .get(&w.item.queue)
            .map(|q| Duration::from_secs(u64::from(q.sl_seconds)))
            .unwrap_or(Duration::from_secs(20));
        counters.answered += 1;
        if wait <= sl {
            counters.answered_in_sl += 1;
        }
        counters.record_wait(wait);
        let channel = w.item.channel;
        // A ring-all call: the others stop ringing.
        for other in w.offers.iter().filter(|o| **o != offer_id) {
            self.withdraw_gone(*other, WithdrawReason::TakenByOther);
        }
        if let Some(a) = self.agents.get_mut(&agent) {
            a.offered.retain(|(o, _)| *o != offer_id);
            a.active.push((w.item.id, channel));
            a.missed = 0;
            a.last_assigned = Some(now);
            a.handled += 1;
        }
        self.out.push_back(Output::Assigned {
            item: w.item.id,
            agent,
            channel,
        });
        self.assigned.insert(w.item.id, (agent, w.item));
        self.announce(agent);
        Ok(())
    }

    fn reject(&mut self, offer_id: Uuid, agent: Uuid) -> Result<(), RoutingError> {
        let offer = self.offers.get(&offer_id).ok_or(RoutingError::OfferGone)?;
        if offer.agent != agent {
            return Err(RoutingError::NotYourOffer);
        }
        let (item, until) = (offer.item, offer.expires_at);
        self.withdraw(offer_id, WithdrawReason::Rejected);
        if let Some(w) = self.waiting.get_mut(&item) {
            w.passed_by.insert(agent, until);
        }
        Ok(())
    }

    fn finish(&mut self, now: Instant, id: Uuid) -> Result<(), RoutingError> {
        let (agent, item) = self
            .assigned
            .remove(&id)
            .ok_or(RoutingError::UnknownItem(id))?;
        let wrap = self
            .queues
            .get(&item.queue)
            .map(|q| Duration::from_secs(u64::from(q.wrap_up_seconds)))
            .unwrap_or_default();
        if let Some(a) = self.agents.get_mut(&agent) {
            a.active.retain(|(i, _)| *i != id);
            a.wrap_until = (!wrap.is_zero()).then_some(now + wrap);
        }
        self.announce(agent);
        Ok(())
    }

    fn end_wrap_up(&mut self, agent: Uuid) {
        if let Some(a) = self.agents.get_mut(&agent)
            && a.wrap_until.take().is_some()
        {
            self.announce(agent);
        }
    }

    /// An offer ran out: withdraw it, count the miss, and set the agent away after
    /// too many misses in a row.
    fn missed(&mut self, offer: Uuid) {
        let Some((agent, item, at)) = self
            .offers
            .get(&offer)
            .map(|o| (o.agent, o.item, o.expires_at))
        else {
            return;
        };
        self.withdraw(offer, WithdrawReason::Timeout);
        let pause = self
            .waiting
            .get(&item)
            .and_then(|w| self.queues.get(&w.item.queue))
            .map(QueueConfig::offer_timeout)
            .unwrap_or_default();
        if let Some(w) = self.waiting.get_mut(&item) {
            w.passed_by.insert(agent, at + pause);
        }
        let Some(a) = self.agents.get_mut(&agent) else {
            return;
        };
        a.missed += 1;
        if a.missed >= MAX_MISSED && a.presence == Presence::Available {
            a.presence = Presence::Away {
                reason: "missed".into(),
            };
            for other in self.offers_of(agent) {
                self.withdraw(other, WithdrawReason::AgentGone);
            }
            self.announce(agent);
        }
    }

    pub(super) fn withdraw(&mut self, offer_id: Uuid, reason: WithdrawReason) {
        if let Some(item) = self.offers.get(&offer_id).map(|o| o.item)
            && let Some(w) = self.waiting.get_mut(&item)
        {
            w.offers.retain(|o| *o != offer_id);
        }
        self.withdraw_gone(offer_id, reason);
    }

    /// Withdraws an offer whose item is no longer waiting (or is about to go).
    fn withdraw_gone(&mut self, offer_id: Uuid, reason: WithdrawReason) {
        let Some(o) = self.offers.remove(&offer_id) else {
            return;
        };
        if let Some(a) = self.agents.get_mut(&o.agent) {
            a.offered.retain(|(x, _)| *x != offer_id);
        }
        self.out.push_back(Output::Withdrawn {
            offer: offer_id,
            item: o.item,
            agent: o.agent,
            reason,
        });
        self.announce(o.agent);
    }

    fn offers_of(&self, agent: Uuid) -> Vec<Uuid> {
        self.agents
            .get(&agent)
            .map(|a| a.offered.iter().map(|(o, _)| *o).collect())
            .unwrap_or_default()
    }

    pub(super) fn announce(&mut self, agent: Uuid) {
        if let Some(a) = self.agents.get(&agent) {
            let status = a.status();
            self.out.push_back(Output::AgentChanged { agent, status });
        }
    }

    /// Offers every waiting item that some agent can take now, first served
    /// first (`order.rs`).
    fn route(&mut self, now: Instant) {
        let order: Vec<Uuid> = self
            .waiting
            .in_order()
            .filter(|w| w.offers.is_empty())
            .map(|w| w.item.id)
            .collect();
        if order.is_empty() {
            return;
        }
        // Which channels some agent has room on: items of the others are
        // skipped without looking for an agent. Worth it only with many items.
        let mut room = Room::new(self, order.len() > ROOM_CHECK_FROM);
        let mut unable = Unable::default();
        for id in order {
            if room.none() {
                break;
            }
            let Some(w) = self.waiting.get_mut(&id) else {
                continue;
            };
            if !room.on(w.item.channel) {
                continue;
            }
            w.passed_by.retain(|_, until| *until > now);
            let Some(w) = self.waiting.get(&id) else {
                continue;
            };
            let passed: BTreeSet<Uuid> = w.passed_by.keys().copied().collect();
            let sticky =
                w.item.preferred_agent.is_some() && w.item.sticky_until.is_some_and(|u| now < u);
            if sticky && w.item.reserved {
                // Held for one agent: theirs, or nobody's yet.
                let held_for = w.item.preferred_agent.filter(|a| !passed.contains(a));
                if held_for.is_some() {
                    if let Some(agent) = self.sticky_pick(&w.item, &passed, now) {
                        let mask = |r: &Router| r.agents.get(&agent).map_or(0, |a| a.room_mask());
                        let before = mask(self);
                        self.make_offer(now, id, agent);
                        room.change(before, mask(self));
                    }
                    continue;
                }
            }
            if self.rings_all(&w.item) {
                let rung = self.ring_all(now, id, &passed);
                if !rung.is_empty() {
                    room = Room::new(self, room.counted);
                }
                continue;
            }
            // A sticky or passed-by item has its own answer; the others share
            // theirs with every item of their kind.
            let shared = !sticky && passed.is_empty();
            let level = self.level_of(&w.item, now);
            if shared && unable.contains(w.kind, level) {
                continue;
            }
            let Some(agent) = self.pick_agent(&w.item, &passed, now) else {
                if shared {
                    unable.insert(w.kind, level);
                }
                continue;
            };
            let mask = |r: &Router| r.agents.get(&agent).map_or(0, |a| a.room_mask());
            let before = mask(self);
            self.make_offer(now, id, agent);
            room.change(before, mask(self));
        }
    }

    pub(super) fn level_of(&self, item: &WorkItem, now: Instant) -> super::agent::Relax {
        match self.queues.get(&item.queue) {
            Some(q) => {
                super::agent::relax_level(q, now.saturating_duration_since(item.enqueued_at))
            }
            None => super::agent::Relax::Exact,
        }
    }

    pub(super) fn make_offer(&mut self, now: Instant, item_id: Uuid, agent: Uuid) {
        let Some(w) = self.waiting.get_mut(&item_id) else {
            return;
        };
        let timeout = self
            .queues
            .get(&w.item.queue)
            .map(QueueConfig::offer_timeout)
            .unwrap_or(Duration::from_secs(20));
        let offer = Uuid::new_v4();
        w.offers.push(offer);
        let item = w.item.clone();
        self.last_offered.insert(item.queue.clone(), agent);
        self.offers.insert(
            offer,
            Offer {
                item: item_id,
                agent,
                expires_at: now + timeout,
            },
        );
        if let Some(a) = self.agents.get_mut(&agent) {
            a.offered.push((offer, item.channel));
        }
        self.out.push_back(Output::Offer {
            offer,
            item,
            agent,
            expires_at: now + timeout,
        });
        self.announce(agent);
    }

    fn next_relax(&self, item: &WorkItem) -> Option<Instant> {
        let q = self.queues.get(&item.queue)?;
        let steps = [q.relax_any_proficiency_seconds, q.relax_all_seconds];
        let now = self.last_now.unwrap_or(item.enqueued_at);
        let next = steps
            .iter()
            .map(|s| item.enqueued_at + Duration::from_secs(u64::from(*s)))
            .filter(|t| *t > now)
            .min();
        next.filter(|_| !item.skills.is_empty() || item.language.is_some())
    }

    /// An item still waiting (offered or not).
    pub fn waiting_item(&self, id: Uuid) -> Option<&WorkItem> {
        self.waiting.get(&id).map(|w| &w.item)
    }

    /// Items waiting in `queue` (offered or not).
    pub fn waiting_in(&self, queue: &str) -> Vec<&WorkItem> {
        self.waiting
            .values()
            .filter(|w| w.item.queue == queue)
            .map(|w| &w.item)
            .collect()
    }

    pub fn agent(&self, id: Uuid) -> Option<(&AgentProfile, AgentStatus)> {
        self.agents.get(&id).map(|a| (&a.profile, a.status()))
    }

    /// The id of the agent with this name.
    pub fn agent_named(&self, name: &str) -> Option<Uuid> {
        self.agents
            .values()
            .find(|a| a.profile.name == name)
            .map(|a| a.profile.id)
    }

    /// The offers waiting for an agent's answer, with their items.
    pub fn offers_for(&self, agent: Uuid) -> Vec<(Uuid, &WorkItem, Instant)> {
        self.offers_of(agent)
            .into_iter()
            .filter_map(|o| {
                let offer = self.offers.get(&o)?;
                Some((o, &self.waiting.get(&offer.item)?.item, offer.expires_at))
            })
            .collect()
    }

    pub fn is_assigned(&self, item: Uuid) -> Option<Uuid> {
        self.assigned.get(&item).map(|(a, _)| *a)
    }
}

/// With more items than this waiting for an offer, routing first counts which
/// channels agents have room on.
const ROOM_CHECK_FROM: usize = 8;

/// How many agents have room on each channel, during one routing pass (or,
/// when not counted, "maybe some" on every channel).
struct Room {
    counted: bool,
    per_channel: [usize; 4],
}

impl Room {
    fn new(r: &Router, count: bool) -> Room {
        let mut room = Room {
            counted: count,
            per_channel: [0; 4],
        };
        if count {
            for a in r.agents.values() {
                room.change(0, a.room_mask());
            }
        }
        room
    }

    /// An agent's room went from mask `before` to `after`.
    fn change(&mut self, before: u8, after: u8) {
        for (i, n) in self.per_channel.iter_mut().enumerate() {
            let bit = 1u8 << i;
            if before & bit != 0 {
                *n = n.saturating_sub(1);
            }
            if after & bit != 0 {
                *n += 1;
            }
        }
    }

    fn on(&self, ch: Channel) -> bool {
        !self.counted || self.per_channel[channel_bit(ch).trailing_zeros() as usize] > 0
    }

    fn none(&self) -> bool {
        self.counted && self.per_channel.iter().all(|n| *n == 0)
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
