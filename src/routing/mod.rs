//! One routing engine for voice and text: queues, agents with skills and
//! per-channel capacity, offers with timeouts, wrap-up, and live queue figures.
//! `engine` is the sans-IO core (with the serving `order`, `pick`,
//! `overflow`, `ring_all` and the `invariants` it keeps); `actor` runs it for the server. Routing rules
//! choose a new text conversation's queue: `rules` (the sans-IO matcher) and
//! `rules_check` (validation), kept in force by `rules_store` and applied to an
//! opening conversation by `placement`.

pub mod actor;
pub mod agent;
pub mod engine;
mod invariants;
pub mod model;
mod order;
mod overflow;
mod pick;
pub mod placement;
#[cfg(test)]
mod reserved_tests;
mod ring_all;
pub mod rules;
pub mod rules_check;
pub mod rules_store;
pub mod stats;
pub mod store;
#[cfg(test)]
mod test_support;

pub use engine::{Input, Output, Router, RoutingError, WithdrawReason};
