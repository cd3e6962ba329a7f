//! One routing engine for voice and text: queues, agents with skills and
//! per-channel capacity, offers with timeouts, wrap-up, and live queue figures.
//! `engine` is the sans-IO core; `actor` runs it for the server. Routing rules
//! choose a new text conversation's queue: `rules` (the sans-IO matcher) and
//! `rules_check` (validation), kept in force by `rules_store` and applied to an
//! opening conversation by `placement`.

pub mod actor;
pub mod agent;
pub mod engine;
pub mod model;
pub mod placement;
pub mod rules;
pub mod rules_check;
pub mod rules_store;
pub mod stats;
pub mod store;

pub use engine::{Input, Output, Router, RoutingError, WithdrawReason};
