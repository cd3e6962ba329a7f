//! The RFC 3261 §17 transaction layer, sans-IO. Four state machines (client and
//! server, INVITE and non-INVITE) with timers A–K (and RFC 6026's L/M for 2xx),
//! owned by a `TransactionLayer` that matches messages to transactions.
//!
//! How to drive it: feed every received message to
//! `handle_incoming(now, msg, source)`, send with `send_request` /
//! `send_response`, call `handle_timeout(now)` when `poll_timeout()` is due, and
//! after each call drain `poll_output()` until it returns `None` (packets to send
//! and events for the transaction user). It never reads a clock or touches a socket.

mod client;
mod key;
mod layer;
mod server;
mod timers;

pub use key::TxKey;
pub use layer::{LayerError, Output, TransactionLayer, TxEvent};
pub use timers::TimerConfig;
