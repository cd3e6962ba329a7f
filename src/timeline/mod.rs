//! The customer timeline, the heart of the product: one customer identity across
//! every channel, their conversations, and an append-only, ordered event history
//! that every channel writes into and every screen reads from.

pub mod bus;
pub mod conversations;
pub mod customers;
pub mod error;
pub mod follow;
pub mod group_commit;
pub mod identity;
pub mod merge;
pub mod messages;
pub mod model;
pub mod outbox;
mod rows;
pub mod store;

pub use bus::EventBus;
pub use error::TimelineError;
pub use rows::channel_str;
pub use store::{Cursor, TimelineStore};
