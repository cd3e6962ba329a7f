//! Switchboard: a self-hosted contact-center server. See `ARCHITECTURE.md` for the
//! module map and how a call and a chat message flow through them.

pub mod api;
pub mod auth;
pub mod channels;
pub mod cli;
pub mod config;
pub mod db;
pub mod dialplan;
pub mod media;
pub mod metrics;
pub mod routing;
pub mod sdp;
pub mod server;
pub mod sip;
pub mod speech;
pub mod telephony;
pub mod timeline;
