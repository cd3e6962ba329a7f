//! One routing engine for voice and text: queues, agents with skills and
//! per-channel capacity, offers with timeouts, wrap-up, and live queue figures.
//! `engine` is the sans-IO core (with `overflow`, `ring_all` and the
//! `invariants` it keeps); `actor` runs it for the server.

pub mod actor;
pub mod agent;
pub mod engine;
mod invariants;
pub mod model;
mod overflow;
mod pick;
mod ring_all;
pub mod stats;
pub mod store;
#[cfg(test)]
mod test_support;

pub use engine::{Input, Output, Router, RoutingError, WithdrawReason};
