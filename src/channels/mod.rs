//! Channel adapters: how customers reach us in writing. Each adapter resolves the
//! sender's identity, finds or opens the conversation, commits the message to the
//! timeline and only then acknowledges it; replies go back on the same channel.

pub mod delivery;
pub mod email;
pub mod open;
pub mod social;
pub mod webchat;
pub mod webchat_offline;
pub mod webchat_open;
pub mod webchat_protocol;
pub mod webhook;
pub mod wechat;
